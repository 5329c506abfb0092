"""Realistic repos for the search benchmark: names, cards (YAML + Markdown) and queries.

Deterministic for a seed. Model cards follow the shape of the Hub's auto-generated ones
(base model, dataset, results, hyperparameters, framework versions); datasets, papers and
spaces have their own. Prose is drawn from a Zipf-distributed vocabulary of common English
and machine-learning words plus rarer made-up terms, so that a word like "model" occurs in
most cards and a made-up term in a few, as on a real hub.

>>> corpus = Corpus(seed=1)
>>> repo = corpus.repo(0)
>>> repo.type, repo.namespace, repo.card_data["license"]          # doctest: +SKIP
('model', 'vision-lab', 'apache-2.0')
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

ARCHS = (
    "bert roberta distilbert deberta electra albert xlnet gpt2 t5 bart llama mistral "
    "falcon phi qwen gemma bloom opt vit resnet convnext efficientnet swin deit clip blip "
    "whisper wav2vec2 hubert yolo detr segformer unet mobilenet xgboost lightgbm tabnet "
    "mlp lstm gru"
).split()
SIZES = "tiny mini small base medium large xl 1b 7b 13b 350m".split()
TASKS = (
    "text-classification token-classification question-answering summarization "
    "translation text-generation fill-mask sentence-similarity feature-extraction "
    "image-classification object-detection image-segmentation "
    "automatic-speech-recognition audio-classification text-to-image image-to-text "
    "zero-shot-classification tabular-classification tabular-regression "
    "reinforcement-learning depth-estimation visual-question-answering text-to-speech "
    "time-series-forecasting"
).split()
LIBRARIES = {
    "transformers": 45,
    "pytorch": 12,
    "sentence-transformers": 6,
    "diffusers": 5,
    "timm": 5,
    "sklearn": 5,
    "keras": 4,
    "peft": 4,
    "onnx": 3,
    "espnet": 2,
    "fastai": 2,
    "spacy": 2,
    "stable-baselines3": 2,
    "xgboost": 1,
    "jax": 1,
}
LICENSES = {
    "apache-2.0": 35,
    "mit": 25,
    "cc-by-4.0": 10,
    "cc-by-nc-4.0": 5,
    "cc-by-sa-4.0": 5,
    "openrail": 5,
    "llama2": 3,
    "bsd-3-clause": 3,
    "gpl-3.0": 2,
    "other": 7,
}
DATASETS = (
    "imdb squad glue sst2 mnli cnn_dailymail xsum wikitext c4 openwebtext mnist cifar10 "
    "cifar100 imagenet-1k coco ade20k librispeech_asr common_voice ag_news "
    "yelp_review_full emotion conll2003 wmt16 opus100 iris titanic adult "
    "california_housing tweet_eval amazon_polarity samsum billsum pubmed_qa "
    "medical_questions legal_cases financial_phrasebank code_search_net gsm8k "
    "alpaca dolly oasst1"
).split()
DOMAINS = (
    "sentiment reviews medical legal finance biomedical chemistry code math news tweets "
    "wikipedia arxiv patents chat instruction dialogue multilingual english french "
    "german chinese japanese spanish arabic hindi speech music satellite retail "
    "weather energy genomics protein climate education agriculture"
).split()
TAGS = (
    DOMAINS
    + "pytorch safetensors generated_from_trainer endpoints_compatible lora "
    "quantized gguf 4-bit 8-bit fine-tuned distillation benchmark demo research nlp "
    "vision audio tabular rl baseline onnx int8 pruned".split()
)
LANGUAGES = "en en en en fr de zh ja es ar hi multilingual".split()
COMMON = (
    "the of and to a in is for on with that this as are by be we from it an or at "
    "which can was our model models data dataset training trained results using use "
    "used performance evaluation test set train validation accuracy loss learning "
    "fine tuned tuning based language text task tasks input output layer layers "
    "batch size epochs rate optimizer adam steps score f1 precision recall metric "
    "metrics benchmark compared baseline approach method methods paper information "
    "more than also not have has been these such each other new first one two three "
    "large small high low best better results shows show table figure following "
    "following intended uses limitations bias risks recommendations hardware "
    "framework version versions library code available license card details "
    "description training procedure hyperparameters seed scheduler linear warmup "
    "samples examples labels label classes class images image audio speech tokens "
    "token vocabulary embeddings embedding attention transformer encoder decoder "
    "network neural deep pretrained checkpoint weights parameters inference gpu "
    "memory time speed quality robust domain general specific english multilingual "
    "users research commercial downstream applications evaluation"
).split()
FIRST = (
    "ada alan ana bo chen dana eli fatima grace hiro ian jun kai lena maria nia omar "
    "priya quinn ravi sara tom uma vic wen yara zoe"
).split()
LAST = (
    "smith wang garcia kim mueller rossi tanaka singh silva novak dubois khan "
    "johansson ivanova okafor nguyen cohen lopez"
).split()
ORG_WORDS = (
    "vision nlp speech robotics health climate data ml ai research lab team group studio systems labs works"
).split()


def _weighted(rng: random.Random, table: dict[str, int]) -> str:
    return rng.choices(list(table), weights=list(table.values()))[0]


@dataclass
class FakeRepo:
    """What the benchmark seeds for one repo (the row's fields, card and README body)."""

    id: int
    type: str
    namespace: str
    name: str
    private: bool
    card_data: dict[str, Any]
    body: str
    downloads: int
    likes: int


class Corpus:
    def __init__(self, *, seed: int = 1, namespaces: int = 400, rare_terms: int = 3000) -> None:
        rng = random.Random(seed)
        self.seed = seed
        self.namespaces = [self._namespace(rng, i) for i in range(namespaces)]
        rare = [
            "".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(rng.randint(2, 4)))
            for _ in range(rare_terms)
        ]
        self.rare = list(dict.fromkeys(rare))
        vocab = COMMON + ARCHS + DOMAINS + self.rare
        self.vocab = vocab
        self._cum = list(accumulate(1.0 / (rank + 1) ** 1.07 for rank in range(len(vocab))))
        # Paragraphs are drawn once and shared; each card mixes a few with its own sentences.
        self.paragraphs = [self._prose(rng, rng.randint(30, 90)) for _ in range(4000)]

    @staticmethod
    def _namespace(rng: random.Random, i: int) -> str:
        if i % 3 == 0:
            return f"{rng.choice(ORG_WORDS)}-{rng.choice(ORG_WORDS)}-{i}"
        return f"{rng.choice(FIRST)}{rng.choice(LAST)}{i}"

    def _prose(self, rng: random.Random, n: int) -> str:
        words = rng.choices(self.vocab, cum_weights=self._cum, k=n)
        sentences, i = [], 0
        while i < len(words):
            k = rng.randint(8, 18)
            sentences.append(" ".join(words[i : i + k]).capitalize() + ".")
            i += k
        return " ".join(sentences)

    def repo(self, i: int) -> FakeRepo:
        rng = random.Random(self.seed * 1_000_003 + i)
        kind = rng.choices(("model", "dataset", "paper", "space"), weights=(60, 25, 10, 5))[0]
        namespace = rng.choice(self.namespaces)
        card, body, name = {
            "model": self._model,
            "dataset": self._dataset,
            "paper": self._paper,
            "space": self._space,
        }[kind](rng, i)
        downloads = int(rng.paretovariate(1.1) * 10) - 10
        return FakeRepo(
            id=i + 1,
            type=kind,
            namespace=namespace,
            name=name,
            private=rng.random() < 0.1,
            card_data=card,
            body=body,
            downloads=downloads,
            likes=int(downloads**0.5 * rng.random()),
        )

    def _filler(self, rng: random.Random, k: int) -> str:
        return "\n\n".join(rng.sample(self.paragraphs, k))

    def _model(self, rng: random.Random, i: int) -> tuple[dict[str, Any], str, str]:
        arch, task, dataset = rng.choice(ARCHS), rng.choice(TASKS), rng.choice(DATASETS)
        extra = rng.choice([rng.choice(DOMAINS), dataset.replace("_", "-"), rng.choice(self.rare)])
        name = f"{arch}-{rng.choice(SIZES)}-{extra}-{i}"
        card: dict[str, Any] = {
            "license": _weighted(rng, LICENSES),
            "library_name": _weighted(rng, LIBRARIES),
            "pipeline_tag": task,
            "tags": rng.sample(TAGS, rng.randint(1, 5)),
            "datasets": [dataset],
            "language": [rng.choice(LANGUAGES)],
            "base_model": f"{rng.choice(self.namespaces)}/{arch}-base",
        }
        acc = rng.uniform(0.6, 0.99)
        body = (
            f"# {name}\n\nThis model is a fine-tuned version of [{card['base_model']}]"
            f"(https://hub/{card['base_model']}) on the {dataset} dataset for {task}. "
            f"It achieves the following results on the evaluation set:\n- Loss: "
            f"{rng.uniform(0.05, 1.5):.4f}\n- Accuracy: {acc:.4f}\n\n## Model description"
            f"\n\n{self._filler(rng, rng.randint(1, 3))}\n\n## Intended uses & limitations"
            f"\n\n{self._filler(rng, 1)}\n\n## Training procedure\n\n### Training "
            f"hyperparameters\n\n- learning_rate: {rng.choice(['2e-05', '5e-05', '1e-04'])}"
            f"\n- train_batch_size: {rng.choice([8, 16, 32, 64])}\n- seed: 42\n"
            f"- num_epochs: {rng.randint(1, 10)}\n\n### Framework versions\n\n"
            f"- Transformers 4.{rng.randint(20, 45)}.0\n- Pytorch 2.{rng.randint(0, 5)}.0\n"
        )
        return card, body, name

    def _dataset(self, rng: random.Random, i: int) -> tuple[dict[str, Any], str, str]:
        domain, task = rng.choice(DOMAINS), rng.choice(TASKS)
        name = f"{domain}-{rng.choice(['corpus', 'reviews', 'qa', 'pairs', 'images', 'set'])}-{i}"
        card: dict[str, Any] = {
            "license": _weighted(rng, LICENSES),
            "task_categories": [task],
            "language": [rng.choice(LANGUAGES)],
            "tags": rng.sample(TAGS, rng.randint(1, 4)),
            "pretty_name": f"{domain.title()} {rng.choice(self.rare).title()}",
            "size_categories": [rng.choice(["n<1K", "1K<n<10K", "10K<n<100K", "100K<n<1M"])],
        }
        body = (
            f"# Dataset Card for {card['pretty_name']}\n\n## Dataset Description\n\n"
            f"{self._filler(rng, rng.randint(1, 3))}\n\n## Dataset Structure\n\n### Data "
            f"Fields\n\n- `text`: the {domain} text\n- `label`: the class\n\n## "
            f"Considerations\n\n{self._filler(rng, 1)}\n"
        )
        return card, body, name

    def _paper(self, rng: random.Random, i: int) -> tuple[dict[str, Any], str, str]:
        words = rng.sample(COMMON[30:] + ARCHS + DOMAINS, 6)
        title = " ".join(w.capitalize() for w in words)
        card: dict[str, Any] = {
            "title": title,
            "abstract": self._prose(rng, rng.randint(80, 200)),
            "authors": [
                f"{rng.choice(FIRST).title()} {rng.choice(LAST).title()}" for _ in range(rng.randint(1, 6))
            ],
            "arxiv": f"2{rng.randint(100, 499)}.{rng.randint(10000, 99999)}",
            "tags": rng.sample(TAGS, rng.randint(1, 3)),
        }
        return card, f"# {title}\n\n{self._filler(rng, 1)}\n", "-".join(words[:3]) + f"-{i}"

    def _space(self, rng: random.Random, i: int) -> tuple[dict[str, Any], str, str]:
        arch = rng.choice(ARCHS)
        card: dict[str, Any] = {
            "title": f"{arch.title()} demo",
            "sdk": "gradio",
            "license": _weighted(rng, LICENSES),
            "tags": rng.sample(TAGS, rng.randint(1, 3)),
        }
        return card, f"# {arch} demo\n\n{self._filler(rng, 1)}\n", f"{arch}-demo-{i}"

    # -- queries -------------------------------------------------------------------------------

    def queries(self, kind: str, n: int, *, seed: int = 7) -> list[dict[str, Any]]:
        """``n`` keyword-argument sets for ``search_repos`` of one kind (see KINDS)."""
        rng = random.Random(seed)
        out: list[dict[str, Any]] = []
        for _ in range(n):
            if kind == "one word":  # one in ten is a word in most cards
                pool: Sequence[str] = rng.choice(
                    [ARCHS, DOMAINS, DATASETS, self.rare[:300], TASKS] * 2
                    + [["model", "dataset", "fine-tuned", "training"]]
                )
                out.append({"query": rng.choice(pool)})
            elif kind == "two words":
                out.append({"query": f"{rng.choice(ARCHS)} {rng.choice(DOMAINS + DATASETS)}"})
            elif kind == "prefix":
                word = rng.choice(ARCHS + DOMAINS + TASKS)
                stem = word[: rng.randint(3, max(3, min(6, len(word))))]
                out.append({"query": rng.choice([stem, f"{rng.choice(SIZES)} {stem}"])})
            elif kind == "filter only":
                out.append(
                    rng.choice(
                        [
                            {"task": rng.choice(TASKS)},
                            {"library": _weighted(rng, LIBRARIES), "license": _weighted(rng, LICENSES)},
                            {"tags": [rng.choice(TAGS)]},
                            {"types": ["dataset"], "task": rng.choice(TASKS)},
                        ]
                    )
                )
            elif kind == "empty, by downloads":
                out.append({"sort": "downloads", "types": rng.choice([None, ["model"], ["dataset"]])})
            else:
                raise ValueError(kind)
        return out


KINDS = ("one word", "two words", "prefix", "filter only", "empty, by downloads")
