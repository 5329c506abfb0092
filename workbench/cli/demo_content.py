"""Demo content for a fresh Workbench hub, written as plain files on disk.

``build_demo`` writes three small repos (a model, the dataset it was trained on, and a
paper describing both) and returns them; uploading is someone else's job. Everything is
seeded, so two builds produce byte-identical files. torch, numpy and safetensors are
imported lazily (they come with the ``ml`` extra).

Example::

    from pathlib import Path
    from workbench.cli.demo_content import build_demo

    repos = build_demo(Path("/tmp/demo"), namespace="acme")
    [r.repo_id for r in repos]  # ['acme/tiny-classifier', 'acme/iris-mini', ...]
    repos[0].folder             # /tmp/demo/tiny-classifier: model.safetensors, config.json, ...
"""

from __future__ import annotations

import csv
import json
import textwrap
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SEED = 20260115
PUBLISHED = "2026-01-15"
REPORT_ID = "WB-2026-001"  # internal identifier; no fake arXiv id
FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
SPECIES = ("setosa", "versicolor", "virginica")
HIDDEN, STEPS, LR = 16, 300, 0.05
# Per-class (mean, std) of each feature, close to Fisher's Iris data.
_CLASS_STATS = (
    ((5.01, 0.35), (3.43, 0.38), (1.46, 0.17), (0.25, 0.11)),
    ((5.94, 0.52), (2.77, 0.31), (4.26, 0.47), (1.33, 0.20)),
    ((6.59, 0.64), (2.97, 0.32), (5.55, 0.55), (2.03, 0.27)),
)
PER_CLASS, TEST_PER_CLASS = 50, 10

MODELING_SRC = '''\
"""TinyMLP: the architecture of the Workbench demo model (reference source)."""

import torch
from torch import nn


class TinyMLP(nn.Module):
    """Linear(n_inputs, hidden) -> ReLU -> Linear(hidden, n_classes), on raw features."""

    def __init__(self, n_inputs: int = 4, hidden: int = 16, n_classes: int = 3) -> None:
        super().__init__()
        self.fc1 = nn.Linear(n_inputs, hidden)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(hidden, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))

    @classmethod
    def from_config(cls, config: dict) -> "TinyMLP":
        return cls(config["n_inputs"], config["hidden"], config["n_classes"])
'''


@dataclass(frozen=True)
class DemoRepo:
    """One demo repo: ``folder``'s files (relative paths = paths in the repo) to upload."""

    repo_id: str  # e.g. "demo/tiny-classifier"
    repo_type: str  # "model" | "dataset" | "paper"
    folder: Path
    message: str  # commit message


def build_demo(root: Path, *, namespace: str = "demo") -> list[DemoRepo]:
    """Write the demo repos under ``root`` and return them (model, dataset, paper).

    Each repo goes to ``root / <repo name>``, which must be missing or empty.

    >>> [r.repo_id for r in build_demo(tmp, namespace="acme")]  # doctest: +SKIP
    ['acme/tiny-classifier', 'acme/iris-mini', 'acme/tiny-classifier-paper']
    """
    if not namespace or "/" in namespace or namespace.strip() != namespace:
        raise ValueError(f"invalid namespace: {namespace!r}")
    model, data, paper = (
        DemoRepo(f"{namespace}/{name}", kind, Path(root) / name, message)
        for name, kind, message in (
            ("tiny-classifier", "model", "Add TinyMLP demo classifier trained on iris-mini"),
            ("iris-mini", "dataset", "Add iris-mini synthetic tabular dataset"),
            ("tiny-classifier-paper", "paper", "Add TinyMLP demo paper"),
        )
    )
    for repo in (model, data, paper):
        if repo.folder.exists() and any(repo.folder.iterdir()):
            raise FileExistsError(f"demo folder is not empty: {repo.folder}")
    for repo in (model, data, paper):
        repo.folder.mkdir(parents=True, exist_ok=True)
    train, test = _write_dataset(data.folder, data.repo_id)
    results = _write_model(model.folder, model.repo_id, data.repo_id, train, test)
    _write_paper(paper.folder, model.repo_id, data.repo_id, results)
    return [model, data, paper]


Rows = list[tuple[list[float], int]]


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")


def _card(meta: dict[str, Any], body: str) -> str:
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return f"---\n{front}---\n\n{textwrap.dedent(body).strip()}\n"


def _write_dataset(folder: Path, dataset_id: str) -> tuple[Rows, Rows]:
    import numpy as np

    rng = np.random.default_rng(SEED)
    train: Rows = []
    test: Rows = []
    for label, stats in enumerate(_CLASS_STATS):
        mean, std = np.array(stats).T
        values = np.clip(rng.normal(mean, std, size=(PER_CLASS, len(FEATURES))), 0.1, None)
        rows = [([round(float(v), 2) for v in row], label) for row in values]
        test += rows[:TEST_PER_CLASS]
        train += rows[TEST_PER_CLASS:]
    train = [train[i] for i in rng.permutation(len(train))]
    test = [test[i] for i in rng.permutation(len(test))]
    for split, rows in (("train", train), ("test", test)):
        path = folder / "data" / f"{split}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow([*FEATURES, "label", "species"])
            for feats, label in rows:
                writer.writerow([*(f"{v:.2f}" for v in feats), label, SPECIES[label]])
    meta = {
        "license": "cc-by-4.0",
        "pretty_name": "Iris mini (synthetic)",
        "task_categories": ["tabular-classification"],
        "tags": ["tabular", "iris", "synthetic", "demo", "workbench"],
        "size_categories": ["n<1K"],
        "configs": [
            {
                "config_name": "default",
                "data_files": [
                    {"split": "train", "path": "data/train.csv"},
                    {"split": "test", "path": "data/test.csv"},
                ],
            }
        ],
    }
    columns = "\n    ".join(f"| {c} | float (cm, 2 decimals) | {c.replace('_', ' ')} |" for c in FEATURES)
    body = f"""
    # iris-mini

    A synthetic, Iris-like table of {PER_CLASS * len(SPECIES)} flowers, drawn with numpy
    (seed {SEED}) from per-species normal distributions close to Fisher's Iris data. It is
    demo content for a fresh Workbench hub; the measurements are not real.

    | split | rows | file |
    |---|---|---|
    | train | {len(train)} | `data/train.csv` |
    | test | {len(test)} | `data/test.csv` |

    The split is stratified: {TEST_PER_CLASS} test rows per species.

    ## Columns

    | column | type | description |
    |---|---|---|
    {columns}
    | label | int (0..2) | class id: {", ".join(f"{i} = {s}" for i, s in enumerate(SPECIES))} |
    | species | string | species name for `label` |

    The `configs` block in the front matter maps the two CSV files to the two splits.
    """
    _write_text(folder / "README.md", _card(meta, body))
    return train, test


def _write_model(folder: Path, model_id: str, dataset_id: str, train: Rows, test: Rows) -> dict[str, float]:
    import torch
    from safetensors.torch import save_file
    from torch import nn

    config = {
        "architectures": ["TinyMLP"],
        "model_type": "workbench-mlp",
        "n_inputs": len(FEATURES),
        "hidden": HIDDEN,
        "n_classes": len(SPECIES),
        "id2label": {str(i): s for i, s in enumerate(SPECIES)},
        "label2id": {s: i for i, s in enumerate(SPECIES)},
    }
    x_train, x_test = (torch.tensor([r[0] for r in d], dtype=torch.float32) for d in (train, test))
    y_train, y_test = (torch.tensor([r[1] for r in d], dtype=torch.long) for d in (train, test))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        # Same modules, order and parameter names as TinyMLP in MODELING_SRC.
        model = nn.Sequential(
            OrderedDict(
                fc1=nn.Linear(len(FEATURES), HIDDEN), act=nn.ReLU(), fc2=nn.Linear(HIDDEN, len(SPECIES))
            )
        )
        optimizer = torch.optim.Adam(model.parameters(), lr=LR)
        loss_fn = nn.CrossEntropyLoss()
        for _ in range(STEPS):  # full-batch, so no shuffling randomness
            optimizer.zero_grad()
            loss_fn(model(x_train), y_train).backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        results = {
            split: round(float((model(x).argmax(1) == y).float().mean()), 4)
            for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test))
        }
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    _write_text(folder / "config.json", json.dumps(config, indent=2) + "\n")
    _write_text(folder / "modeling.py", MODELING_SRC)
    name = model_id.split("/")[1]
    meta = {
        "license": "apache-2.0",
        "library_name": "pytorch",
        "pipeline_tag": "tabular-classification",
        "tags": ["tabular-classification", "demo", "workbench"],
        "datasets": [dataset_id],
        "metrics": ["accuracy"],
        "model-index": [
            {
                "name": name,
                "results": [
                    {
                        "task": {"type": "tabular-classification", "name": "Tabular Classification"},
                        "dataset": {"name": dataset_id.split("/")[1], "type": dataset_id, "split": "test"},
                        "metrics": [{"type": "accuracy", "value": results["test"], "name": "Accuracy"}],
                    }
                ],
            }
        ],
    }
    body = f"""
    # {name}

    TinyMLP is a tiny multilayer perceptron that classifies Iris-like flowers into
    {", ".join(SPECIES)} from four raw measurements in cm ({", ".join(FEATURES)}).
    It is demo content for a fresh Workbench hub: {(4 + 1) * HIDDEN + (HIDDEN + 1) * 3}
    parameters, `Linear(4, {HIDDEN})` -> ReLU -> `Linear({HIDDEN}, 3)`.

    **Test accuracy on [{dataset_id}](/datasets/{dataset_id}): {results["test"]:.4f}**
    (train: {results["train"]:.4f}).

    ## How to use

    ```python
    import workbench as wb
    model = wb.load_model("{model_id}")
    ```

    Or by hand, with the reference architecture in `modeling.py`:

    ```python
    import json, torch, safetensors.torch
    from modeling import TinyMLP
    model = TinyMLP.from_config(json.load(open("config.json")))
    model.load_state_dict(safetensors.torch.load_file("model.safetensors"))
    logits = model(torch.tensor([[5.1, 3.5, 1.4, 0.2]]))  # -> setosa
    ```

    ## Training

    - Data: the train split of `{dataset_id}` ({len(train)} rows), no feature scaling.
    - Objective: cross-entropy; optimizer Adam, learning rate {LR}, {STEPS} full-batch steps.
    - Seed: {SEED} (torch CPU, float32). Weights are stored as safetensors only.
    """
    _write_text(folder / "README.md", _card(meta, body))
    return results


def _write_paper(folder: Path, model_id: str, dataset_id: str, results: dict[str, float]) -> None:
    title = "TinyMLP: A Minimal Tabular Classifier for the Workbench Demo"
    authors = ["Ada Example", "Grace Sample"]
    abstract = (
        f"We describe TinyMLP, a two-layer perceptron with {HIDDEN} hidden units trained on "
        f"iris-mini, a synthetic Iris-like table of {PER_CLASS * len(SPECIES)} flowers. "
        f"Trained for {STEPS} full-batch Adam steps on raw measurements, it reaches "
        f"{results['test']:.1%} accuracy on the held-out test split. The model, the data "
        "and this note ship as demo content for a fresh Workbench hub."
    )
    meta = {
        "title": title,
        "authors": authors,
        "abstract": abstract,
        "identifiers": {"internal": REPORT_ID},
        "published": PUBLISHED,
        "models": [model_id],
        "datasets": [dataset_id],
        "tags": ["tabular-classification", "demo", "workbench"],
    }
    body = f"""
    # {title}

    {", ".join(authors)} - internal report {REPORT_ID}, {PUBLISHED}

    ## Abstract

    {abstract}

    ## Method

    The dataset [{dataset_id}](/datasets/{dataset_id}) draws four measurements per flower
    from per-species normal distributions (seed {SEED}), with a stratified 120/30 split.
    The model [{model_id}](/{model_id}) is `Linear(4, {HIDDEN})` -> ReLU -> `Linear({HIDDEN}, 3)`,
    trained with cross-entropy and Adam (learning rate {LR}) for {STEPS} full-batch steps.

    ## Results

    | split | rows | accuracy |
    |---|---|---|
    | train | {PER_CLASS * len(SPECIES) - TEST_PER_CLASS * len(SPECIES)} | {results["train"]:.4f} |
    | test | {TEST_PER_CLASS * len(SPECIES)} | {results["test"]:.4f} |
    """
    _write_text(folder / "README.md", _card(meta, body))
    (folder / "paper.pdf").write_bytes(_one_page_pdf(title, authors, abstract))


def _pdf_str(text: str) -> str:
    text = text.encode("latin-1", "replace").decode("latin-1")
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def _one_page_pdf(title: str, authors: list[str], abstract: str) -> bytes:
    """A minimal one-page PDF 1.4 (Letter, Type1 Helvetica) with correct xref offsets."""
    lines = ["BT", "/F1 16 Tf", "20 TL", "72 720 Td"]
    lines += [f"{_pdf_str(t)} Tj T*" for t in textwrap.wrap(title, 55)]
    lines += [
        "/F1 11 Tf",
        "16 TL",
        f"{_pdf_str(', '.join(authors))} Tj T*",
        f"{_pdf_str(f'Internal report {REPORT_ID}, {PUBLISHED}')} Tj T* T*",
        "/F1 12 Tf",
        f"{_pdf_str('Abstract')} Tj T*",
        "/F1 10 Tf",
        "14 TL",
    ]
    lines += [f"{_pdf_str(t)} Tj T*" for t in textwrap.wrap(abstract, 95)]
    stream = ("\n".join([*lines, "ET"]) + "\n").encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"endstream",
        f"<< /Title {_pdf_str(title)} /Author {_pdf_str(', '.join(authors))} "
        f"/CreationDate (D:{PUBLISHED.replace('-', '')}000000Z) >>".encode("latin-1"),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)
