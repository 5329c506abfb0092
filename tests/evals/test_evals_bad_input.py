"""Bad input to evaluation runs: each ends in a failed record with a clear message, the
notebook kept for inspection, and a non-zero exit; nothing is recorded as a success."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.evals import TEMPLATE, as_json, eval_cli, quick_notebook
from tests.support.hub import HubProcess
from tests.support.kernel import seed_demo
from workbench.client import HubClient

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("evals-bad")


@pytest.fixture(scope="module")
def demo(hub: HubProcess) -> dict[str, str]:
    return seed_demo(hub)


@pytest.fixture(scope="module")
def client(hub: HubProcess) -> Any:
    with HubClient(hub.url, hub.token, progress=False) as c:
        yield c


def _failed_run(hub: HubProcess, cache: Path, demo: dict[str, str], *args: str) -> dict[str, Any]:
    proc = eval_cli(
        hub,
        cache,
        "eval",
        "run",
        "--model",
        demo["model"],
        "--dataset",
        demo["dataset"],
        "--json",
        "--output-dir",
        str(cache / "runs"),
        *args,
    )
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    rec = as_json(proc)
    assert rec["status"] == "failed" and rec["metrics"] == {}
    return rec


def _stored_and_kept(client: HubClient, rec: dict[str, Any]) -> dict[str, Any]:
    assert Path(rec["notebook_path"]).is_file()
    stored = client.eval_run(rec["id"])
    assert stored["status"] == "failed" and stored["error"] == rec["error"]
    assert json.loads(client.eval_notebook(rec["id"]))["cells"]
    return stored


def test_notebook_without_parameters_cell(
    hub: HubProcess, cache: Path, demo: dict[str, str], client: HubClient
) -> None:
    nb = quick_notebook(cache / "no-params.ipynb", parameters=False)
    rec = _failed_run(hub, cache, demo, "--notebook", str(nb))
    assert rec["error"]["ename"] == "NoParametersCell"
    assert "no cell tagged 'parameters'" in rec["error"]["message"]
    _stored_and_kept(client, rec)


def test_unknown_parameter(hub: HubProcess, cache: Path, demo: dict[str, str], client: HubClient) -> None:
    rec = _failed_run(hub, cache, demo, "-p", "bacth_size", "8")
    assert rec["error"]["ename"] == "UnknownParameter"
    assert "bacth_size" in rec["error"]["message"] and "batch_size" in rec["error"]["message"]
    _stored_and_kept(client, rec)


@pytest.mark.parametrize("which", ["model", "dataset"])
def test_missing_model_or_dataset(hub: HubProcess, cache: Path, demo: dict[str, str], which: str) -> None:
    args = {"model": demo["model"], "dataset": demo["dataset"], which: "admin/does-not-exist"}
    proc = eval_cli(
        hub, cache, "eval", "run", "--model", args["model"], "--dataset", args["dataset"], "--json"
    )
    assert proc.returncode == 1
    rec = as_json(proc)
    assert rec["status"] == "failed" and rec["id"] is None  # no repo to attach it to
    assert f"The {which} admin/does-not-exist does not exist" in rec["error"]["message"]
    kept = Path(rec["notebook_path"])  # the record and the notebook stay on this machine
    assert json.loads(kept.read_text())["cells"]
    assert json.loads(kept.with_suffix(".record.json").read_text())["error"] == rec["error"]


def test_kernel_that_cannot_start(
    hub: HubProcess, cache: Path, demo: dict[str, str], client: HubClient
) -> None:
    from workbench.evals.runner import EvalSpec, run_evaluation

    spec = EvalSpec(
        demo["model"],
        demo["dataset"],
        kernel_name="no-such-kernel",
        hub_url=hub.url,
        token=hub.token,
        output_dir=str(cache / "runs"),
    )
    record = run_evaluation(spec)
    assert record.status == "failed" and record.metrics == {}
    error = record.error or {}
    assert "no-such-kernel" in error["message"] and "could not start" in error["message"]
    _stored_and_kept(client, record.to_dict())


def test_metric_that_cannot_load(
    hub: HubProcess, cache: Path, demo: dict[str, str], client: HubClient
) -> None:
    rec = _failed_run(hub, cache, demo, "--metric", "no_such_metric")
    assert rec["error"]["cell_id"] == "metrics"
    assert "no_such_metric" in rec["error"]["message"]
    stored = _stored_and_kept(client, rec)
    assert stored["timings"]["cells"][-1]["status"] == "failed"


def test_kernel_killed_mid_run(hub: HubProcess, cache: Path, demo: dict[str, str], client: HubClient) -> None:
    nb = quick_notebook(cache / "quick.ipynb")
    rec = _failed_run(hub, cache, demo, "--notebook", str(nb), "-p", "mode", "kill")
    assert rec["error"]["ename"] == "DeadKernel" and "kernel died" in rec["error"]["message"]
    assert rec["error"]["cell_index"] == 2  # parameters, injected parameters, the killer
    _stored_and_kept(client, rec)


def test_timeout(hub: HubProcess, cache: Path, demo: dict[str, str], client: HubClient) -> None:
    nb = quick_notebook(cache / "quick-sleep.ipynb")
    rec = _failed_run(hub, cache, demo, "--notebook", str(nb), "-p", "mode", "sleep", "--timeout", "4")
    assert rec["error"]["ename"] == "Timeout" and "--timeout 4" in rec["error"]["message"]
    _stored_and_kept(client, rec)


def test_nothing_failed_is_a_success(client: HubClient, demo: dict[str, str]) -> None:
    ok = client.eval_runs(model=demo["model"], status="succeeded", limit=1000)
    assert all(r["error"] is None and r["metrics"] for r in ok)
    failed = client.eval_runs(model=demo["model"], status="failed", limit=1000)
    assert {r["error"]["ename"] for r in failed} >= {"NoParametersCell", "UnknownParameter"}


def test_hub_rejects_malformed_records(hub: HubProcess, client: HubClient, demo: dict[str, str]) -> None:
    commit = client.revision_sha(demo["model"])
    data_commit = client.revision_sha(demo["dataset"], type="dataset")
    base = {
        "model": demo["model"],
        "dataset": demo["dataset"],
        "model_commit": commit,
        "dataset_commit": data_commit,
        "split": "test",
        "notebook_name": "x.ipynb",
        "notebook_sha256": "0" * 64,
        "status": "succeeded",
    }
    headers = {"Authorization": f"Bearer {hub.token}"}
    cases = [
        ({**base, "status": "great"}, "InvalidStatus"),
        ({**base, "model_commit": data_commit}, "InvalidCommit"),
        ({k: v for k, v in base.items() if k != "split"}, "MissingField"),
        ({**base, "metrics": "high"}, "InvalidField"),
        (base, "InconsistentRun"),  # a success with no metrics
        ({**base, "metrics": {"accuracy": 0.9}, "error": {"message": "boom"}}, "InconsistentRun"),
        ({**base, "metrics": {"accuracy": "0.9"}}, "InconsistentRun"),
        ({**base, "status": "failed"}, "InconsistentRun"),
    ]  # a failure that says nothing
    for body, code in cases:
        resp = httpx.post(f"{hub.url}/api/evals", json=body, headers=headers)
        assert resp.status_code == 400, resp.text
        assert resp.json()["error"]["code"] == code and resp.headers["X-Error-Code"] == code
    assert httpx.get(f"{hub.url}/api/evals/{'f' * 32}", headers=headers).status_code == 404
    assert TEMPLATE.is_file()


def test_report_refuses_what_is_not_a_number() -> None:
    from workbench.errors import InvalidRequest
    from workbench.kernel.report import report

    for metrics in ({"accuracy": float("nan")}, {"accuracy": True}, {"accuracy": "high"}, {}):
        with pytest.raises(InvalidRequest) as err:
            report(metrics)
        assert err.value.code == "InvalidMetric"


def test_a_notebook_that_never_reports_is_a_failure(tmp_path: Path) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    from workbench.evals.records import build_record

    path = tmp_path / "silent.ipynb"
    nbformat.write(
        new_notebook(
            cells=[
                new_code_cell("model = 'a/m'\ndataset = 'a/d'", metadata={"tags": ["parameters"]}),
                new_code_cell("print('no report')"),
            ]
        ),
        path,
    )
    rec = build_record(path, pins={"model_commit": "1" * 40, "dataset_commit": "2" * 40})
    assert rec["status"] == "failed" and rec["metrics"] == {}
    assert rec["error"]["ename"] == "NoResult" and "wb.report" in rec["error"]["message"]
    assert (rec["model"], rec["dataset"]) == ("a/m", "a/d")


def test_missing_model_and_missing_notebook(hub: HubProcess, cache: Path) -> None:
    from workbench.evals.runner import EvalSpec, run_evaluation

    spec = EvalSpec(
        "admin/does-not-exist",
        "admin/does-not-exist-either",
        notebook=str(cache / "no-such.ipynb"),
        hub_url=hub.url,
        token=hub.token,
        output_dir=str(cache / "runs"),
    )
    record = run_evaluation(spec)
    assert record.status == "failed" and record.notebook_path is None
    assert "does not exist" in (record.error or {})["message"]
