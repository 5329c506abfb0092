"""The stock tools against the hub, with and without Xet: the ``hf`` command line on a folder
of a few hundred files with large binary shards, ``transformers`` ``push_to_hub`` and
``from_pretrained``, and ``evaluate``'s ``push_to_hub`` (an evaluation result written into the
model card's ``model-index``).

Each tool runs in its own process (``HF_HUB_DISABLE_XET`` and ``HF_ENDPOINT`` are read at
import). The ``hf`` command is the installed script itself; a ``sitecustomize`` on its
``PYTHONPATH`` only counts which transfer functions of ``huggingface_hub`` ran.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.hub import HF_ENV, HubProcess
from tests.xet.test_stock_client import _create, run_scenario

HF = Path(sys.executable).parent / "hf"
SMALL_TEXT = 300
SMALL_BINARY = 40
SHARDS = {"model-00001-of-00003.safetensors": 9, "model-00002-of-00003.safetensors": 9, "optimizer.bin": 14}

COUNTING = """
import atexit, json, os
from collections import Counter
import huggingface_hub._commit_api as commit_api
import huggingface_hub.file_download as file_download
import huggingface_hub.utils._xet as xet_utils

CALLS = Counter()

def _count(module, name):
    real = getattr(module, name)

    def counted(*args, **kwargs):
        CALLS[name] += 1
        return real(*args, **kwargs)

    setattr(module, name, counted)

# Patched before the library imports them by name: upload_folder's pipeline (with hf_xet)
# takes get_xet_session from utils._xet when it is first used.
for _module, _name in ((xet_utils, "get_xet_session"), (commit_api, "_upload_lfs_files"),
                       (file_download, "xet_get"), (file_download, "http_get")):
    _count(_module, _name)

@atexit.register
def _write():
    with open(os.environ["COUNT_CALLS_TO"], "w") as f:
        json.dump(dict(CALLS), f)
"""


@pytest.fixture(scope="module")
def tools_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    proc = HubProcess(tmp_path_factory.mktemp("tools-hub")).start()
    yield proc
    proc.stop()


def make_folder(root: Path, seed: int) -> dict[str, bytes]:
    """A model-like folder: hundreds of small text files, small binaries and large shards."""
    rng = random.Random(seed)
    files: dict[str, bytes] = {}
    for i in range(SMALL_TEXT):
        files[f"logs/{i // 100}/step-{i:04d}.json"] = json.dumps({"step": i, "loss": rng.random()}).encode()
    for i in range(SMALL_BINARY):
        files[f"embeddings/part-{i:03d}.npy"] = b"\x93NUMPY\x00" + rng.randbytes(rng.randint(100, 20_000))
    for name, mib in SHARDS.items():
        files[name] = rng.randbytes(mib * 1024 * 1024)
    files["config.json"] = b'{"model_type": "bert"}\n'
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return files


def hf(hub: HubProcess, work: Path, *args: str, xet: bool) -> dict[str, int]:
    """Run the installed ``hf ARGS``; the transfer functions of huggingface_hub it called."""
    site = work / "site"
    site.mkdir(parents=True, exist_ok=True)
    (site / "sitecustomize.py").write_text(COUNTING)
    counts = work / f"calls-{args[0]}.json"
    env = {
        **os.environ,
        **HF_ENV,
        "HF_ENDPOINT": hub.url,
        "HF_TOKEN": hub.token,
        "HF_HOME": str(work / "hf"),
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "PYTHONPATH": str(site),
        "COUNT_CALLS_TO": str(counts),
    }
    env.pop("HF_HUB_DISABLE_XET", None)
    if not xet:
        env["HF_HUB_DISABLE_XET"] = "1"
    out = subprocess.run([str(HF), *args], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    calls: dict[str, int] = json.loads(counts.read_text())
    return calls


@pytest.mark.parametrize("xet", [True, False], ids=["xet", "HF_HUB_DISABLE_XET"])
def test_hf_cli_uploads_and_downloads_a_folder(tools_hub: HubProcess, tmp_path: Path, xet: bool) -> None:
    from huggingface_hub import HfApi, RepoFile

    repo_id = f"admin/cli-folder-{'xet' if xet else 'lfs'}"
    _create(tools_hub, repo_id)
    files = make_folder(tmp_path / "folder", seed=1 if xet else 2)
    up = hf(tools_hub, tmp_path / "up", "upload", repo_id, str(tmp_path / "folder"), ".", xet=xet)
    used, unused = (
        ("get_xet_session", "_upload_lfs_files") if xet else ("_upload_lfs_files", "get_xet_session")
    )
    assert up.get(used, 0) >= 1 and unused not in up, up

    api = HfApi(endpoint=tools_hub.url, token=tools_hub.token)
    listed = {e.path: e for e in api.list_repo_tree(repo_id, recursive=True) if isinstance(e, RepoFile)}
    assert set(listed) == set(files) | {".gitattributes"}
    binary = {p for p in files if p.endswith((".safetensors", ".bin", ".npy"))}
    # Preupload put the shards and the small binaries in LFS mode, the text files inline; the
    # stock client sent the LFS ones through Xet unless it was told not to.
    assert {p for p, e in listed.items() if e.lfs is not None} == binary
    assert {p for p, e in listed.items() if e.xet_hash is not None} == (binary if xet else set())

    dest = tmp_path / "down"
    down = hf(tools_hub, tmp_path / "dl", "download", repo_id, "--local-dir", str(dest), xet=xet)
    assert (down.get("xet_get", 0) >= len(binary)) is xet, down
    got = {
        str(p.relative_to(dest)): p.read_bytes()
        for p in dest.rglob("*")
        if p.is_file() and ".cache" not in p.parts
    }
    assert got.keys() == files.keys() | {".gitattributes"}
    assert all(got[p] == data for p, data in files.items())


@pytest.mark.parametrize("xet", [True, False], ids=["xet", "HF_HUB_DISABLE_XET"])
def test_transformers_and_evaluate_push_to_hub(tools_hub: HubProcess, tmp_path: Path, xet: bool) -> None:
    repo_id = f"admin/tiny-bert-{'xet' if xet else 'lfs'}"
    dataset_id = f"admin/tiny-reviews-{'xet' if xet else 'lfs'}"
    # evaluate looks the dataset up first and, with huggingface_hub >= 1.0, fails on a missing
    # one (it catches requests' HTTPError, which huggingface_hub no longer raises).
    _create(tools_hub, dataset_id, "dataset")
    res = run_scenario(
        tools_hub, tmp_path, "tests.xet.scenario_transformers", repo_id, dataset_id, str(tmp_path), xet=xet
    )
    assert res["same_weights"] is True and res["same_logits"] is True
    assert res["tokens"] == ["[CLS]", "hello", "tiny", "xet", "hub", "[SEP]"]
    assert res["lfs"] == {"model.safetensors": True, "tokenizer.json": False}
    assert res["xet"] == {"model.safetensors": xet, "tokenizer.json": False}
    used = "_upload_xet_files" if xet else "_upload_lfs_files"
    assert res["upload_calls"].get(used, 0) >= 1, res["upload_calls"]
    assert (res["download_calls"].get("xet_get", 0) >= 1) is xet, res["download_calls"]
    expected = {"task": "text-classification", "dataset": dataset_id, "metric": "accuracy", "value": 0.75}
    assert res["card_results"] == [expected]
    # The hub read the new card: its model info carries the same model-index.
    index = res["hub_model_index"]
    assert index and index[0]["results"][0]["metrics"][0] == {
        "type": "accuracy",
        "value": 0.75,
        "name": "Accuracy",
    }
