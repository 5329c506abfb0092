"""Run in a fresh process: ``transformers`` and ``evaluate`` publish to the hub and load back.

Usage: ``python -m tests.xet.scenario_transformers REPO_ID DATASET_ID WORKDIR`` with
``HF_ENDPOINT`` and ``HF_TOKEN`` set, and ``HF_HUB_DISABLE_XET`` as the test wants. Builds a
tiny BERT classifier and its tokenizer in code, ``push_to_hub``-es both, loads them back with
``from_pretrained`` into an empty cache, then records an evaluation result on the model card
with ``evaluate.push_to_hub``. Prints one JSON line of results, including how many times the
client's Xet and git-LFS transfer functions ran.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from unittest import mock

import huggingface_hub._commit_api as commit_api
import huggingface_hub.file_download as file_download

WORDS = ["hello", "world", "tiny", "model", "xet", "hub", "good", "bad"]
WATCHED = (
    (commit_api, "_upload_xet_files"),
    (commit_api, "_upload_lfs_files"),
    (file_download, "xet_get"),
    (file_download, "http_get"),
)


def main() -> None:
    repo_id, dataset_id, work = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    spies = {name: mock.patch.object(mod, name, wraps=getattr(mod, name)).start() for mod, name in WATCHED}

    def calls() -> dict[str, int]:
        counts = {name: spy.call_count for name, spy in spies.items() if spy.call_count}
        for spy in spies.values():
            spy.reset_mock()
        return counts

    import evaluate
    import torch
    from huggingface_hub import HfApi, ModelCard
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        BertConfig,
        BertForSequenceClassification,
        BertTokenizerFast,
    )

    torch.manual_seed(0)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    tokenizer = BertTokenizerFast(vocab={word: i for i, word in enumerate(vocab)})
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        num_labels=2,
    )
    model = BertForSequenceClassification(config).eval()
    model.push_to_hub(repo_id)
    tokenizer.push_to_hub(repo_id)
    upload_calls = calls()

    cache = work / "cache"
    loaded = AutoModelForSequenceClassification.from_pretrained(repo_id, cache_dir=cache).eval()
    tok = AutoTokenizer.from_pretrained(repo_id, cache_dir=cache)
    ids = tok("hello tiny xet hub", return_tensors="pt")
    with torch.no_grad():
        same_logits = torch.allclose(model(**ids).logits, loaded(**ids).logits, atol=1e-5)
    theirs = loaded.state_dict()
    same_weights = all(torch.equal(v, theirs[k]) for k, v in model.state_dict().items())
    download_calls = calls()

    evaluate.push_to_hub(
        model_id=repo_id,
        task_type="text-classification",
        task_name="Text Classification",
        dataset_type=dataset_id,
        dataset_name="Tiny reviews",
        dataset_split="test",
        metric_type="accuracy",
        metric_name="Accuracy",
        metric_value=0.75,
    )
    card = ModelCard.load(repo_id)
    results = [
        {"task": r.task_type, "dataset": r.dataset_type, "metric": r.metric_type, "value": r.metric_value}
        for r in card.data.eval_results or []
    ]
    api = HfApi()
    info = api.model_info(repo_id)
    infos = {e.path: e for e in api.get_paths_info(repo_id, ["model.safetensors", "tokenizer.json"])}
    print(
        json.dumps(
            {
                "upload_calls": upload_calls,
                "download_calls": download_calls,
                "tokens": tok.convert_ids_to_tokens(ids["input_ids"][0]),
                "same_weights": same_weights,
                "same_logits": same_logits,
                "card_results": results,
                "hub_model_index": info.card_data.to_dict().get("model-index") if info.card_data else None,
                "lfs": {p: e.lfs is not None for p, e in infos.items()},
                "xet": {p: e.xet_hash is not None for p, e in infos.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
