"""wb.load_dataset, wb.load_model and wb.load_paper against a real hub, bad inputs included."""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import shutil
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

import workbench as wb
from tests.support.hub import HubProcess
from tests.support.kernel import ScaledMLP, make_user, seed_demo, unique
from workbench.errors import InvalidRequest, NotFound, RepoNotFound, RevisionNotFound
from workbench.kernel.models import _registry


class TinyMLP(nn.Module):
    """The demo model's architecture (as in the repo's modeling.py)."""

    def __init__(self, n_inputs: int = 4, hidden: int = 16, n_classes: int = 3) -> None:
        super().__init__()
        self.fc1 = nn.Linear(n_inputs, hidden)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(hidden, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


@pytest.fixture
def conn(hub: HubProcess, tmp_path_factory: pytest.TempPathFactory) -> wb.Connection:
    wb.clear_inputs()
    _registry.clear()
    return wb.connect(hub.url, hub.token, cache_dir=tmp_path_factory.getbasetemp() / "wb-cache")


@pytest.fixture(scope="module")
def demo(hub: HubProcess) -> dict[str, str]:
    return seed_demo(hub)


def _demo_reference(conn: wb.Connection, demo: dict[str, str], tmp_path: Path) -> TinyMLP:
    path = conn.client.download_file(demo["model"], "model.safetensors", local_dir=tmp_path)
    reference = TinyMLP()
    reference.load_state_dict(load_file(str(path)))
    return reference.eval()


# -- datasets --------------------------------------------------------------------------------


def test_load_dataset_splits_and_streaming(conn: wb.Connection, demo: dict[str, str]) -> None:
    full = wb.load_dataset(demo["dataset"])
    assert {s: full[s].num_rows for s in full} == {"train": 120, "test": 30}
    test = wb.load_dataset(demo["dataset"], split="test")
    assert test.num_rows == 30 and "species" in test.column_names
    streamed = wb.load_dataset(demo["dataset"], split="train", streaming=True)
    assert sum(1 for _ in streamed) == 120
    sha = conn.client.revision_sha(demo["dataset"], type="dataset")
    assert [(r.repo, r.commit) for r in wb.inputs()] == [(demo["dataset"], sha)]


def test_load_dataset_pins_the_revision(conn: wb.Connection) -> None:
    rid = unique("pinned-ds")
    first = wb.publish_dataset({"train": [{"x": i} for i in range(5)]}, rid)
    wb.publish_dataset({"train": [{"x": i} for i in range(7)]}, rid)
    assert wb.load_dataset(rid, split="train").num_rows == 7
    old = wb.load_dataset(rid, split="train", revision=first.oid)
    assert old.num_rows == 5
    assert {r.commit for r in wb.inputs() if r.repo == rid} == {
        first.oid,
        conn.client.revision_sha(rid, type="dataset"),
    }
    branch = wb.load_dataset(rid, split="train", revision="main")
    assert branch.num_rows == 7


def test_a_cached_load_follows_main_and_never_outlives_access(conn: wb.Connection, hub: HubProcess) -> None:
    """A cached load starts on the commit main named last time while it asks the hub: what
    it returns is always what main names now, and a repo gone (or hidden) is an error."""
    from workbench.kernel.pinning import recall
    from workbench.kernel.session import connection

    rid = unique("moving-ds")
    first = wb.publish_dataset({"train": [{"x": i} for i in range(5)]}, rid)
    assert wb.load_dataset(rid, split="train")["x"] == list(range(5))
    remembered = recall(rid, "dataset", None)
    assert remembered is not None and remembered.commit == first.oid
    assert wb.load_dataset(rid, split="train")["x"] == list(range(5))  # cached, confirmed
    second = wb.publish_dataset({"train": [{"x": -i} for i in range(3)]}, rid)
    moved = wb.load_dataset(rid, split="train")  # the guess (first) is stale: main moved
    assert moved["x"] == [0, -1, -2]
    assert [r.commit for r in wb.inputs() if r.repo == rid][-1] == second.oid
    assert recall(rid, "dataset", None).commit == second.oid  # type: ignore[union-attr]
    # hidden from this caller: the cached copy is no way around the hub's answer
    conn.client.request("PUT", f"/api/datasets/{rid}/settings", json={"private": True})
    other = make_user(hub)
    wb.connect(hub.url, other.token, cache_dir=conn.cache_dir)
    try:
        with pytest.raises(RepoNotFound):
            wb.load_dataset(rid, split="train")
    finally:
        wb.connect(hub.url, hub.token, cache_dir=conn.cache_dir)
    connection().client.delete_repo(rid, type="dataset")
    with pytest.raises(RepoNotFound):
        wb.load_dataset(rid, split="train")


def test_load_dataset_checks_what_it_downloaded(
    conn: wb.Connection, hub: HubProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Parquet files are hashed beside the conversion: a blob that is not what the hub's
    index names fails with IntegrityError and leaves neither the file nor its conversion; a
    check that never ran (a crash) has the next load download the file again."""
    import datasets

    from workbench.client.download import unchecked
    from workbench.errors import IntegrityError
    from workbench.kernel.session import connection

    rid = unique("checked-ds")
    rows = [{"x": i, "s": f"row {i}"} for i in range(2000)]
    # Over git-LFS, so that the file is one blob this test can damage (Xet keeps chunks).
    with monkeypatch.context() as env:
        env.setenv("HF_HUB_DISABLE_XET", "1")
        commit = wb.publish_dataset({"train": rows}, rid).oid
    [entry] = [f for f in conn.client.list_files(rid, type="dataset") if f["path"].endswith(".parquet")]
    oid = entry["lfs"]["oid"]
    blob = hub.data / "blobs" / oid[:2] / oid[2:4] / oid  # BlobStore.key (a walk of the data
    assert blob.is_file()  # folder raced the viewer's work folders coming and going)
    good = blob.read_bytes()
    in_data = bytearray(good)  # a page's bytes: the conversion fails too
    in_data[len(good) // 2] ^= 0xFF
    in_footer = bytearray(good)  # the writer's name in the footer: converts without a fault
    at = good.rindex(b"parquet-cpp")
    in_footer[at] = ord("P")
    converted = lambda: set(Path(datasets.config.HF_DATASETS_CACHE).rglob("*.arrow"))  # noqa: E731
    before = converted()
    root = connection().cache.commit("dataset", rid, commit)
    mode = blob.stat().st_mode
    blob.chmod(0o644)
    try:
        for bad in (in_data, in_footer):
            blob.write_bytes(bytes(bad))  # the store's bytes no longer match their SHA-256
            with pytest.raises(IntegrityError, match="SHA-256"):
                wb.load_dataset(rid, split="train")
            assert [p.name for p in root.rglob("*") if p.is_file()] == []  # nor the marker
            assert converted() == before  # what was converted from it is gone too
    finally:
        blob.write_bytes(good)
        blob.chmod(mode)
    assert all(r.repo != rid for r in wb.inputs())

    assert wb.load_dataset(rid, split="train")["x"] == list(range(2000))
    local = root / entry["path"]
    assert local.is_file() and not unchecked(local)
    marker = local.with_name(f".{local.name}.unchecked")  # as a crash before the check leaves
    marker.write_text("0" * 64)
    mtime = local.stat().st_mtime_ns
    assert wb.load_dataset(rid, split="train")["x"] == list(range(2000))
    assert not marker.exists() and local.stat().st_mtime_ns != mtime  # downloaded again


def _same_datasets(ours: object, theirs: object) -> None:
    import datasets

    assert type(ours) is type(theirs)
    if isinstance(theirs, datasets.DatasetDict):
        assert isinstance(ours, datasets.DatasetDict) and list(ours) == list(theirs)
        pairs = [(ours[s], theirs[s]) for s in theirs]
    else:
        pairs = [(ours, theirs)]
    for a, b in pairs:
        assert a.cache_files == b.cache_files and a.cache_files  # the same Arrow files
        assert a._fingerprint == b._fingerprint  # so .map() etc. find the same caches
        assert (a.info, a.split, a.features) == (b.info, b.split, b.features)
        assert a.to_dict() == b.to_dict()


@contextlib.contextmanager
def _no_builder(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Within: building a ``datasets`` builder (which any conversion or lookup needs) fails."""
    import datasets
    import datasets.load

    def no_builder(*args: object, **kwargs: object) -> None:
        raise AssertionError("a datasets builder was built")

    with monkeypatch.context() as patch:
        patch.setattr(datasets, "load_dataset_builder", no_builder)
        patch.setattr(datasets.load, "load_dataset_builder", no_builder)
        yield


def _same_as_datasets(rid: str) -> None:
    """Each split and all splits as loaded now equal ``datasets.load_dataset``'s, which any
    option leads to (``verification_mode`` here, at its default's value)."""
    for split in (None, "train", "test"):
        _same_datasets(
            wb.load_dataset(rid, split=split),
            wb.load_dataset(rid, split=split, verification_mode="basic_checks"),
        )


def test_a_cached_load_reopens_what_was_converted(
    conn: wb.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A second load opens the Arrow files the first one converted without building a
    ``datasets`` builder, and gives what ``datasets.load_dataset`` gives for those files; a
    record that no longer fits (folder gone, other cache root, broken record) is converted
    again, and a split instruction it does not know goes to ``datasets``."""
    import datasets
    import pyarrow.parquet as pq

    from workbench.kernel.session import connection

    rid = unique("reopened-ds")
    data = {
        "train": [{"x": i, "s": f"row {i}"} for i in range(2500)],
        "test": [{"x": -i, "s": "t"} for i in range(7)],
    }
    commit = wb.publish_dataset(data, rid).oid
    first = wb.load_dataset(rid)  # downloads and converts
    [record] = connection().cache.conversions("dataset", rid).glob(f"{commit}-*.json")
    # one Arrow record batch per Parquet row group (datasets alone writes batches of 1,000)
    [parquet] = [p for p in connection().cache.commit("dataset", rid, commit).rglob("train*")]
    assert len(first["train"].data.to_batches()) == pq.read_metadata(parquet).num_row_groups
    _same_as_datasets(rid)
    with _no_builder(monkeypatch):
        assert wb.load_dataset(rid)["train"]["x"] == list(range(2500))  # reopened
        assert wb.load_dataset(rid, split="test").num_rows == 7
        with pytest.raises(AssertionError, match="builder was built"):
            wb.load_dataset(rid, split="train[:10]")  # not a split's name: datasets reads it
    assert wb.load_dataset(rid, split="train[:10]")["x"] == list(range(10))

    # the converted folder removed: converted again, the same rows
    shutil.rmtree(Path(first["train"].cache_files[0]["filename"]).parent)
    again = wb.load_dataset(rid, split="train")
    assert again["x"] == list(range(2500)) and Path(again.cache_files[0]["filename"]).is_file()
    # another datasets cache root: the record is not used there
    with monkeypatch.context() as patch:
        patch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "other-root")
        there = wb.load_dataset(rid, split="train")
        assert (tmp_path / "other-root") in Path(there.cache_files[0]["filename"]).parents
    # a broken record: converted again and written anew
    record.write_text("{not json")
    assert wb.load_dataset(rid, split="test")["x"] == [-i for i in range(7)]
    assert Path(json.loads(record.read_text())["folder"]).is_dir()
    assert {r.commit for r in wb.inputs() if r.repo == rid} == {commit}


def test_a_cached_load_of_another_layout_reopens_the_commit(
    conn: wb.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A repo laid out otherwise (CSV files found by name, no card) goes through
    ``datasets`` the first time; after that the commit's conversion is opened without asking
    the hub anything but the commit, and equals what ``datasets`` gives; a new commit is
    converted anew."""
    rid = unique("csv-ds")
    conn.client.create_repo(rid, type="dataset")
    conn.client.upload(
        rid, {"train.csv": b"x,s\n1,a\n2,b\n", "test.csv": b"x,s\n3,c\n"}, type="dataset", message="csv"
    )
    first = wb.load_dataset(rid)
    assert {s: first[s]["x"] for s in first} == {"train": [1, 2], "test": [3]}
    _same_as_datasets(rid)
    with _no_builder(monkeypatch):
        assert wb.load_dataset(rid, split="train")["s"] == ["a", "b"]
    commit = conn.client.upload(rid, {"train.csv": b"x,s\n5,e\n"}, type="dataset", message="new rows")[
        "commitOid"
    ]
    assert wb.load_dataset(rid, split="train")["x"] == [5]
    assert [r.commit for r in wb.inputs() if r.repo == rid][-1] == commit
    with pytest.raises(InvalidRequest) as err:
        wb.load_dataset(rid, split="nope")
    assert err.value.code == "UnknownSplit"


def test_load_dataset_bad_input(conn: wb.Connection, demo: dict[str, str]) -> None:
    with pytest.raises(RepoNotFound, match="No dataset repo admin/missing-ds"):
        wb.load_dataset("admin/missing-ds")
    with pytest.raises(RevisionNotFound, match="no revision 'v9'"):
        wb.load_dataset(demo["dataset"], revision="v9")
    with pytest.raises(InvalidRequest) as err:
        wb.load_dataset(demo["model"])
    assert err.value.code == "WrongRepoType"
    assert "is a model repo" in err.value.message and "wb.load_model" in err.value.message
    empty = unique("no-splits")
    conn.client.create_repo(empty, type="dataset")
    conn.client.upload(empty, {"README.md": b"# nothing to load\n", "notes.bin": b"\x00\x01"}, type="dataset")
    with pytest.raises(InvalidRequest) as err:
        wb.load_dataset(empty)
    assert err.value.code == "NoSplits" and "configs:" in err.value.message
    with pytest.raises(InvalidRequest) as err:
        wb.load_dataset(demo["dataset"], split="nope")
    assert err.value.code == "UnknownSplit"
    assert wb.inputs() == []  # failed loads record nothing


# -- models from a class ---------------------------------------------------------------------


def test_load_model_class_not_found_then_registered(
    conn: wb.Connection, demo: dict[str, str], tmp_path: Path
) -> None:
    with pytest.raises(NotFound) as err:
        wb.load_model(demo["model"])
    assert err.value.code == "ModelClassNotFound"
    assert "@wb.register_model" in err.value.message and "TinyMLP" in err.value.message
    wb.register_model(TinyMLP)
    model = wb.load_model(demo["model"], device="cpu")
    assert isinstance(model, TinyMLP) and not model.training
    x = torch.tensor([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]])
    with torch.no_grad():
        assert torch.equal(model(x), _demo_reference(conn, demo, tmp_path)(x))
    sha = conn.client.revision_sha(demo["model"])
    assert [(r.repo, r.type, r.commit, r.via) for r in wb.inputs()] == [
        (demo["model"], "model", sha, "wb.load_model")
    ]


def test_load_model_finds_class_in_main(
    conn: wb.Connection, demo: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.modules["__main__"], "TinyMLP", TinyMLP, raising=False)
    assert isinstance(wb.load_model(demo["model"]), TinyMLP)


def test_load_model_from_module_named_in_config(conn: wb.Connection) -> None:
    rid = unique("scaled")
    net = ScaledMLP(3, hidden=5)
    wb.publish_model(net, rid)
    config = json.loads(
        conn.client.download_file(rid, "config.json", local_dir=conn.cache_dir / "x").read_text()
    )
    assert config == {
        "architectures": ["ScaledMLP"],
        "module": "tests.support.kernel",
        "n_inputs": 3,
        "hidden": 5,
        "n_outputs": 2,
    }
    loaded = wb.load_model(rid)
    assert isinstance(loaded, ScaledMLP) and loaded.fc1.out_features == 5
    x = torch.randn(4, 3)
    with torch.no_grad():
        assert torch.equal(loaded(x), net.eval()(x))


def test_load_model_weights_that_do_not_fit(conn: wb.Connection, demo: dict[str, str]) -> None:
    class TinyMLP(nn.Module):  # same name, other shapes
        def __init__(self, n_inputs: int = 4, hidden: int = 16, n_classes: int = 3) -> None:
            super().__init__()
            self.fc1 = nn.Linear(n_inputs, hidden * 2)
            self.fc2 = nn.Linear(hidden * 2, n_classes)

    wb.register_model(TinyMLP)
    with pytest.raises(InvalidRequest) as err:
        wb.load_model(demo["model"])
    assert err.value.code == "WeightsMismatch" and "do not fit TinyMLP" in err.value.message


def _pickle_bomb(marker: Path) -> bytes:
    class Bomb:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (os.system, (f"touch {marker}",))

    return pickle.dumps(Bomb())


def test_load_model_refuses_pickle_only_repos(conn: wb.Connection, tmp_path: Path) -> None:
    rid = unique("pickled")
    marker = tmp_path / "unpickled"
    conn.client.create_repo(rid)
    conn.client.upload(
        rid,
        {
            "config.json": json.dumps({"architectures": ["TinyMLP"]}).encode(),
            "pytorch_model.bin": _pickle_bomb(marker),
        },
    )
    wb.register_model(TinyMLP)
    with pytest.raises(InvalidRequest) as err:
        wb.load_model(rid)
    assert err.value.code == "NoSafeWeights" and "pytorch_model.bin" in err.value.message
    assert not marker.exists()
    no_class = unique("no-class")
    conn.client.create_repo(no_class)
    conn.client.upload(no_class, {"README.md": b"# no config\n"})
    with pytest.raises(InvalidRequest) as err:
        wb.load_model(no_class)
    assert err.value.code == "NoModelClass"


def test_load_model_bad_input(conn: wb.Connection, demo: dict[str, str]) -> None:
    with pytest.raises(InvalidRequest) as err:
        wb.load_model(demo["paper"])
    assert err.value.code == "WrongRepoType" and "wb.load_paper" in err.value.message
    with pytest.raises(RepoNotFound):
        wb.load_model("admin/no-such-model")
    with pytest.raises(RevisionNotFound):
        wb.load_model(demo["model"], revision="0" * 40)


# -- torch.export programs -------------------------------------------------------------------


def test_export_round_trip_at_other_batch_sizes(conn: wb.Connection) -> None:
    rid = unique("exported")

    class Local(nn.Module):  # not importable, not registered: the program needs no class
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 3)
            self.drop = nn.Dropout(0.5)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.softmax(self.drop(self.fc(x)), dim=-1)

    net = Local()
    net.train()
    wb.publish_model(net, rid, example_inputs=torch.randn(1, 4), config={})
    assert net.training  # publishing restores the mode
    files = {f["path"] for f in conn.client.list_files(rid)} - {".gitattributes"}
    assert files == {"README.md", "config.json", "model.safetensors", "model.pt2"}
    loaded = wb.load_model(rid)
    assert not isinstance(loaded, Local) and not loaded.training
    net.eval()
    for batch in (1, 3, 64):
        x = torch.randn(batch, 4)
        with torch.no_grad():
            assert torch.allclose(loaded(x), net(x), atol=1e-6)
    assert wb.inputs()[-1].repo == rid


def test_unsafe_program_is_refused_before_anything_runs(conn: wb.Connection, tmp_path: Path) -> None:
    from workbench.kernel.programs import export_program

    good = tmp_path / "model.pt2"
    export_program(nn.Linear(4, 2), torch.randn(2, 4), good)
    marker = tmp_path / "ran"
    bad = tmp_path / "bad.pt2"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bad, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.endswith("models/model.json"):
                program = json.loads(data)
                program["guards_code"] = [f"__import__('pathlib').Path({str(marker)!r}).touch()"]
                data = json.dumps(program).encode()
            zout.writestr(item, data)
    rid = unique("unsafe-program")
    conn.client.create_repo(rid)
    conn.client.upload(rid, {"model.pt2": bad})
    with pytest.raises(InvalidRequest) as err:
        wb.load_model(rid)
    assert err.value.code == "UnsafeProgram" and "guard code" in err.value.message
    assert not marker.exists()
    assert wb.inputs() == []


# -- transformers ----------------------------------------------------------------------------


def test_transformers_model(conn: wb.Connection, tmp_path: Path) -> None:
    transformers = pytest.importorskip("transformers")
    config = transformers.BertConfig(
        vocab_size=64,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
    )
    torch.manual_seed(0)
    bert = transformers.BertModel(config).eval()
    bert.save_pretrained(tmp_path / "bert", safe_serialization=True)
    rid = unique("tiny-bert")
    conn.client.create_repo(rid)
    conn.client.upload(rid, {p.name: p for p in (tmp_path / "bert").iterdir()})
    loaded = wb.load_model(rid)
    assert isinstance(loaded, transformers.BertModel) and not loaded.training
    ids = torch.tensor([[1, 5, 9, 2]])
    with torch.no_grad():
        assert torch.allclose(loaded(ids).last_hidden_state, bert(ids).last_hidden_state)
    # wb.publish_model of a transformers model: save_pretrained layout, transformers card.
    again = unique("tiny-bert-pub")
    wb.publish_model(bert, again, license="mit")
    card = wb.card(again)
    assert card.metadata["library_name"] == "transformers"
    assert isinstance(wb.load_model(again), transformers.BertModel)


def test_transformers_repo_without_safetensors_is_refused(conn: wb.Connection, tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    rid = unique("bin-bert")
    marker = tmp_path / "unpickled"
    config = {
        "model_type": "bert",
        "architectures": ["BertModel"],
        "vocab_size": 64,
        "hidden_size": 16,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 32,
        "transformers_version": "5.0.0",
    }
    conn.client.create_repo(rid)
    conn.client.upload(
        rid, {"config.json": json.dumps(config).encode(), "pytorch_model.bin": _pickle_bomb(marker)}
    )
    with pytest.raises(InvalidRequest) as err:
        wb.load_model(rid)
    assert err.value.code == "NoSafeWeights"
    assert not marker.exists()


# -- papers ----------------------------------------------------------------------------------


def test_load_paper(conn: wb.Connection, demo: dict[str, str]) -> None:
    paper = wb.load_paper(demo["paper"])
    assert paper.title.startswith("TinyMLP: A Minimal Tabular Classifier")
    assert paper.authors == ["Ada Example", "Grace Sample"]
    assert paper.abstract.startswith("We describe TinyMLP")
    assert paper.identifiers == {"internal": "WB-2026-001"} and paper.arxiv_id is None
    assert paper.links == {"models": [demo["model"]], "datasets": [demo["dataset"]]}
    assert paper.published == "2026-01-15"
    assert paper.pdf_path is not None and paper.pdf_path.read_bytes().startswith(b"%PDF-")
    assert paper.commit == conn.client.revision_sha(demo["paper"], type="paper")
    html = paper._repr_html_()
    assert "Ada Example" in html and demo["model"] in html
    assert "TinyMLP: A Minimal" in paper._repr_markdown_()
    assert wb.inputs()[-1].type == "paper"
    with pytest.raises(InvalidRequest, match=r"wb\.load_model"):
        wb.load_paper(demo["model"])


# -- the hub down ----------------------------------------------------------------------------


def test_loads_go_on_from_the_cache_while_the_hub_is_down(
    hub: HubProcess, hub_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the hub unreachable, a load of a revision loaded here before uses the commit it
    named then, from the cache, warns that it did, and records that commit. Anything with no
    cached copy (another repo or revision; options on a layout that ``datasets`` must ask
    the hub about) raises HubUnreachable saying so. A kernel that starts while the hub is
    down (no ``wb.connect``) connects unverified and loads the same way; an explicit
    ``wb.connect`` still raises."""
    from workbench.errors import CachedCopyWarning, HubUnreachable
    from workbench.kernel import session

    down = hub_factory()
    cache = tmp_path / "xdg" / "workbench" / "repos"  # the default under XDG_CACHE_HOME
    try:
        wb.connect(down.url, down.token, cache_dir=cache)
        wb.clear_inputs()
        listed, csv, model_id, paper_id, never = (
            unique(k) for k in ("parquet", "csv", "model", "paper", "never")
        )
        commit = wb.publish_dataset({"train": [{"x": i} for i in range(9)]}, listed).oid
        client = wb.connection().client
        client.create_repo(csv, type="dataset")
        client.upload(csv, {"train.csv": b"x\n1\n2\n"}, type="dataset")
        net = ScaledMLP(3, hidden=4)
        wb.publish_model(net, model_id)
        wb.publish_paper(paper_id, title="Offline", authors=["Ada"], abstract="Kept here.")
        wb.publish_dataset({"train": [{"x": 0}]}, never)
        assert wb.load_dataset(listed, split="train").num_rows == 9
        assert wb.load_dataset(csv, split="train")["x"] == [1, 2]
        wb.load_model(model_id)
        wb.load_paper(paper_id)
        before = [(r.repo, r.commit) for r in wb.inputs()]
        wb.clear_inputs()
        down.stop()

        with pytest.warns(CachedCopyWarning, match="cannot be reached") as caught:
            assert wb.load_dataset(listed, split="train")["x"] == list(range(9))
        assert commit[:12] in str(caught[0].message)
        with pytest.warns(CachedCopyWarning):
            assert wb.load_dataset(csv)["train"]["x"] == [1, 2]
        with pytest.warns(CachedCopyWarning):
            loaded = wb.load_model(model_id)
        x = torch.randn(2, 3)
        with torch.no_grad():
            assert torch.equal(loaded(x), net.eval()(x))
        with pytest.warns(CachedCopyWarning):
            assert wb.load_paper(paper_id).title == "Offline"
        assert [(r.repo, r.commit) for r in wb.inputs()] == before

        for call in (
            lambda: wb.load_dataset(never),
            lambda: wb.load_dataset(listed, revision="v2"),
            lambda: wb.load_model(unique("nothing")),
        ):
            with pytest.raises(HubUnreachable, match="No copy"):
                call()
        with pytest.warns(CachedCopyWarning):  # the listed files, read with the option
            assert wb.load_dataset(listed, split="train", keep_in_memory=True).num_rows == 9
        with pytest.raises(HubUnreachable):  # datasets asks the hub for the layout
            wb.load_dataset(csv, split="train", keep_in_memory=True)

        # a new kernel: the first use connects from the environment, unverified
        wb.connection().client.close()
        session._current = None  # (wb.connect below closes what the first use makes)
        monkeypatch.setenv("WORKBENCH_HUB_URL", down.url)
        monkeypatch.setenv("WORKBENCH_TOKEN", down.token)
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        with pytest.warns(CachedCopyWarning):
            assert wb.load_dataset(listed, split="train").num_rows == 9
        assert wb.connection().unverified and wb.connection().user is None
        assert "not verified" in repr(wb.connection())
        with pytest.raises(HubUnreachable):
            wb.connect()
    finally:
        down.stop()
        wb.connect(hub.url, hub.token)
