"""Reproduction status is derived, never set: only a record's owner attaches a re-run of the
same pins (``workbench eval reproduce``), and the hub compares the metrics.

Records live on an organization's private repos: the writer who posts a record owns it; the
org's reader (write-scope token, read access), its admin, an outsider and anonymous callers
try to set or attach, and each refusal is checked to change nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.evals import as_json, eval_cli, quick_notebook
from tests.support.hub import HubProcess
from tests.support.team import Team, make_team
from workbench.client import HubClient


@pytest.fixture(scope="module")
def team(hub: HubProcess) -> Team:
    return make_team(hub, prefix="repro")


@pytest.fixture(scope="module")
def repos(hub: HubProcess, team: Team) -> dict[str, str]:
    """A private model and dataset of the org; the dataset has two commits."""
    model, dataset = f"{team.org}/classifier", f"{team.org}/holdout"
    with HubClient(hub.url, team.tokens["writer"], progress=False) as writer:
        writer.create_repo(model, private=True)
        writer.create_repo(dataset, type="dataset", private=True)
        first = writer.revision_sha(dataset, type="dataset")
        writer.upload(dataset, {"data.csv": b"a,b\n1,2\n"}, type="dataset", message="data")
        return {
            "model": model,
            "dataset": dataset,
            "model_commit": writer.revision_sha(model),
            "dataset_commit": writer.revision_sha(dataset, type="dataset"),
            "old_dataset_commit": first,
        }


def _body(repos: dict[str, str], **changes: Any) -> dict[str, Any]:
    body = {
        "model": repos["model"],
        "dataset": repos["dataset"],
        "model_commit": repos["model_commit"],
        "dataset_commit": repos["dataset_commit"],
        "split": "test",
        "notebook_name": "evaluate.ipynb",
        "notebook_sha256": "a" * 64,
        "parameters": {"batch_size": 8, "model_revision": "main"},
        "seed": 1,
        "status": "succeeded",
        "metrics": {"accuracy": 0.75},
        "metric_info": {"accuracy": {"higher_is_better": True, "tolerance": 0.01}},
        "notebook": '{"cells": []}',
    }
    body.update(changes)
    return body


def _post(hub: HubProcess, team: Team, who: str, body: dict[str, Any]) -> str:
    with team.client(hub, who) as c:
        resp = c.post("/api/evals", json=body)
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def _attach(hub: HubProcess, team: Team, who: str, run_id: str, body: dict[str, Any]) -> httpx.Response:
    with team.client(hub, who) as c:
        return c.post(f"/api/evals/{run_id}/reproduction", json=body)


def _show(hub: HubProcess, team: Team, run_id: str) -> dict[str, Any]:
    with team.client(hub, "writer") as c:
        resp = c.get(f"/api/evals/{run_id}")
    resp.raise_for_status()
    record: dict[str, Any] = resp.json()
    return record


def _refused(resp: httpx.Response, status: int, code: str) -> str:
    assert resp.status_code == status, resp.text
    assert resp.headers["X-Error-Code"] == code, resp.text
    message: str = resp.json()["error"]["message"]
    return message


UNSET = {"reproduction": None, "reproduction_run": None, "reproduced_by": None, "reproduced_at": None}


def test_a_reader_with_a_write_token_can_neither_set_nor_attach(
    hub: HubProcess, team: Team, repos: dict[str, str]
) -> None:
    original = _post(hub, team, "writer", _body(repos))
    before = _show(hub, team, original)
    owners_rerun = _post(hub, team, "writer", _body(repos, reproduction_of=original))
    readers_rerun = _post(hub, team, "reader", _body(repos, reproduction_of=original))
    for who in ("reader", "admin"):  # an org admin gets no exception: it is the writer's claim
        for body in (
            {"status": "reproduced"},
            {"status": "differs", "differences": [{"metric": "accuracy"}]},
            {"run": readers_rerun},
            {"run": owners_rerun},
        ):
            message = _refused(_attach(hub, team, who, original, body), 403, "NotRecordOwner")
            assert team.users["writer"] in message and "workbench eval reproduce" in message
    with team.client(hub, "writer", read_scope=True) as c:
        resp = c.post(f"/api/evals/{original}/reproduction", json={"run": owners_rerun})
    _refused(resp, 403, "ReadOnlyToken")
    for who in ("outsider", "anonymous"):  # private means private
        for body in ({"status": "reproduced"}, {"run": owners_rerun}):
            _refused(_attach(hub, team, who, original, body), 404, "RunNotFound")
    after = _show(hub, team, original)
    assert after == before and {k: after.get(k, "missing") for k in UNSET} == UNSET


def test_the_owner_cannot_set_a_bare_status(hub: HubProcess, team: Team, repos: dict[str, str]) -> None:
    original = _post(hub, team, "writer", _body(repos))
    rerun = _post(hub, team, "writer", _body(repos, reproduction_of=original))
    before = _show(hub, team, original)
    for body in (
        {"status": "reproduced"},
        {"status": "reproduced", "differences": []},
        {"status": "reproduced", "run": rerun},  # a matching re-run, but a claimed status
        {"run": rerun, "differences": []},
    ):
        message = _refused(_attach(hub, team, "writer", original, body), 400, "StatusIsDerived")
        assert '{"run": RERUN_ID}' in message and "workbench eval reproduce" in message
    _refused(_attach(hub, team, "writer", original, {}), 400, "MissingField")
    assert _show(hub, team, original) == before


def test_a_rerun_of_other_pins_or_unfinished_is_refused(
    hub: HubProcess, team: Team, repos: dict[str, str]
) -> None:
    original = _post(hub, team, "writer", _body(repos))
    before = _show(hub, team, original)
    cases: list[tuple[dict[str, Any], int, str, str]] = [
        ({"dataset_commit": repos["old_dataset_commit"]}, 400, "ReproductionPinsDiffer", "dataset_commit"),
        ({"parameters": {"batch_size": 9}}, 400, "ReproductionPinsDiffer", "batch_size"),
        ({"notebook_sha256": "b" * 64}, 400, "ReproductionPinsDiffer", "notebook"),
        ({"seed": 2}, 400, "ReproductionPinsDiffer", "seed"),
        ({"split": "validation"}, 400, "ReproductionPinsDiffer", "split"),
        ({"reproduction_of": None}, 400, "NotAReproduction", "reproduction_of"),
        ({"status": "running", "metrics": {}}, 409, "RerunNotFinished", "running"),
    ]
    for changes, status, code, named in cases:
        rerun = _post(hub, team, "writer", _body(repos, **{"reproduction_of": original, **changes}))
        message = _refused(_attach(hub, team, "writer", original, {"run": rerun}), status, code)
        assert named in message and f"workbench eval reproduce {original}" in message, message
    # the reader's re-run, even with the same pins, is the reader's record, not the owner's
    readers = _post(hub, team, "reader", _body(repos, reproduction_of=original))
    _refused(_attach(hub, team, "writer", original, {"run": readers}), 400, "NotYourRerun")
    _refused(_attach(hub, team, "writer", original, {"run": "0" * 32}), 404, "RunNotFound")
    # a failed record has no metrics to reproduce
    failed = _post(
        hub,
        team,
        "writer",
        _body(repos, status="failed", metrics={}, error={"cell_index": 1, "ename": "E", "message": "boom"}),
    )
    rerun = _post(hub, team, "writer", _body(repos, reproduction_of=failed))
    _refused(_attach(hub, team, "writer", failed, {"run": rerun}), 400, "RunNotSucceeded")
    assert _show(hub, team, original) == before


def test_an_attached_rerun_derives_the_status(hub: HubProcess, team: Team, repos: dict[str, str]) -> None:
    original = _post(hub, team, "writer", _body(repos))
    # within the metric's tolerance, and the revision parameter names the commit, not "main"
    params = {"batch_size": 8, "model_revision": repos["model_commit"]}
    same = _post(
        hub,
        team,
        "writer",
        _body(repos, reproduction_of=original, parameters=params, metrics={"accuracy": 0.755}),
    )
    resp = _attach(hub, team, "writer", original, {"run": same})
    assert resp.status_code == 200, resp.text
    shown = _show(hub, team, original)
    assert resp.json() == shown
    assert shown["reproduction"] == "reproduced" and shown["differences"] == []
    assert shown["reproduction_run"] == same and shown["reproduced_by"] == team.users["writer"]
    when = datetime.fromisoformat(shown["reproduced_at"].replace("Z", "+00:00"))
    now = datetime.now(UTC)
    assert now - timedelta(minutes=5) < when.replace(tzinfo=when.tzinfo or UTC) <= now
    # a later re-run with other numbers: "differs", with the differences the hub computed
    other = _post(hub, team, "writer", _body(repos, reproduction_of=original, metrics={"accuracy": 0.5}))
    resp = _attach(hub, team, "writer", original, {"run": other})
    assert resp.status_code == 200, resp.text
    shown = _show(hub, team, original)
    assert shown["reproduction"] == "differs" and shown["reproduction_run"] == other
    [diff] = shown["differences"]
    assert diff["metric"] == "accuracy" and (diff["original"], diff["rerun"]) == (0.75, 0.5)
    assert diff["tolerance"] == 0.01 and diff["difference"] == pytest.approx(-0.25)
    # a re-run that failed
    error = {"cell_index": 2, "cell_id": "predict", "ename": "RuntimeError", "message": "boom"}
    broken = _post(
        hub, team, "writer", _body(repos, reproduction_of=original, status="failed", metrics={}, error=error)
    )
    assert _attach(hub, team, "writer", original, {"run": broken}).status_code == 200
    shown = _show(hub, team, original)
    assert shown["reproduction"] == "failed" and shown["differences"] == [{"error": error}]
    with team.client(hub, "reader") as c:  # the reader sees who reproduced it, in lists too
        listed = c.get("/api/evals", params={"model": repos["model"]}).json()
    [row] = [r for r in listed if r["id"] == original]
    assert row["reproduced_by"] == team.users["writer"] and row["reproduction_run"] == broken


def _cli_run(hub: HubProcess, team: Team, repos: dict[str, str], tmp_path: Path, *args: str) -> Any:
    """The writer's ``workbench eval run`` of the quick notebook on the org's repos: the record."""
    notebook = quick_notebook(tmp_path / "quick.ipynb")
    run = ("--model", repos["model"], "--dataset", repos["dataset"], "--notebook", str(notebook))
    env = {"WORKBENCH_TOKEN": team.tokens["writer"] or ""}
    proc = eval_cli(hub, tmp_path, "eval", "run", *run, *args, "--json", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return as_json(proc)


@pytest.mark.slow
def test_the_owners_cli_reproduces_and_others_cannot(
    hub: HubProcess, team: Team, repos: dict[str, str], tmp_path: Path
) -> None:
    as_writer = {"WORKBENCH_TOKEN": team.tokens["writer"] or ""}
    rid = _cli_run(hub, team, repos, tmp_path)["id"]
    before = _show(hub, team, rid)
    # the reader may read the record and holds a write token: refused before anything runs
    as_reader = {"WORKBENCH_TOKEN": team.tokens["reader"] or ""}
    proc = eval_cli(hub, tmp_path, "eval", "reproduce", rid, "--json", env=as_reader)
    assert proc.returncode == 1 and "error:" in proc.stderr and team.users["writer"] in proc.stderr
    assert _show(hub, team, rid) == before
    with team.client(hub, "writer") as c:
        runs = c.get("/api/evals", params={"model": repos["model"], "limit": 1000}).json()
    assert not [r for r in runs if r["reproduction_of"] == rid]  # no re-run was posted
    # the owner
    proc = eval_cli(hub, tmp_path, "eval", "reproduce", rid, "--json", env=as_writer)
    assert proc.returncode == 0, proc.stderr[-3000:]
    outcome = as_json(proc)
    assert outcome["status"] == "reproduced" and outcome["differences"] == []
    assert outcome["reproduced_by"] == team.users["writer"] and outcome["reproduced_at"]
    shown = _show(hub, team, rid)
    assert shown["reproduction"] == "reproduced" and shown["reproduction_run"] == outcome["rerun"]
    assert shown["reproduced_by"] == team.users["writer"]
    assert shown["reproduced_at"] == outcome["reproduced_at"]
    text = eval_cli(hub, tmp_path, "eval", "show", rid, env=as_writer).stdout
    assert f"reproduction: reproduced by {team.users['writer']} at " in text
    assert f"re-run {outcome['rerun']}" in text
    text = eval_cli(hub, tmp_path, "eval", "reproduce", rid, env=as_writer).stdout
    assert f"run {rid}: reproduced by {team.users['writer']} at " in text and "(re-run " in text


@pytest.mark.slow
def test_a_cli_rerun_with_other_metrics_differs(
    hub: HubProcess, team: Team, repos: dict[str, str], tmp_path: Path
) -> None:
    as_writer = {"WORKBENCH_TOKEN": team.tokens["writer"] or ""}
    record = _cli_run(hub, team, repos, tmp_path, "-p", "mode", "random")
    proc = eval_cli(hub, tmp_path, "eval", "reproduce", record["id"], "--json", env=as_writer)
    assert proc.returncode == 1, proc.stderr[-3000:]
    outcome = as_json(proc)
    assert outcome["status"] == "differs" and outcome["reproduced_by"] == team.users["writer"]
    [diff] = outcome["differences"]
    assert diff["metric"] == "accuracy" and diff["original"] == record["metrics"]["accuracy"]
    assert diff["rerun"] != diff["original"]
    shown = _show(hub, team, record["id"])
    assert shown["reproduction"] == "differs" and shown["differences"] == outcome["differences"]
    assert shown["reproduction_run"] == outcome["rerun"]
    text = eval_cli(hub, tmp_path, "eval", "show", record["id"], env=as_writer).stdout
    assert f"reproduction: differs by {team.users['writer']} at " in text and "accuracy" in text
