"""Tests for workbench.cli.demo_content: the demo repos written for a fresh hub."""

from __future__ import annotations

import csv
import importlib.util
import json
import re
from pathlib import Path

import pytest
import yaml

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")

from workbench.cli.demo_content import DemoRepo, build_demo  # noqa: E402

EXPECTED_FILES = {
    "model": {"README.md", "config.json", "model.safetensors", "modeling.py"},
    "dataset": {"README.md", "data/train.csv", "data/test.csv"},
    "paper": {"README.md", "paper.pdf"},
}
COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width", "label", "species"]


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _front_matter(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?)\n---\n", text, re.DOTALL)
    assert match, f"no YAML front matter in {path}"
    meta = yaml.safe_load(match.group(1))
    assert isinstance(meta, dict)
    assert text[match.end() :].strip(), "card body is empty"
    return meta


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == COLUMNS
        return list(reader)


@pytest.fixture(scope="module")
def repos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, DemoRepo]:
    built = build_demo(tmp_path_factory.mktemp("demo"), namespace="acme")
    return {r.repo_type: r for r in built}


def test_repos_and_files(repos: dict[str, DemoRepo]) -> None:
    assert [r.repo_id for r in repos.values()] == [
        "acme/tiny-classifier",
        "acme/iris-mini",
        "acme/tiny-classifier-paper",
    ]
    for kind, repo in repos.items():
        assert repo.message
        assert set(_files(repo.folder)) == EXPECTED_FILES[kind]


def test_two_builds_are_byte_identical(tmp_path: Path) -> None:
    first = build_demo(tmp_path / "a")
    second = build_demo(tmp_path / "b")
    assert [r.repo_id for r in first] == [r.repo_id for r in second]
    for a, b in zip(first, second, strict=True):
        assert a.folder != b.folder
        assert _files(a.folder) == _files(b.folder), a.repo_id


def test_refuses_non_empty_folder_and_bad_namespace(tmp_path: Path) -> None:
    (tmp_path / "iris-mini").mkdir()
    (tmp_path / "iris-mini" / "stale.txt").write_text("x")
    with pytest.raises(FileExistsError):
        build_demo(tmp_path)
    with pytest.raises(ValueError):
        build_demo(tmp_path / "other", namespace="a/b")


def test_dataset_csvs(repos: dict[str, DemoRepo]) -> None:
    folder = repos["dataset"].folder
    species = ["setosa", "versicolor", "virginica"]
    for split, n in (("train", 120), ("test", 30)):
        rows = _read_csv(folder / "data" / f"{split}.csv")
        assert len(rows) == n
        for row in rows:
            for col in COLUMNS[:4]:
                assert re.fullmatch(r"\d+\.\d\d", row[col]), row
            assert row["species"] == species[int(row["label"])]
        counts = [sum(r["label"] == str(i) for r in rows) for i in range(3)]
        assert counts == [n // 3] * 3  # stratified


def test_model_loads_and_is_accurate(repos: dict[str, DemoRepo]) -> None:
    folder = repos["model"].folder
    config = json.loads((folder / "config.json").read_text())
    assert config["architectures"] == ["TinyMLP"]
    assert config["model_type"] == "workbench-mlp"
    assert (config["n_inputs"], config["hidden"], config["n_classes"]) == (4, 16, 3)
    assert config["id2label"] == {"0": "setosa", "1": "versicolor", "2": "virginica"}
    assert config["label2id"] == {"setosa": 0, "versicolor": 1, "virginica": 2}

    state = safetensors_torch.load_file(str(folder / "model.safetensors"))
    assert {k: tuple(v.shape) for k, v in state.items()} == {
        "fc1.weight": (16, 4),
        "fc1.bias": (16,),
        "fc2.weight": (3, 16),
        "fc2.bias": (3,),
    }
    assert all(v.dtype == torch.float32 for v in state.values())
    mlp = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    mlp.load_state_dict({k.replace("fc1.", "0.").replace("fc2.", "2."): v for k, v in state.items()})

    # The shipped reference source must define the same architecture.
    spec = importlib.util.spec_from_file_location("demo_modeling", folder / "modeling.py")
    assert spec and spec.loader
    modeling = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(modeling)
    reference = modeling.TinyMLP.from_config(config)
    reference.load_state_dict(state, strict=True)

    rows = _read_csv(repos["dataset"].folder / "data" / "test.csv")
    x = torch.tensor([[float(r[c]) for c in COLUMNS[:4]] for r in rows])
    y = torch.tensor([int(r["label"]) for r in rows])
    with torch.no_grad():
        accuracy = (mlp(x).argmax(1) == y).float().mean().item()
        assert torch.equal(reference(x), mlp(x))
    assert accuracy >= 0.8

    meta = _front_matter(folder / "README.md")
    result = meta["model-index"][0]["results"][0]
    assert result["dataset"]["type"] == "acme/iris-mini"
    assert result["dataset"]["split"] == "test"
    assert result["metrics"][0]["type"] == "accuracy"
    assert result["metrics"][0]["value"] == pytest.approx(accuracy, abs=1e-4)


def test_model_card(repos: dict[str, DemoRepo]) -> None:
    path = repos["model"].folder / "README.md"
    meta = _front_matter(path)
    assert meta["license"] == "apache-2.0"
    assert meta["library_name"] == "pytorch"
    assert meta["pipeline_tag"] == "tabular-classification"
    assert meta["tags"] == ["tabular-classification", "demo", "workbench"]
    assert meta["datasets"] == ["acme/iris-mini"]
    assert meta["model-index"][0]["results"][0]["task"]["type"] == "tabular-classification"
    assert 'wb.load_model("acme/tiny-classifier")' in path.read_text()
    assert "import workbench as wb" in path.read_text()


def test_dataset_card(repos: dict[str, DemoRepo]) -> None:
    meta = _front_matter(repos["dataset"].folder / "README.md")
    assert meta["license"] == "cc-by-4.0"
    assert meta["task_categories"] == ["tabular-classification"]
    assert "demo" in meta["tags"]
    assert meta["size_categories"] == ["n<1K"]
    assert meta["configs"] == [
        {
            "config_name": "default",
            "data_files": [
                {"split": "train", "path": "data/train.csv"},
                {"split": "test", "path": "data/test.csv"},
            ],
        }
    ]
    for path in meta["configs"][0]["data_files"]:
        assert (repos["dataset"].folder / path["path"]).is_file()


def test_paper_card(repos: dict[str, DemoRepo]) -> None:
    meta = _front_matter(repos["paper"].folder / "README.md")
    assert meta["title"] and meta["abstract"]
    assert isinstance(meta["authors"], list) and all(isinstance(a, str) for a in meta["authors"])
    assert meta["identifiers"] == {"internal": "WB-2026-001"}
    assert "arxiv" not in meta
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(meta["published"]))
    assert meta["models"] == ["acme/tiny-classifier"]
    assert meta["datasets"] == ["acme/iris-mini"]


def test_paper_pdf(repos: dict[str, DemoRepo]) -> None:
    pdf = (repos["paper"].folder / "paper.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    startxref = int(re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", pdf).group(1))
    assert pdf[startxref:].startswith(b"xref")
    header = re.match(rb"xref\s+0 (\d+)\s+", pdf[startxref:])
    assert header
    count = int(header.group(1))
    table = pdf[startxref + header.end() :]
    entries = [table[i * 20 : (i + 1) * 20] for i in range(count)]
    assert entries[0] == b"0000000000 65535 f \n"
    for number, entry in enumerate(entries[1:], start=1):
        assert re.fullmatch(rb"\d{10} 00000 n \n", entry), entry
        offset = int(entry[:10])
        assert pdf[offset:].startswith(b"%d 0 obj" % number)
    assert table[count * 20 :].startswith(b"trailer")
    assert b"/BaseFont /Helvetica" in pdf
    assert b"(TinyMLP: A Minimal Tabular Classifier" in pdf
    # The content stream's /Length must match its bytes.
    stream = re.search(rb"<< /Length (\d+) >>\nstream\n(.*?)endstream", pdf, re.DOTALL)
    assert stream and int(stream.group(1)) == len(stream.group(2))
