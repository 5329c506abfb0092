"""wb.publish_*, wb.card: one commit, cards in Hub conventions, nothing half-published."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

import workbench as wb
from tests.support.hub import HubProcess
from tests.support.kernel import ScaledMLP, make_user, seed_demo, unique
from workbench.errors import Conflict, InvalidRequest, PermissionDenied, RepoNotFound
from workbench.kernel.cards import split_card
from workbench.kernel.publishing import commit_repo


@pytest.fixture
def conn(hub: HubProcess, tmp_path_factory: pytest.TempPathFactory) -> wb.Connection:
    wb.clear_inputs()
    return wb.connect(hub.url, hub.token, cache_dir=tmp_path_factory.getbasetemp() / "wb-cache")


@pytest.fixture(scope="module")
def demo(hub: HubProcess) -> dict[str, str]:
    return seed_demo(hub)


def _exists(conn: wb.Connection, rid: str, kind: str = "model") -> bool:
    try:
        conn.client.repo_info(rid, type=kind)
    except RepoNotFound:
        return False
    return True


def _readme(conn: wb.Connection, rid: str, kind: str = "model") -> tuple[dict, str]:  # type: ignore[type-arg]
    return split_card(wb.card(rid, type=kind).content)


# -- models ----------------------------------------------------------------------------------


def test_publish_model_in_one_commit_with_card(conn: wb.Connection, demo: dict[str, str]) -> None:
    wb.load_dataset(demo["dataset"], split="train")
    rid = unique("pub-model")
    net = ScaledMLP(4, hidden=6, n_outputs=3)
    commit = wb.publish_model(
        net,
        rid,
        license="mit",
        tags=["tabular", "demo"],
        datasets=[demo["dataset"]],
        base_model=demo["model"],
        task="tabular-classification",
        message="First weights",
        card="A tiny classifier for **iris**.",
    )
    assert len(commit.oid) == 40 and commit.created and commit.type == "model"
    assert commit.url.endswith(f"/commit/{commit.oid}") and rid in commit._repr_html_()
    log = conn.client.log(rid)
    assert log[0]["id"] == commit.oid and log[0]["title"] == "First weights"
    files = {f["path"] for f in conn.client.list_files(rid)} - {".gitattributes"}
    assert files == {"README.md", "config.json", "model.safetensors"}
    # Everything arrived in that one commit: before it, the new repo held nothing of ours.
    assert all(
        {f["path"] for f in conn.client.list_files(rid, revision=c["id"])} <= {".gitattributes"}
        for c in log[1:]
    )
    meta, body = _readme(conn, rid)
    assert meta == {
        "library_name": "pytorch",
        "license": "mit",
        "pipeline_tag": "tabular-classification",
        "tags": ["tabular", "demo"],
        "datasets": [demo["dataset"]],
        "base_model": demo["model"],
    }
    assert body.startswith("A tiny classifier for **iris**.")
    assert f'wb.load_model("{rid}")' in body and "ScaledMLP" in body
    assert demo["dataset"] in body.split("## Inputs")[1]  # provenance of the session
    model_info = conn.client.repo_info(rid)
    assert "license:mit" in model_info["tags"] and f"dataset:{demo['dataset']}" in model_info["tags"]


def test_publish_model_again_adds_one_commit(conn: wb.Connection) -> None:
    rid = unique("pub-twice")
    net = ScaledMLP(2)
    wb.publish_model(net, rid)
    before = len(conn.client.log(rid))
    with torch.no_grad():
        net.fc1.weight.add_(1.0)
    second = wb.publish_model(net, rid, example_inputs=torch.randn(3, 2))
    assert not second.created and len(conn.client.log(rid)) == before + 1
    assert "model.pt2" in {f["path"] for f in conn.client.list_files(rid)}


def test_publish_model_bad_input_publishes_nothing(conn: wb.Connection) -> None:
    class NeedsArgs(nn.Module):
        def __init__(self, width: int) -> None:
            super().__init__()
            self.fc = nn.Linear(width, 1)

    rid = unique("needs-args")
    with pytest.raises(InvalidRequest, match="pass config="):
        wb.publish_model(NeedsArgs(3), rid)
    assert not _exists(conn, rid)

    class Branchy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.sum() > 0:  # data-dependent control flow: torch.export cannot trace it
                return self.fc(x)
            return -self.fc(x)

    with pytest.raises(InvalidRequest) as err:
        wb.publish_model(Branchy(), rid, example_inputs=torch.randn(4, 2))
    assert err.value.code == "ExportFailed" and not _exists(conn, rid)
    with pytest.raises(InvalidRequest) as err:
        wb.publish_model(ScaledMLP(2), rid, example_inputs=torch.tensor(1.0))
    assert err.value.code == "InvalidExample" and not _exists(conn, rid)
    with pytest.raises(InvalidRequest, match=r"torch\.nn\.Module"):
        wb.publish_model({"w": torch.zeros(1)}, rid)
    with pytest.raises(InvalidRequest, match="namespace/name"):
        wb.publish_model(ScaledMLP(2), "no-namespace")


ROOT = Path(__file__).resolve().parents[2]

FRESH_LOAD = """
import json, sys
import torch
import workbench as wb
wb.connect(cache_dir=sys.argv[2])
model = wb.load_model(sys.argv[1])
with torch.no_grad():
    out = model(torch.tensor(json.loads(sys.stdin.read())))
print(json.dumps({"type": type(model).__name__, "out": out.tolist()}))
"""


def _load_in_fresh_process(hub: HubProcess, rid: str, x: torch.Tensor, tmp_path: Path) -> dict:  # type: ignore[type-arg]
    """``wb.load_model(rid)(x)`` in a new Python process: no class from this one's memory."""
    env = {
        **os.environ,
        "WORKBENCH_HUB_URL": hub.url,
        "WORKBENCH_TOKEN": hub.token,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    out = subprocess.run(
        [sys.executable, "-c", FRESH_LOAD, rid, str(tmp_path / "fresh-cache")],
        input=json.dumps(x.tolist()),
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _config(conn: wb.Connection, rid: str) -> dict:  # type: ignore[type-arg]
    with tempfile.TemporaryDirectory() as tmp:
        return json.loads(conn.client.download_file(rid, "config.json", local_dir=tmp).read_text())


class Unkept(nn.Module):
    """A class only this process knows, whose constructor argument is kept nowhere."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(width, 3), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def test_publish_any_module_with_example_inputs_loads_in_a_fresh_process(
    conn: wb.Connection, hub: HubProcess, tmp_path: Path
) -> None:
    linear = nn.Linear(4, 2)
    rid = unique("linear-program")
    wb.publish_model(linear, rid, example_inputs=(torch.randn(2, 4),))
    assert {"model.pt2", "model.safetensors", "config.json"} <= {
        f["path"] for f in conn.client.list_files(rid)
    }
    assert _config(conn, rid) == {
        "architectures": ["Linear"],
        "module": "torch.nn.modules.linear",
        "in_features": 4,
        "out_features": 2,
    }
    x = torch.randn(5, 4)  # another batch size than the example's
    got = _load_in_fresh_process(hub, rid, x, tmp_path)
    with torch.no_grad():
        assert torch.allclose(torch.tensor(got["out"]), linear(x), atol=1e-6)

    # Neither the class nor its argument can be found there: the program is enough.
    unkept = Unkept(4)
    rid = unique("unkept-program")
    wb.publish_model(unkept, rid, example_inputs=torch.randn(3, 4))
    config = _config(conn, rid)
    assert config["architectures"] == ["Unkept"] and "width" not in config
    got = _load_in_fresh_process(hub, rid, x, tmp_path)
    assert got["type"] != "Unkept"
    with torch.no_grad():
        assert torch.allclose(torch.tensor(got["out"]), unkept(x), atol=1e-6)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: nn.Linear(4, 2, bias=False), {"in_features": 4, "out_features": 2, "bias": False}),
        (
            lambda: nn.LSTM(3, 5, num_layers=2, batch_first=True),
            {"input_size": 3, "hidden_size": 5, "num_layers": 2, "batch_first": True},
        ),
        (
            lambda: nn.Conv1d(2, 4, 3, stride=2),
            {
                "in_channels": 2,
                "out_channels": 4,
                "kernel_size": [3],
                "stride": [2],
                "padding": [0],
                "dilation": [1],
            },
        ),
    ],
    ids=["Linear", "LSTM", "Conv1d"],
)
def test_publish_torch_module_reads_its_arguments_from_the_instance(
    conn: wb.Connection,
    make,
    expected: dict,  # type: ignore[no-untyped-def, type-arg]
) -> None:
    model = make()
    rid = unique(f"{type(model).__name__.lower()}-args")
    wb.publish_model(model, rid)
    assert "model.pt2" not in {f["path"] for f in conn.client.list_files(rid)}
    config = _config(conn, rid)
    assert config == {"architectures": [type(model).__name__], "module": type(model).__module__, **expected}
    loaded = wb.load_model(rid)
    assert type(loaded) is type(model) and not loaded.training
    assert repr(loaded) == repr(model)
    want, got = model.state_dict(), loaded.state_dict()
    assert want.keys() == got.keys() and all(torch.equal(want[k], got[k]) for k in want)


class Kept(nn.Module):
    def __init__(self, width: int, depth: int = 1) -> None:
        super().__init__()
        self.width, self.depth = width, depth
        self.layers = nn.Sequential(*(nn.Linear(width, width) for _ in range(depth)))


class Misleading(nn.Module):
    """Keeps an attribute named like its argument, with another meaning."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.width = width * 2
        self.fc = nn.Linear(width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


def test_publish_custom_module_reads_kept_arguments(conn: wb.Connection) -> None:
    rid = unique("kept")
    wb.publish_model(Kept(3, depth=2), rid)
    assert _config(conn, rid)["width"] == 3 and _config(conn, rid)["depth"] == 2


@pytest.mark.parametrize(
    ("make", "needs", "shape"),
    [
        (lambda: nn.Sequential(nn.Linear(4, 3), nn.ReLU()), r"Sequential\(\) has other parameters", (3, 4)),
        (lambda: Unkept(4), r"Unkept\(\) needs width", (3, 4)),
        (lambda: nn.TransformerEncoderLayer(4, 2, 8, batch_first=True), "needs d_model, nhead", (3, 2, 4)),
        (lambda: Misleading(4), r"Misleading\(width=8\) has other parameters", (3, 4)),
        # torch.export cannot export an RNN (it warns about its flat weights): no program.
        (lambda: nn.RNN(4, 3, nonlinearity="relu"), "differs from the model in mode", None),
    ],
    ids=["Sequential", "custom", "TransformerEncoderLayer", "misleading-attribute", "RNN-relu"],
)
def test_unknown_arguments_need_example_inputs(conn: wb.Connection, make, needs: str, shape) -> None:  # type: ignore[no-untyped-def]
    model = make()
    rid = unique("no-args")
    with pytest.raises(InvalidRequest, match=needs) as err:
        wb.publish_model(model, rid)
    assert err.value.code == "InvalidConfig" and not _exists(conn, rid)
    assert "example_inputs=" in str(err.value) and "config={...}" in str(err.value)
    if shape is None:
        return
    # With example inputs the program carries the model, and the same call publishes.
    x = torch.randn(*shape)
    wb.publish_model(model, rid, example_inputs=x)
    loaded = wb.load_model(rid)
    with torch.no_grad():
        assert torch.allclose(model.eval()(x), loaded(x), atol=1e-5)


def test_failed_commit_removes_the_repo_it_created(conn: wb.Connection) -> None:
    rid = unique("half")
    with pytest.raises(InvalidRequest):
        commit_repo(rid, "model", {"ok.txt": b"x", "../escape.txt": b"y"}, message="m")
    assert not _exists(conn, rid)


# -- datasets --------------------------------------------------------------------------------


def test_publish_dataset_shapes_and_load_back(conn: wb.Connection) -> None:
    import datasets
    import pandas as pd

    frame = pd.DataFrame(
        {
            "x": [float(i) for i in range(12)],
            "label": [i % 3 for i in range(12)],
            "text": [f"row {i}" for i in range(12)],
        }
    )
    rid = unique("pub-frame")
    wb.publish_dataset(
        frame,
        rid,
        license="cc-by-4.0",
        tags=["tabular"],
        task="tabular-classification",
        pretty_name="A frame",
    )
    # The stock client finds the split with no help from Workbench.
    stock = datasets.load_dataset(rid, revision=conn.client.revision_sha(rid, type="dataset"))
    assert {s: stock[s].num_rows for s in stock} == {"train": 12}
    meta, body = _readme(conn, rid, "dataset")
    assert meta["license"] == "cc-by-4.0" and meta["task_categories"] == ["tabular-classification"]
    assert meta["size_categories"] == ["n<1K"] and meta["pretty_name"] == "A frame"
    assert meta["configs"] == [
        {
            "config_name": "default",
            "data_files": [{"split": "train", "path": "data/train-00000-of-00001.parquet"}],
        }
    ]
    assert [f["name"] for f in meta["dataset_info"]["features"]] == ["x", "label", "text"]
    assert "| train | 12 |" in body

    splits = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict({"q": ["a", "b", "c"]}),
            "validation": datasets.Dataset.from_dict({"q": ["d"]}),
            "test": datasets.Dataset.from_dict({"q": ["e", "f"]}).shuffle(seed=1),
        }
    )
    rid2 = unique("pub-dict")
    wb.publish_dataset(splits, rid2)
    loaded = wb.load_dataset(rid2)
    assert {s: loaded[s].num_rows for s in loaded} == {"train": 3, "validation": 1, "test": 2}
    assert sorted(loaded["test"]["q"]) == ["e", "f"]
    # wb reads the listed Parquet files from its cache: same result as the stock client.
    sha = conn.client.revision_sha(rid2, type="dataset")
    stock2 = datasets.load_dataset(rid2, revision=sha)
    assert list(loaded) == list(stock2)
    for split in loaded:
        assert loaded[split].features == stock2[split].features
        assert loaded[split].to_pandas().equals(stock2[split].to_pandas())
    assert wb.load_dataset(rid2, split="train[:2]")["q"] == ["a", "b"]
    assert wb.load_dataset(rid, split="train").features == stock["train"].features

    rid3 = unique("pub-mixed")
    wb.publish_dataset({"train": frame, "test": [{"x": 1.5, "label": 0, "text": "t"}]}, rid3)
    mixed = datasets.load_dataset(rid3)
    assert (mixed["train"].num_rows, mixed["test"].num_rows) == (12, 1)
    assert mixed["test"]["text"] == ["t"]


def test_publish_dataset_bad_input_publishes_nothing(conn: wb.Connection) -> None:
    import datasets

    rid = unique("bad-ds")
    cases = [
        ({}, "EmptySplit"),
        ({"train": []}, "EmptySplit"),
        ({"train-1": [{"a": 1}]}, "InvalidSplit"),
        ({"train": "text"}, "InvalidDataset"),
        ({"train": [{"a": 1}], "test": [{"b": "x"}]}, "InvalidDataset"),
        (datasets.Dataset.from_dict({"a": [1]}).to_iterable_dataset(), "InvalidDataset"),
    ]
    for data, code in cases:
        with pytest.raises(InvalidRequest) as err:
            wb.publish_dataset(data, rid)
        assert err.value.code == code, data
    assert not _exists(conn, rid, "dataset")


# -- papers ----------------------------------------------------------------------------------


def test_publish_paper_and_load_it(conn: wb.Connection, demo: dict[str, str], tmp_path: Path) -> None:
    pdf = tmp_path / "note.pdf"
    pdf.write_bytes(b"%PDF-1.4\n% tiny\n%%EOF\n")
    rid = unique("pub-paper")
    wb.publish_paper(
        rid,
        title="Tiny notes",
        authors=["Ada", "Grace"],
        abstract="We show *tiny* things.",
        pdf=pdf,
        arxiv_id="2401.01234v2",
        doi="10.1234/abc.5",
        links=[demo["model"], f"datasets/{demo['dataset']}", demo["paper"]],
        published="2026-02-01",
    )
    paper = wb.load_paper(rid)
    assert (paper.title, paper.authors, paper.abstract) == (
        "Tiny notes",
        ["Ada", "Grace"],
        "We show *tiny* things.",
    )
    assert paper.identifiers == {"arxiv": "2401.01234v2", "doi": "10.1234/abc.5"}
    assert paper.links == {
        "models": [demo["model"]],
        "datasets": [demo["dataset"]],
        "papers": [demo["paper"]],
    }
    assert paper.published == "2026-02-01" and paper.pdf_path.read_bytes() == pdf.read_bytes()
    html = paper._repr_html_()
    assert 'href="https://arxiv.org/abs/2401.01234v2"' in html
    assert 'href="https://doi.org/10.1234/abc.5"' in html


def test_publish_paper_bad_input(conn: wb.Connection, tmp_path: Path) -> None:
    rid = unique("bad-paper")
    base = {"title": "T", "authors": ["A"], "abstract": "B"}
    not_pdf = tmp_path / "x.pdf"
    not_pdf.write_text("hello")
    for extra, match in (
        ({"title": " "}, "title"),
        ({"authors": []}, "author"),
        ({"arxiv_id": "arxiv:1"}, "arXiv"),
        ({"doi": "doi.org/x"}, "DOI"),
        ({"pdf": not_pdf}, "not a PDF"),
        ({"pdf": tmp_path / "missing.pdf"}, "does not exist"),
        ({"links": ["admin/no-such-thing"]}, "publish it first"),
    ):
        with pytest.raises(InvalidRequest, match=match):
            wb.publish_paper(rid, **{**base, **extra})
    assert not _exists(conn, rid, "paper")


def test_publish_paper_with_supplements(conn: wb.Connection, api, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pdf = tmp_path / "note.pdf"
    pdf.write_bytes(b"%PDF-1.4\n% the paper\n%%EOF\n")
    results = tmp_path / "results.csv"
    results.write_bytes(b"model,accuracy\ntiny,0.93\n")
    appendix = tmp_path / "appendix.pdf"  # a PDF supplement is not the paper's PDF
    appendix.write_bytes(b"%PDF-1.4\n% the appendix\n%%EOF\n")
    rid = unique("sup-paper")
    word = f"extras{rid.rsplit('-', 1)[-1]}"
    commit = wb.publish_paper(
        rid,
        title=f"With {word}",
        authors=["Ada"],
        abstract="Numbers.",
        pdf=pdf,
        supplements=[results, appendix],
    )
    log = conn.client.log(rid, type="paper")
    assert log[0]["id"] == commit.oid
    files = {f["path"] for f in conn.client.list_files(rid, type="paper")} - {".gitattributes"}
    assert files == {"README.md", "paper.pdf", "supplements/results.csv", "supplements/appendix.pdf"}
    paper = wb.load_paper(rid)
    assert paper.commit == commit.oid and set(paper.supplements) == {"results.csv", "appendix.pdf"}
    assert paper.supplements["results.csv"].read_bytes() == results.read_bytes()
    assert paper.supplements["appendix.pdf"].read_bytes() == appendix.read_bytes()
    assert paper.pdf_path.read_bytes() == pdf.read_bytes()
    assert commit.oid in paper.supplements["results.csv"].parts  # pinned like the PDF
    assert "results.csv" in paper._repr_html_() and "results.csv" in paper._repr_markdown_()
    assert "supplements/results.csv" in wb.card(rid, type="paper").content
    # The HF paper endpoint lists them.
    info = api.paper_info(rid)
    assert sorted((s["name"], s["path"], s["size"]) for s in info.supplements) == [
        ("appendix.pdf", "supplements/appendix.pdf", appendix.stat().st_size),
        ("results.csv", "supplements/results.csv", results.stat().st_size),
    ]
    listed = next(p for p in api.list_papers(query=word) if p.id == rid)
    assert {s["name"] for s in listed.supplements} == {"results.csv", "appendix.pdf"}
    # Named explicitly (folders allowed), on top of the same repo.
    second = wb.publish_paper(
        rid,
        title=f"With {word}",
        authors=["Ada"],
        abstract="Numbers.",
        supplements={"code/train.py": results, "raw.bin": b"\x00\x01"},
    )
    again = wb.load_paper(rid)
    assert again.commit == second.oid and again.supplements["raw.bin"].read_bytes() == b"\x00\x01"
    assert again.supplements["code/train.py"].read_bytes() == results.read_bytes()


def test_publish_paper_bad_supplements_commit_nothing(conn: wb.Connection, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("a\n1\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "good.csv").write_text("b\n2\n")
    base = {"title": "T", "authors": ["A"], "abstract": "B"}
    rid = unique("bad-sup")
    cases = [
        ([good, tmp_path / "missing.csv"], "SupplementNotFound", "does not exist"),
        ([tmp_path / "sub"], "SupplementNotFound", "is not a file"),
        ({"../evil.csv": good}, "InvalidSupplement", "'..'"),
        ({"/etc/passwd": good}, "InvalidSupplement", "relative"),
        ({"a\\b.csv": good}, "InvalidSupplement", "separator"),
        ({"": good}, "InvalidSupplement", "file name"),
        ({"x.csv": 3}, "InvalidSupplement", "file path"),
        ([good, tmp_path / "sub" / "good.csv"], "InvalidSupplement", "Two supplements"),
    ]
    for supplements, code, says in cases:
        with pytest.raises(InvalidRequest) as err:
            wb.publish_paper(rid, **base, supplements=supplements)
        assert (err.value.code, says in err.value.message) == (code, True), err.value.message
    assert not _exists(conn, rid, "paper")
    # An existing paper: a bad supplement leaves it at its commit, with none of the files.
    first = wb.publish_paper(rid, **base, supplements=[good])
    with pytest.raises(InvalidRequest, match="does not exist"):
        wb.publish_paper(rid, **{**base, "abstract": "New"}, supplements=[good, tmp_path / "gone.csv"])
    assert conn.client.revision_sha(rid, type="paper") == first.oid
    assert wb.load_paper(rid).abstract == "B"


# -- notebooks -------------------------------------------------------------------------------


def test_publish_notebook_lists_the_inputs(conn: wb.Connection, demo: dict[str, str], tmp_path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    path = tmp_path / "analysis.ipynb"
    nbformat.write(nb, path)
    wb.load_dataset(demo["dataset"], split="test")
    wb.load_paper(demo["paper"])
    rid = unique("pub-notebook")
    commit = wb.publish_notebook(path, rid, message="Add analysis")
    assert conn.client.log(rid)[0]["title"] == "Add analysis" and commit.created
    files = {f["path"] for f in conn.client.list_files(rid)} - {".gitattributes"}
    assert files == {"analysis.ipynb", "README.md"}
    meta, body = _readme(conn, rid)
    sha = conn.client.revision_sha(demo["dataset"], type="dataset")
    assert meta["datasets"] == [demo["dataset"]] and meta["tags"] == ["notebook"]
    assert {"repo": demo["dataset"], "type": "dataset", "commit": sha} in meta["inputs"]
    assert f"`{sha}`" in body and demo["paper"] in body
    as_dataset = unique("nb-in-dataset")
    wb.publish_notebook(path, as_dataset, type="dataset")
    assert _exists(conn, as_dataset, "dataset")
    with pytest.raises(InvalidRequest) as err:
        wb.publish_notebook(tmp_path / "missing.ipynb", rid)
    assert err.value.code == "NotANotebook"
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    with pytest.raises(InvalidRequest, match="not a valid notebook"):
        wb.publish_notebook(broken, rid)


# -- cards -----------------------------------------------------------------------------------


def test_card_read_update_push(conn: wb.Connection) -> None:
    rid = unique("card")
    wb.publish_model(ScaledMLP(2), rid, license="mit")
    card = wb.card(rid)
    assert card.metadata["license"] == "mit" and "ScaledMLP" in card.text
    assert "license" in repr(card) and "```yaml" in card._repr_markdown_()
    card.update({"model-index": [{"name": "x", "results": []}]}, license="apache-2.0", library_name=None)
    card.text += "\n## Notes\n\nMore words.\n"
    commit = card.push(message="Edit the card")
    assert conn.client.log(rid)[0]["title"] == "Edit the card" and commit.oid == card.commit
    again = wb.card(rid, type="model")
    assert again.metadata["license"] == "apache-2.0" and "library_name" not in again.metadata
    assert again.metadata["model-index"] == [{"name": "x", "results": []}]
    assert again.text.rstrip().endswith("More words.")
    # Another commit that leaves README.md alone does not block a push...
    conn.client.upload(rid, {"extra.txt": b"x"})
    again.update(tags=["x"]).push()
    # ... one that changes it does.
    stale = wb.card(rid)
    wb.card(rid).update(license="mit").push()
    with pytest.raises(Conflict, match="changed since this card was read"):
        stale.update(license="bsd-3-clause").push()


def test_card_invalid_yaml(conn: wb.Connection) -> None:
    rid = unique("bad-card")
    conn.client.create_repo(rid)
    conn.client.upload(rid, {"README.md": b"---\nlicense: [mit\n---\n# Broken\n"})
    card = wb.card(rid)
    assert card.error and "invalid YAML" in repr(card) and card.metadata == {}
    with pytest.raises(InvalidRequest) as err:
        card.push()
    assert err.value.code == "InvalidYaml"
    with pytest.raises(InvalidRequest) as err:
        card.content = "---\n- just\n- a list\n---\nbody\n"
    assert err.value.code == "InvalidYaml" and "mapping" in err.value.message
    with pytest.raises(InvalidRequest) as err:
        card.content = "---\nlicense: mit\n"
    assert "not closed" in err.value.message
    with pytest.raises(InvalidRequest) as err:
        card.update(weights=torch.zeros(2))
    assert err.value.code == "InvalidYaml"
    card.metadata.pop("weights", None)
    card.content = "---\nlicense: mit\n---\n# Fixed\n"
    card.push(message="Fix the card")
    assert yaml.safe_load(wb.card(rid).content.split("---")[1]) == {"license": "mit"}


# -- who may publish -------------------------------------------------------------------------


def test_publishing_without_write_access(conn: wb.Connection, hub: HubProcess) -> None:
    bob = make_user(hub)
    target = unique("admins-only")
    wb.publish_model(ScaledMLP(2), target)
    try:
        wb.connect(hub.url, bob.token)
        with pytest.raises(PermissionDenied) as err:
            wb.publish_model(ScaledMLP(2), target)
        assert err.value.code == "NoWriteAccess" and f"{bob.name}/" in err.value.message
        fresh = unique("bob-into-admin")
        with pytest.raises(PermissionDenied):
            wb.publish_dataset({"train": [{"a": 1}]}, fresh)
        own = f"{bob.name}/mine"
        wb.connect(hub.url, bob.read_token)
        with pytest.raises(PermissionDenied, match="write scope"):
            wb.publish_model(ScaledMLP(2), own)
    finally:
        admin = wb.connect(hub.url, hub.token)
    assert not _exists(admin, fresh) and not _exists(admin, fresh, "dataset")
    assert not _exists(admin, own)
    assert len(admin.client.log(target)) == 2  # the repo's first commit + the publish


def test_publishing_anonymously(hub: HubProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WORKBENCH_HUB_URL", "WORKBENCH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # no saved token either
    try:
        anon = wb.connect(hub.url)
        assert anon.token is None and anon.user is None
        with pytest.raises(PermissionDenied, match="publishing needs a token"):
            wb.publish_model(ScaledMLP(2), unique("anon"))
    finally:
        wb.connect(hub.url, hub.token)


def test_config_json_round_trip(conn: wb.Connection) -> None:
    rid = unique("cfg")

    class Configured(nn.Module):
        def __init__(self, width: int, depth: int = 1) -> None:
            super().__init__()
            self.config = {"width": width, "depth": depth}
            self.layers = nn.Sequential(*[nn.Linear(width, width) for _ in range(depth)])

    wb.publish_model(Configured(3, depth=2), rid)
    path = conn.client.download_file(rid, "config.json", local_dir=conn.cache_dir / "cfg")
    assert json.loads(path.read_text()) == {"architectures": ["Configured"], "width": 3, "depth": 2}
    wb.register_model(Configured)
    loaded = wb.load_model(rid)
    assert len(loaded.layers) == 2
