"""CI gates (JUnit XML, Markdown summary; pass and fail), the local process pool with a
regression model alongside a classifier, and the Dask executor on a real LocalCluster."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.evals import as_json, eval_cli, eval_env, quick_notebook
from tests.support.hub import HubProcess
from tests.support.kernel import seed_demo, unique
from workbench.client import HubClient

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("evals-gate")


@pytest.fixture(scope="module")
def client(hub: HubProcess) -> Any:
    with HubClient(hub.url, hub.token, progress=False) as c:
        yield c


@pytest.fixture(scope="module")
def repos(hub: HubProcess, cache: Path) -> dict[str, str]:
    """The demo classifier and dataset, plus a tiny regression model and dataset."""
    import numpy as np
    import pandas as pd
    import torch

    import workbench as wb

    demo = seed_demo(hub)
    wb.connect(hub.url, token=hub.token, cache_dir=cache / "wb")
    rng = np.random.default_rng(7)
    x = rng.normal(size=(64, 3)).astype("float32")
    w = np.array([1.5, -2.0, 0.5], dtype="float32")
    y = x @ w + 0.25
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "target": y})
    data_id, model_id = unique("evals-reg-data"), unique("evals-reg-model")
    wb.publish_dataset({"train": frame[:32], "test": frame[32:]}, data_id)
    net = torch.nn.Linear(3, 1)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[1.5, -2.0, 0.4]]))
        net.bias.fill_(0.25)
    wb.publish_model(
        net, model_id, example_inputs=torch.randn(4, 3), config={"in_features": 3, "out_features": 1}
    )
    return {"model": demo["model"], "dataset": demo["dataset"], "reg_model": model_id, "reg_data": data_id}


def _gate(
    hub: HubProcess, cache: Path, name: str, spec: dict[str, Any], *args: str
) -> tuple[int, ET.Element, str]:
    path = cache / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec))
    junit, summary = cache / f"{name}.xml", cache / f"{name}.md"
    proc = eval_cli(
        hub, cache, "eval", "gate", str(path), "--junit", str(junit), "--summary", str(summary), *args
    )
    assert junit.is_file(), proc.stderr[-3000:]
    return proc.returncode, ET.parse(junit).getroot(), summary.read_text()


def test_gate_passes_with_two_jobs(
    hub: HubProcess, cache: Path, repos: dict[str, str], client: HubClient
) -> None:
    spec = {
        "jobs": 2,
        "timeout": 300,
        "evaluations": [
            {
                "model": repos["model"],
                "dataset": repos["dataset"],
                "metrics": {"accuracy": {"min": 0.8}, "f1": {"min": 0.8}},
            },
            {
                "model": repos["reg_model"],
                "dataset": repos["reg_data"],
                "parameters": {"label_column": "target"},
                "metrics": {"mse": {"max": 0.1}, "mae": {"max": 0.5}},
            },
        ],
    }
    code, junit, summary = _gate(hub, cache, "pass", spec)
    assert code == 0, summary
    suite = junit.find("testsuite")
    assert suite is not None and suite.get("tests") == "4" and suite.get("failures") == "0"
    assert {c.get("name") for c in suite.iter("testcase")} == {"accuracy", "f1", "mse", "mae"}
    assert "Evaluation gate: PASSED" in summary and "| ✅ |" in summary
    board = client.leaderboard(repos["reg_data"], metric="mse")
    [entry] = board["entries"]
    assert board["higher_is_better"] is False and entry["model"] == repos["reg_model"]
    # the regression model is off only in its third weight: mse = 0.1**2 * E[c**2] > 0
    assert 0 < entry["value"] < 0.1
    run = client.eval_run(entry["run"])
    assert run["metric_info"]["mse"]["task"] == "regression"
    assert run["parameters"]["label_column"] == "target"


def test_gate_fails_on_threshold_and_regression(hub: HubProcess, cache: Path, repos: dict[str, str]) -> None:
    notebook = quick_notebook(cache / "quick.ipynb")  # reports accuracy 0.5
    spec = {
        "evaluations": [
            {
                "model": repos["model"],
                "dataset": repos["dataset"],
                "notebook": str(notebook),
                "metrics": {"accuracy": {"min": 0.9, "max_regression": 0.05}},
            }
        ]
    }
    code, junit, summary = _gate(hub, cache, "fail", spec)
    assert code == 1
    suite = junit.find("testsuite")
    assert suite is not None and suite.get("tests") == "1" and suite.get("failures") == "1"
    failure = junit.find(".//failure")
    assert failure is not None
    assert "0.5 < min 0.9" in failure.get("message", "")
    assert "regressed by" in failure.get("message", "")  # against the classifier's best run
    assert "Evaluation gate: FAILED" in summary and "| ❌ |" in summary


def test_gate_spec_errors(hub: HubProcess, cache: Path) -> None:
    path = cache / "bad.yaml"
    path.write_text("evaluations:\n  - model: a/b\n    metrics: {accuracy: {minimum: 1}}\n")
    proc = eval_cli(hub, cache, "eval", "gate", str(path))
    assert proc.returncode == 1 and "minimum" not in proc.stdout
    assert "checks of 'accuracy' must be a mapping with keys from" in proc.stderr


def test_dask_executor_on_a_local_cluster(
    hub: HubProcess, cache: Path, repos: dict[str, str], client: HubClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    distributed = pytest.importorskip("distributed")
    for key, value in eval_env(hub, cache).items():
        monkeypatch.setenv(key, value)
    notebook = quick_notebook(cache / "quick-dask.ipynb")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address.replace("tcp://", "")
        proc = eval_cli(
            hub,
            cache,
            "eval",
            "run",
            "--model",
            repos["model"],
            "--dataset",
            repos["dataset"],
            "--notebook",
            str(notebook),
            "--executor",
            f"dask://{address}",
            "--json",
            "--output-dir",
            str(cache / "dask"),
        )
        workers = list(cluster.scheduler_info["workers"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    rec = as_json(proc)
    assert rec["status"] == "succeeded" and rec["metrics"] == {"accuracy": 0.5}
    assert client.eval_run(rec["id"])["status"] == "succeeded"
    assert Path(rec["notebook_path"]).parent == cache / "dask" and workers
    # it ran as a task on the cluster's worker, and the stored record says so
    assert rec["environment"]["executor"]["kind"] == "dask"
    assert rec["environment"]["executor"]["worker"] in workers
    assert client.eval_run(rec["id"])["environment"]["executor"] == rec["environment"]["executor"]
    assert json.loads(Path(rec["notebook_path"]).read_text())["cells"]
