"""Evaluation runs end to end against the session hub: the template in a real kernel, the run
record, the executed notebook, the model card's model-index, reproduction, leaderboards, the
plain-papermill path and ``wb.evaluate``."""

from __future__ import annotations

import csv
import json
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.evals import TEMPLATE, as_json, eval_cli, eval_env, quick_notebook
from tests.support.hub import HubProcess
from tests.support.kernel import seed_demo, unique
from workbench.cli.demo_content import build_demo
from workbench.client import HubClient
from workbench.evals.records import source_hash
from workbench.evals.report import MIME
from workbench.kernel.cards import split_card

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("evals-runs")


@pytest.fixture(scope="module")
def client(hub: HubProcess) -> Any:
    with HubClient(hub.url, hub.token, progress=False) as c:
        yield c


@pytest.fixture(scope="module")
def setup(hub: HubProcess, client: HubClient) -> dict[str, Any]:
    """A private copy of the demo model (its card gets rewritten) and the demo dataset."""
    demo = seed_demo(hub)
    folder = Path(tempfile.mkdtemp(prefix="wb-evals-demo-"))
    model_dir = build_demo(folder)[0].folder
    model = unique("evals-classifier")
    client.create_repo(model)
    client.upload(model, {p.name: p for p in model_dir.iterdir()}, message="copy of the demo")
    return {
        "model": model,
        "dataset": demo["dataset"],
        "model_dir": model_dir,
        "model_commit": client.revision_sha(model),
        "dataset_commit": client.revision_sha(demo["dataset"], type="dataset"),
    }


@pytest.fixture(scope="module")
def first_run(hub: HubProcess, cache: Path, setup: dict[str, Any]) -> dict[str, Any]:
    proc = eval_cli(
        hub,
        cache,
        "eval",
        "run",
        "--model",
        setup["model"],
        "--dataset",
        setup["dataset"],
        "--metric",
        "accuracy",
        "--metric",
        "f1",
        "--publish",
        "--json",
        "-p",
        "batch_size",
        "7",
        "--output-dir",
        str(cache / "runs"),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"record": as_json(proc), "stderr": proc.stderr}


def _expected_accuracy(setup: dict[str, Any], test_csv: Path) -> float:
    """The demo model's test accuracy, computed here by hand from the files."""
    import torch
    from safetensors.torch import load_file

    state = load_file(str(setup["model_dir"] / "model.safetensors"))
    with test_csv.open() as f:
        rows = list(csv.DictReader(f))
    x = torch.tensor(
        [[float(r[c]) for c in ("sepal_length", "sepal_width", "petal_length", "petal_width")] for r in rows]
    )
    y = torch.tensor([int(r["label"]) for r in rows])
    hidden = torch.relu(x @ state["fc1.weight"].T + state["fc1.bias"])
    logits = hidden @ state["fc2.weight"].T + state["fc2.bias"]
    return float((logits.argmax(1) == y).float().mean())


def test_run_record(
    first_run: dict[str, Any], setup: dict[str, Any], client: HubClient, tmp_path: Path
) -> None:
    rec = first_run["record"]
    assert rec["status"] == "succeeded" and rec["error"] is None and len(rec["id"]) == 32
    assert (rec["model"], rec["dataset"], rec["split"]) == (setup["model"], setup["dataset"], "test")
    assert rec["model_commit"] == setup["model_commit"]
    assert rec["dataset_commit"] == setup["dataset_commit"]
    assert rec["parameters"]["model_revision"] == setup["model_commit"]
    assert rec["parameters"]["batch_size"] == 7 and rec["parameters"]["metrics"] == ["accuracy", "f1"]
    assert rec["notebook"]["sha256"] == source_hash(json.loads(TEMPLATE.read_text()))
    assert rec["seed"] == 0
    env = rec["environment"]
    assert env["python"] == platform.python_version() and "torch" in env["packages"]
    assert env["packages"]["papermill"] and env["platform"]
    cells = {c["id"]: c for c in rec["timings"]["cells"]}
    assert {"setup", "load", "predict", "metrics"} <= set(cells)
    assert all(c["status"] == "completed" and c["duration"] >= 0 for c in cells.values())
    csv_path = client.download_file(
        setup["dataset"],
        "data/test.csv",
        type="dataset",
        revision=setup["dataset_commit"],
        local_dir=tmp_path,
    )
    assert rec["metrics"]["accuracy"] == pytest.approx(_expected_accuracy(setup, csv_path), abs=1e-12)
    assert 0 < rec["metrics"]["f1"] <= 1
    assert rec["metric_info"]["f1"]["tolerance"] == 1e-12
    assert rec["metric_info"]["accuracy"]["higher_is_better"] is True
    assert rec["environment"]["executor"]["kind"] == "local"
    # per-cell progress in the terminal
    assert "cell 9/9 metrics" in first_run["stderr"] and "completed in" in first_run["stderr"]
    # the executed notebook: kept locally and stored on the hub
    assert Path(rec["notebook_path"]).is_file()
    stored = client.eval_notebook(rec["id"])
    nb = json.loads(stored)
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    results = [o["data"][MIME] for o in outputs if MIME in o.get("data", {})]
    assert results and results[-1]["metrics"] == rec["metrics"]
    shown = client.eval_run(rec["id"])
    assert shown["metrics"] == rec["metrics"] and shown["notebook"]["executed_sha256"]


def test_model_index_on_card(
    first_run: dict[str, Any], setup: dict[str, Any], client: HubClient, tmp_path: Path
) -> None:
    rec = first_run["record"]
    assert rec["published"]["commit"] == client.revision_sha(setup["model"])
    readme = client.download_file(setup["model"], "README.md", local_dir=tmp_path)
    meta, body = split_card(readme.read_text())
    assert body.startswith("# tiny-classifier")  # the card's text is kept
    results = meta["model-index"][0]["results"]
    mine = [r for r in results if r["dataset"]["type"] == setup["dataset"]]
    assert len(mine) == 1  # the demo's own result for this dataset was updated, not duplicated
    by_type = {m["type"]: m for m in mine[0]["metrics"]}
    assert by_type["accuracy"]["value"] == rec["metrics"]["accuracy"]
    assert by_type["f1"]["value"] == rec["metrics"]["f1"]
    assert by_type["f1"]["args"]["run"] == rec["id"]
    assert mine[0]["dataset"]["revision"] == setup["dataset_commit"]
    assert client.log(setup["model"], limit=1)[0]["title"].startswith("Add evaluation results")


def test_reproduce(hub: HubProcess, cache: Path, first_run: dict[str, Any], client: HubClient) -> None:
    rid = first_run["record"]["id"]
    proc = eval_cli(hub, cache, "eval", "reproduce", rid, "--json", "--output-dir", str(cache / "runs"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    outcome = as_json(proc)
    assert outcome["status"] == "reproduced" and outcome["differences"] == []
    original = client.eval_run(rid)
    assert original["reproduction"] == "reproduced"
    rerun = client.eval_run(outcome["rerun"])
    assert rerun["reproduction_of"] == rid and rerun["metrics"] == original["metrics"]
    assert rerun["model_commit"] == original["model_commit"]  # pinned, though main moved
    assert rerun["notebook"]["sha256"] == original["notebook"]["sha256"]


def test_leaderboard(
    hub: HubProcess, cache: Path, first_run: dict[str, Any], setup: dict[str, Any], client: HubClient
) -> None:
    rec = first_run["record"]
    # A worse record and a failed one for the same model: the board keeps the best run.
    base = {k: rec[k] for k in ("model", "dataset", "model_commit", "dataset_commit", "split", "metric_info")}
    worse = client.create_eval_run(
        {
            **base,
            "notebook_name": "manual.ipynb",
            "notebook_sha256": "0" * 64,
            "status": "succeeded",
            "metrics": {"accuracy": rec["metrics"]["accuracy"] - 0.5},
        }
    )
    client.create_eval_run(
        {
            **base,
            "notebook_name": "manual.ipynb",
            "notebook_sha256": "0" * 64,
            "status": "failed",
            "metrics": {"accuracy": 2.0},
            "error": {"cell_index": 1, "ename": "RuntimeError", "message": "boom"},
        }
    )
    proc = eval_cli(hub, cache, "eval", "leaderboard", setup["dataset"], "--metric", "accuracy", "--json")
    assert proc.returncode == 0, proc.stderr
    board = as_json(proc)
    mine = [e for e in board["entries"] if e["model"] == setup["model"]]
    assert len(mine) == 1 and mine[0]["run"] == rec["id"] and mine[0]["run"] != worse["id"]
    assert mine[0]["value"] == rec["metrics"]["accuracy"]
    assert mine[0]["url"] == f"/api/evals/{rec['id']}"
    values = [e["value"] for e in board["entries"]]
    assert values == sorted(values, reverse=True) and board["higher_is_better"]

    import workbench as wb

    wb.connect(hub.url, token=hub.token)
    frame = wb.leaderboard(setup["dataset"], metric="accuracy")
    row = frame[frame["model"] == setup["model"]].iloc[0]
    assert row["value"] == rec["metrics"]["accuracy"] and row["url"].startswith(hub.url)
    html = frame._repr_html_()
    assert "<svg" in html and "<rect" in html and setup["model"] in html
    text = eval_cli(hub, cache, "eval", "leaderboard", setup["dataset"], "--metric", "accuracy")
    assert setup["model"] in text.stdout and rec["id"] in text.stdout


def test_plain_papermill_gives_the_same_record(
    hub: HubProcess, cache: Path, first_run: dict[str, Any], setup: dict[str, Any]
) -> None:
    out = cache / "ci-out.ipynb"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "papermill",
            str(TEMPLATE),
            str(out),
            "-p",
            "model",
            setup["model"],
            "-p",
            "dataset",
            setup["dataset"],
            "-y",
            "metrics: [accuracy, f1]",
            "-p",
            "batch_size",
            "7",
            "--no-progress-bar",
            "--cwd",
            str(cache),
        ],
        capture_output=True,
        text=True,
        env=eval_env(hub, cache),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    recorded = eval_cli(hub, cache, "eval", "record", str(out), "--json")
    assert recorded.returncode == 0, recorded.stderr[-3000:]
    rec, first = as_json(recorded), first_run["record"]
    assert set(rec) == set(first) - {"published"}
    assert rec["status"] == "succeeded" and rec["metrics"] == first["metrics"]
    assert rec["notebook"]["sha256"] == first["notebook"]["sha256"]
    assert rec["notebook"]["name"] == "evaluate.ipynb" == first["notebook"]["name"]
    assert rec["dataset_commit"] == first["dataset_commit"]
    assert len(rec["model_commit"]) == 40  # main's head when papermill ran (after the card commit)
    template_ids = {c["id"] for c in json.loads(TEMPLATE.read_text())["cells"] if c["cell_type"] == "code"}
    for record in (rec, first):
        assert template_ids <= {c["id"] for c in record["timings"]["cells"]}
    assert rec["environment"]["packages"] == first["environment"]["packages"]


def test_wb_evaluate_and_a_notebook_that_differs(
    hub: HubProcess, cache: Path, setup: dict[str, Any], client: HubClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import workbench as wb

    for key, value in eval_env(hub, cache).items():
        monkeypatch.setenv(key, value)
    wb.connect(hub.url, token=hub.token)
    notebook = quick_notebook(cache / "quick.ipynb")
    record = wb.evaluate(
        setup["model"], setup["dataset"], ["accuracy"], notebook=str(notebook), parameters={"mode": "random"}
    )
    assert record.ok and record.id and 0 <= record.metrics["accuracy"] < 1
    assert record.data["parameters"]["mode"] == "random"
    assert client.eval_run(record.id)["notebook"]["name"] == "quick.ipynb"
    proc = eval_cli(hub, cache, "eval", "reproduce", record.id, "--json")
    assert proc.returncode == 1, proc.stderr[-3000:]
    outcome = as_json(proc)
    assert outcome["status"] == "differs"
    [diff] = outcome["differences"]
    assert diff["metric"] == "accuracy" and diff["original"] == record.metrics["accuracy"]
    assert diff["rerun"] != diff["original"]
    shown = client.eval_run(record.id)
    assert shown["reproduction"] == "differs" and shown["differences"] == outcome["differences"]
    text = eval_cli(hub, cache, "eval", "show", record.id)
    assert "reproduction: differs" in text.stdout
    listed = eval_cli(hub, cache, "eval", "list", "--model", setup["model"], "--json")
    assert record.id in {r["id"] for r in as_json(listed)}
    assert yaml.safe_load(json.dumps(shown["environment"]))["python"]


def test_a_reproduction_that_fails(
    hub: HubProcess, tmp_path: Path, setup: dict[str, Any], client: HubClient
) -> None:
    notebook = quick_notebook(tmp_path / "once.ipynb")
    runs = tmp_path / "runs"
    proc = eval_cli(
        hub,
        tmp_path,
        "eval",
        "run",
        "--model",
        setup["model"],
        "--dataset",
        setup["dataset"],
        "--notebook",
        str(notebook),
        "-p",
        "mode",
        "once",
        "--json",
        "--output-dir",
        str(runs),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rid = as_json(proc)["id"]
    proc = eval_cli(hub, tmp_path, "eval", "reproduce", rid, "--json", "--output-dir", str(runs))
    assert proc.returncode == 1, proc.stderr[-3000:]
    outcome = as_json(proc)
    assert outcome["status"] == "failed"
    rerun = client.eval_run(outcome["rerun"])
    assert rerun["status"] == "failed" and "ran here before" in rerun["error"]["message"]
    assert client.eval_run(rid)["reproduction"] == "failed"


def test_wb_evaluate_in_a_notebook_shows_per_cell_progress(
    hub: HubProcess, cache: Path, setup: dict[str, Any]
) -> None:
    """In a real kernel, ``wb.evaluate`` shows one display that each cell of the run updates."""
    from jupyter_client.manager import KernelManager

    notebook = quick_notebook(cache / "quick-progress.ipynb")
    km = KernelManager(kernel_name="python3")
    km.start_kernel(env={**eval_env(hub, cache)}, cwd=str(cache))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        msg_id = kc.execute(
            "import workbench as wb\n"
            f"record = wb.evaluate({setup['model']!r}, {setup['dataset']!r}, ['accuracy'], "
            f"notebook={str(notebook)!r})\n"
            "print('STATUS', record.status)\n"
        )
        shown: list[tuple[str, str]] = []  # (message type, text) of the progress display
        printed = ""
        while True:
            msg = kc.get_iopub_msg(timeout=240)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind in ("display_data", "update_display_data"):
                shown.append((kind, content["data"]["text/plain"]))
            elif kind == "stream":
                printed += content["text"]
            elif kind == "error":
                pytest.fail("\n".join(content["traceback"]))
            elif kind == "status" and content["execution_state"] == "idle":
                break
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert "STATUS succeeded" in printed
    assert shown[0][0] == "display_data" and {k for k, _ in shown[1:]} == {"update_display_data"}
    texts = [t for _, t in shown]
    # every cell, in order: the notebook's two and the parameters papermill injects
    steps = [re.search(r"running cell (\d+)/(\d+) \(", t) for t in texts]
    seen = [(int(m[1]), int(m[2])) for m in steps if m]
    assert seen == [(i, 3) for i in (1, 2, 3)], texts
    assert "run succeeded" in texts[-1] and "'accuracy': 0.5" in texts[-1]
