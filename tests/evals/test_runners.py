"""Runners and verified records: real ``workbench runner`` processes against a real hub.

A hub of this module's own (short leases, so that a killed runner's job is leased again
quickly), admin-registered runners, jobs queued by a user through the API and the CLI. Every
job requires a label of its own test, so that each test's runners take only its jobs.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import nbformat
import pytest
from huggingface_hub import HfApi
from nbformat.v4 import new_code_cell, new_notebook

from tests.support.evals import as_json, eval_cli
from tests.support.hub import HubProcess
from workbench.client import HubClient
from workbench.client import runners as api

pytestmark = pytest.mark.slow

LEASE_SECONDS = 3


def lease_hub(tmp_path_factory: pytest.TempPathFactory, name: str) -> HubProcess:
    """A started hub of a module's own, with leases short enough that a killed runner's job is
    leased again quickly."""
    return HubProcess(
        tmp_path_factory.mktemp(name), env={"WORKBENCH_RUNNER_LEASE_SECONDS": str(LEASE_SECONDS)}
    ).start()


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def new_user(hub: HubProcess) -> tuple[str, str]:
    name = unique("user")
    hub.cli("hub", "user", "create", name)
    return name, hub.cli("hub", "token", "create", "rw", "--user", name).stdout.strip()


def nap_notebook(path: Path) -> Path:
    """A notebook that sleeps ``nap`` seconds (a cell of its own), then reports accuracy 0.5."""
    params = 'model = "admin/m"\ndataset = "admin/d"\nsplit = "test"\nnap = 0.0\n'
    nb = new_notebook(
        cells=[
            new_code_cell(params, metadata={"tags": ["parameters"]}),
            new_code_cell("import time\ntime.sleep(float(nap))"),
            new_code_cell(
                "import workbench as wb\n"
                "wb.connect().client.repo_info(model, type='model')  # with the job's read token\n"
                "wb.report({'accuracy': 0.5}, model=model, dataset=dataset, split=split,\n"
                "          metric_info={'accuracy': {'higher_is_better': True, 'tolerance': 0.0}})\n"
            ),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def rhub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    hub = lease_hub(tmp_path_factory, "runners-hub")
    yield hub
    hub.stop()


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runners-work")


@pytest.fixture(scope="module")
def user(rhub: HubProcess) -> dict[str, str]:
    """A user (not an admin) with a write token, owning a private model and dataset."""
    name, token = new_user(rhub)
    with HubClient(rhub.url, token, progress=False) as c:
        model, dataset = f"{name}/classifier", f"{name}/holdout"
        c.create_repo(model, private=True)
        c.create_repo(dataset, type="dataset", private=True)
        c.upload(model, {"config.json": b"{}"}, message="model")
        c.upload(dataset, {"data.csv": b"a,b\n1,2\n"}, type="dataset", message="data")
        other = f"{name}/secret"
        c.create_repo(other, private=True)
    return {"name": name, "token": token, "model": model, "dataset": dataset, "other": other}


def register(hub: HubProcess, name: str, *labels: str) -> str:
    proc = hub.cli("hub", "runner", "register", name, "--labels", ",".join(labels))
    return proc.stdout.strip()


class Runners:
    """``workbench runner`` processes started by a test; stopped (SIGTERM) at its end."""

    def __init__(self, hub: HubProcess, work: Path) -> None:
        self.hub, self.work = hub, work
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[Any] = []

    def start(self, token: str, name: str, *extra: str) -> subprocess.Popen[bytes]:
        log = open(self.work / f"runner-{name}.log", "ab")  # closed in stop_all
        self.logs.append(log)
        env = {
            **self.hub.env(),
            "XDG_CACHE_HOME": str(self.work / "cache"),
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        }
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "workbench",
                "runner",
                "--hub",
                self.hub.url,
                "--token",
                token,
                "--name",
                name,
                *extra,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in self.logs:
            log.close()


@pytest.fixture
def runners(rhub: HubProcess, work: Path) -> Iterator[Runners]:
    r = Runners(rhub, work)
    yield r
    r.stop_all()


def client(hub: HubProcess, token: str) -> HubClient:
    return HubClient(hub.url, token, progress=False)


def queue(hub: HubProcess, user: dict[str, str], label: str, notebook: Path, **extra: Any) -> dict[str, Any]:
    body = {
        "model": user["model"],
        "dataset": user["dataset"],
        "requires": [label],
        "notebook": {"name": notebook.name, "content": notebook.read_text()},
        **extra,
    }
    with client(hub, user["token"]) as c:
        return api.queue_job(c, body)


def wait_for(what: Callable[[], Any], timeout: float = 240, poll: float = 0.2) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = what()
        if got:
            return got
        time.sleep(poll)
    raise AssertionError(f"timed out waiting for {what}")


def job_of(hub: HubProcess, user: dict[str, str], job_id: int) -> dict[str, Any]:
    with client(hub, user["token"]) as c:
        return api.get_job(c, job_id)


def finished(hub: HubProcess, user: dict[str, str], job_id: int) -> Callable[[], dict[str, Any] | None]:
    def check() -> dict[str, Any] | None:
        job = job_of(hub, user, job_id)
        return job if job["state"] in api.FINISHED else None

    return check


def records_of(hub: HubProcess, user: dict[str, str], model: str) -> list[dict[str, Any]]:
    with client(hub, user["token"]) as c:
        return c.eval_runs(model=model)


# -- registering runners ----------------------------------------------------------------------


def test_register_list_pause_resume_remove(rhub: HubProcess, user: dict[str, str]) -> None:
    name = unique("box")
    token = register(rhub, name, "gpu", "cpu")
    assert token.startswith("wbr_")
    listed = json.loads(rhub.cli("hub", "runner", "list", "--json").stdout)
    mine = [r for r in listed if r["name"] == name]
    assert mine and mine[0]["labels"] == "cpu,gpu" and mine[0]["paused"] is False
    assert token not in json.dumps(listed)
    # the API, for the hub admin; users get 403
    with client(rhub, rhub.token) as admin:
        assert [r["labels"] for r in api.list_runners(admin) if r["name"] == name] == [["cpu", "gpu"]]
        assert api.set_paused(admin, name, True)["paused"] is True
    with httpx.Client(base_url=rhub.url, headers={"Authorization": f"Bearer {user['token']}"}) as c:
        resp = c.get("/api/runners")
        assert resp.status_code == 403 and resp.headers["x-error-code"] == "AdminRequired"
        assert c.post("/api/runners", json={"name": "mine"}).status_code == 403
    # a paused runner leases nothing, even a job that it could run
    job = queue(rhub, user, "gpu", nap_notebook(Path(rhub.root) / "p.ipynb"))
    with client(rhub, token) as me:
        assert api.lease(me, wait=0) is None
    rhub.cli("hub", "runner", "resume", name)
    with client(rhub, token) as me:
        leased = api.lease(me, wait=2)
        assert leased is not None and leased["job"]["id"] == job["id"]
        api.fail(me, job["id"], leased["lease"], "test: not run")
    assert "paused" in rhub.cli("hub", "runner", "pause", name).stdout
    rhub.cli("hub", "runner", "remove", name)
    assert name not in rhub.cli("hub", "runner", "list").stdout
    with httpx.Client(base_url=rhub.url, headers={"Authorization": f"Bearer {token}"}) as c:
        resp = c.post("/api/runner/lease", params={"wait": 0}, json={})
        assert resp.status_code == 401 and resp.headers["x-error-code"] == "InvalidToken"
    again = rhub.cli("hub", "runner", "register", name, "--labels", "a b", check=False)
    assert again.returncode == 1 and "Invalid labels" in again.stderr


def test_runner_list_shows_state_online_and_current_jobs(
    rhub: HubProcess, user: dict[str, str], runners: Runners, work: Path
) -> None:
    """``workbench hub runner list`` (table and ``--json``) against a runner running a job:
    online by the API's rule, and the job it holds with its model and dataset."""
    label, name, idle = unique("list").lower(), unique("list-box"), unique("idle-box")
    register(rhub, idle, label)  # registered, never seen: offline
    runners.start(register(rhub, name, label), name)
    job = queue(rhub, user, label, nap_notebook(work / "l.ipynb"), parameters={"nap": 600})
    wait_for(lambda: job_of(rhub, user, job["id"])["state"] == "running")
    listed = {r["name"]: r for r in json.loads(rhub.cli("hub", "runner", "list", "--json").stdout)}
    mine = listed[name]
    assert mine["state"] == "active" and mine["online"] is True and mine["last_seen"], mine
    assert mine["jobs"] == [{"id": job["id"], "model": user["model"], "dataset": user["dataset"]}]
    assert (
        listed[idle]["online"] is False and listed[idle]["jobs"] == [] and listed[idle]["last_seen"] is None
    )
    with client(rhub, rhub.token) as admin:  # the API says the same
        shown = {r["name"]: r for r in api.list_runners(admin)}
    assert shown[name]["online"] is True and shown[name]["jobs"] == [job["id"]]
    assert shown[name]["current_jobs"] == mine["jobs"] and shown[idle]["online"] is False
    rhub.cli("hub", "runner", "pause", idle)
    table = rhub.cli("hub", "runner", "list").stdout
    cells = {row[0]: row for row in (re.split(r"\s{2,}", x) for x in table.splitlines())}
    assert cells[name][1:4] == [label, "active", "yes"], table
    assert cells[name][5] == f"{job['id']} ({user['model']} on {user['dataset']})", table
    assert cells[idle][1:] == [label, "paused", "no"], table
    with client(rhub, user["token"]) as c:
        api.cancel_job(c, job["id"])


# -- tokens: runner endpoints and everything else ------------------------------------------------


def test_tokens_open_only_their_own_doors(rhub: HubProcess, user: dict[str, str]) -> None:
    name = unique("doors")
    label = unique("doors").lower()
    token = register(rhub, name, label)
    user_headers = {"Authorization": f"Bearer {user['token']}"}
    runner_headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=rhub.url, timeout=30) as c:
        # a user token on runner endpoints
        for path in ("/api/runner/lease", "/api/runner/jobs/1/heartbeat", "/api/runner/jobs/1/complete"):
            resp = c.post(path, json={"lease": "x", "record": {}}, headers=user_headers)
            assert resp.status_code == 403, (path, resp.text)
            assert resp.headers["x-error-code"] == "RunnerTokenRequired"
        # a runner token everywhere else: no reads, no writes, no user endpoints
        for method, path in (
            ("GET", "/api/whoami-v2"),
            ("GET", f"/api/models/{user['model']}"),
            ("POST", "/api/repos/create"),
            ("GET", "/api/eval-jobs"),
            ("POST", "/api/evals"),
        ):
            resp = c.request(method, path, json={"name": "x", "type": "model"}, headers=runner_headers)
            assert resp.status_code == 403, (path, resp.text)
            assert resp.headers["x-error-code"] == "RunnerTokenRefused"
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    with pytest.raises(HfHubHTTPError) as refused:
        HfApi(endpoint=rhub.url, token=token).upload_file(
            path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=user["model"]
        )
    assert refused.value.response.status_code == 403
    with client(rhub, user["token"]) as c:
        assert "x.txt" not in c.list_files(user["model"])
    # the job's read token: the pinned repos, read only, while the job runs
    job = queue(rhub, user, label, nap_notebook(Path(rhub.root) / "t.ipynb"))
    with client(rhub, token) as me:
        leased = api.lease(me, wait=5)
    assert leased is not None and leased["read_token"].startswith("wbj_")
    reader = {"Authorization": f"Bearer {leased['read_token']}"}
    with httpx.Client(base_url=rhub.url, headers=reader, timeout=30) as c:
        assert c.get(f"/api/models/{user['model']}").status_code == 200
        assert c.get(f"/api/datasets/{user['dataset']}").status_code == 200
        assert c.get(f"/api/models/{user['other']}").status_code == 404
        assert c.get("/api/eval-jobs").json() == []
        assert c.get("/api/whoami-v2").json()["name"] == f"job-{job['id']}"
        resp = c.post("/api/repos/create", json={"name": "sneaky", "type": "model"})
        assert resp.status_code in (401, 403), resp.text
        blocked = c.post(
            f"/api/models/{user['model']}/commit/main",
            content=b'{"key": "header", "value": {"summary": "x"}}\n',
            headers={"Content-Type": "application/x-ndjson"},
        )
        assert blocked.status_code in (401, 403), blocked.text
    with client(rhub, token) as me:
        api.fail(me, job["id"], leased["lease"], "test: not run")
    with httpx.Client(base_url=rhub.url, headers=reader, timeout=30) as c:  # over with the job
        assert c.get(f"/api/models/{user['model']}").status_code == 401


def test_a_forged_verified_field_is_ignored(rhub: HubProcess, user: dict[str, str]) -> None:
    model = f"{user['name']}/{unique('forged')}"
    with client(rhub, user["token"]) as c:
        c.create_repo(model, private=True)
        model_commit = c.revision_sha(model)
        dataset_commit = c.revision_sha(user["dataset"], type="dataset")
        stored = c.create_eval_run(
            {
                "model": model,
                "dataset": user["dataset"],
                "model_commit": model_commit,
                "dataset_commit": dataset_commit,
                "split": "test",
                "notebook_name": "forged.ipynb",
                "notebook_sha256": "b" * 64,
                "status": "succeeded",
                "metrics": {"accuracy": 0.99},
                "verified": True,
                "verified_by": "trusted-box",
            }
        )
        assert stored["verified"] is False and stored["verified_by"] is None
        assert c.eval_run(stored["id"])["verified"] is False


# -- jobs on real runners ---------------------------------------------------------------------


def test_label_matching(rhub: HubProcess, user: dict[str, str]) -> None:
    gpu, cpu = unique("gpu").lower(), unique("cpu").lower()
    cpu_token = register(rhub, unique("cpu-box"), cpu)
    gpu_token = register(rhub, unique("gpu-box"), gpu, cpu)
    job = queue(rhub, user, gpu, nap_notebook(Path(rhub.root) / "l.ipynb"))
    with client(rhub, cpu_token) as c:
        assert api.lease(c, wait=1) is None
    with client(rhub, gpu_token) as c:
        assert api.lease(c, wait=0, labels=[cpu]) is None  # it offers only cpu now
        leased = api.lease(c, wait=2)
        assert leased is not None and leased["job"]["id"] == job["id"]
        assert leased["job"]["requires"] == [gpu]
        api.fail(c, job["id"], leased["lease"], "test: not run")
    assert job_of(rhub, user, job["id"])["state"] == "failed"


def test_queue_position_and_runners_online(rhub: HubProcess, user: dict[str, str]) -> None:
    label, other = unique("pos").lower(), unique("pos").lower()
    notebook = nap_notebook(Path(rhub.root) / "q.ipynb")

    def online(*labels: str, token: str | None = user["token"]) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        with httpx.Client(base_url=rhub.url, headers=headers) as c:
            return c.get("/api/runners/online", params={"requires": ",".join(labels)})

    assert online(label).json() == {"online": 0, "requires": [label]}
    blocked = queue(rhub, user, other, notebook)  # a label no runner of this test has
    jobs = [queue(rhub, user, label, notebook) for _ in range(3)]
    assert [j["queue_position"] for j in jobs] == [0, 1, 2]
    name = unique("pos-box")
    token = register(rhub, name, label)
    assert online(label).json()["online"] == 0  # registered, never seen
    with client(rhub, token) as me:
        leased = api.lease(me, wait=2)
    assert leased is not None and leased["job"]["id"] == jobs[0]["id"]
    assert leased["job"]["queue_position"] is None
    assert online(label).json()["online"] == 1 and online(label, other).json()["online"] == 0
    assert [job_of(rhub, user, j["id"])["queue_position"] for j in jobs] == [None, 0, 1]
    with client(rhub, user["token"]) as c:
        listed = {j["id"]: j["queue_position"] for j in api.list_jobs(c)}
    assert listed[jobs[2]["id"]] == 1 and listed[blocked["id"]] == 0 and listed[jobs[0]["id"]] is None
    with client(rhub, rhub.token) as admin:
        mine = [x for x in api.list_runners(admin) if x["name"] == name]
        assert mine[0]["online"] is True and mine[0]["jobs"] == [jobs[0]["id"]]
        api.set_paused(admin, name, True)
        assert [x["online"] for x in api.list_runners(admin) if x["name"] == name] == [False]
    assert online(label).json()["online"] == 0
    # a count only, for signed-in users; labels are checked as a job's are
    assert "token" not in online(label).text and name not in online(label).text
    anonymous = online(label, token=None)
    assert anonymous.status_code == 401 and anonymous.headers["x-error-code"] == "TokenRequired"
    bad = online("a b")
    assert bad.status_code == 400 and bad.headers["x-error-code"] == "InvalidLabel"
    with client(rhub, token) as me:
        api.fail(me, jobs[0]["id"], leased["lease"], "test: not run")
    with client(rhub, user["token"]) as c:
        for j in (blocked, *jobs[1:]):
            assert api.cancel_job(c, j["id"])["queue_position"] is None


def test_run_on_hub_end_to_end(rhub: HubProcess, user: dict[str, str], runners: Runners, work: Path) -> None:
    label = unique("e2e").lower()
    name = unique("e2e-box")
    runners.start(register(rhub, name, label), name)
    notebook = nap_notebook(work / "e2e.ipynb")
    env = {"WORKBENCH_TOKEN": user["token"]}
    proc = eval_cli(
        rhub,
        work,
        "eval", "run", "--model", user["model"], "--dataset", user["dataset"],
        "--notebook", str(notebook), "--on", "hub", "--requires", label, "--json",
        env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = as_json(proc)
    assert record["status"] == "succeeded" and record["metrics"] == {"accuracy": 0.5}
    assert record["verified"] is True and record["verified_by"] == name
    assert record["created_by"] == user["name"]
    assert "cell 3/4" in proc.stderr  # the progress streamed cell by cell
    listed = json.loads(eval_cli(rhub, work, "eval", "jobs", "--json", env=env).stdout)
    job = next(j for j in listed if j.get("record") == record["id"])
    assert job["state"] == "succeeded" and job["runner"] == name and job["attempts"] == 1
    with client(rhub, user["token"]) as c:
        events = [e["event"] for e in api.get_job(c, job["id"])["events"]]
        stored = c.eval_run(record["id"])
    assert events[0] == "leased" and "cell_start" in events and events[-1] == "record"
    assert stored["verified"] is True and stored["environment"]["executor"]["runner"] == name
    # the leaderboard: the verified record and a self-reported one side by side
    with client(rhub, user["token"]) as c:
        c.create_eval_run(
            {
                "model": user["model"],
                "dataset": user["dataset"],
                "model_commit": stored["model_commit"],
                "dataset_commit": stored["dataset_commit"],
                "split": "test",
                "notebook_name": "mine.ipynb",
                "notebook_sha256": "c" * 64,
                "status": "succeeded",
                "metrics": {"accuracy": 0.75},
            }
        )
        other = unique("other-model")
        c.create_repo(f"{user['name']}/{other}", private=True)
        c.create_eval_run(
            {
                "model": f"{user['name']}/{other}",
                "dataset": user["dataset"],
                "model_commit": c.revision_sha(f"{user['name']}/{other}"),
                "dataset_commit": stored["dataset_commit"],
                "split": "test",
                "notebook_name": "mine.ipynb",
                "notebook_sha256": "c" * 64,
                "status": "succeeded",
                "metrics": {"accuracy": 0.6},
            }
        )
        everything = c.leaderboard(user["dataset"], metric="accuracy")
        verified = c.leaderboard(user["dataset"], metric="accuracy", verified_only=True)
    ours = {user["model"], f"{user['name']}/{other}"}
    shown = [(e["value"], e["verified"]) for e in everything["entries"] if e["model"] in ours]
    assert shown == [(0.75, False), (0.6, False)]  # each model's best: self-reported ones here
    assert [(e["value"], e["verified"], e["verified_by"]) for e in verified["entries"]] == [(0.5, True, name)]
    text = eval_cli(
        rhub, work, "eval", "leaderboard", user["dataset"], "--metric", "accuracy", env=env
    ).stdout
    assert "self-reported" in text and "verified" not in text.replace("self-reported", "")
    text = eval_cli(
        rhub, work, "eval", "leaderboard", user["dataset"], "--metric", "accuracy", "--verified", env=env
    ).stdout
    assert f"verified ({name})" in text and "self-reported" not in text

    # a reproduction is a runner's re-run; an attached re-run of the owner's is refused
    proc = eval_cli(
        rhub, work, "eval", "reproduce", record["id"], "--on", "hub", "--requires", label, "--json", env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    outcome = as_json(proc)
    assert outcome["status"] == "reproduced" and outcome["reproduced_by"] == f"runner {name}"
    with client(rhub, user["token"]) as c:
        original = c.eval_run(record["id"])
        rerun = c.eval_run(outcome["rerun"])
    assert original["reproduction"] == "reproduced" and original["reproduction_run"] == rerun["id"]
    assert rerun["verified"] is True and rerun["reproduction_of"] == record["id"]
    with httpx.Client(base_url=rhub.url, headers={"Authorization": f"Bearer {user['token']}"}) as c:
        resp = c.post(f"/api/evals/{record['id']}/reproduction", json={"run": rerun["id"]})
    assert resp.status_code == 403 and resp.headers["x-error-code"] == "RunnerRerunRequired"


def test_killed_runner_job_is_leased_again_one_record(
    rhub: HubProcess, user: dict[str, str], runners: Runners, work: Path
) -> None:
    label = unique("kill").lower()
    first, second = unique("doomed"), unique("heir")
    model = f"{user['name']}/{unique('killed')}"
    with client(rhub, user["token"]) as c:
        c.create_repo(model, private=True)
    doomed = runners.start(register(rhub, first, label), first)
    job = queue(rhub, user, label, nap_notebook(work / "kill.ipynb"), model=model, parameters={"nap": 8})
    wait_for(lambda: any(e["event"] == "cell_start" for e in job_of(rhub, user, job["id"])["events"]))
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    runners.start(register(rhub, second, label), second)
    done = wait_for(finished(rhub, user, job["id"]))
    assert done["state"] == "succeeded" and done["runner"] == second and done["attempts"] == 2
    time.sleep(10)  # the killed runner's orphaned run ends; it has nobody to post for it
    records = records_of(rhub, user, model)
    assert [(r["verified_by"], r["status"]) for r in records] == [(second, "succeeded")]


def test_pins_that_no_longer_resolve_fail_with_the_reason(
    rhub: HubProcess, user: dict[str, str], runners: Runners, work: Path
) -> None:
    label = unique("gone").lower()
    model = f"{user['name']}/{unique('gone-model')}"
    dataset = f"{user['name']}/{unique('gone-data')}"
    with client(rhub, user["token"]) as c:
        c.create_repo(model, private=True)
        c.create_repo(dataset, type="dataset", private=True)
        c.upload(dataset, {"data.csv": b"a\n1\n"}, type="dataset", message="data")
        job = queue(rhub, user, label, nap_notebook(work / "gone.ipynb"), model=model, dataset=dataset)
    # the pinned dataset commit goes (a deleted repo cancels its jobs: test_eval_on_push)
    HfApi(endpoint=rhub.url, token=user["token"]).super_squash_history(dataset, repo_type="dataset")
    name = unique("gone-box")
    runners.start(register(rhub, name, label), name)
    done = wait_for(finished(rhub, user, job["id"]))
    assert done["state"] == "failed" and done["record"] is None
    assert "no longer resolve" in done["error"] and dataset in done["error"]
    assert records_of(rhub, user, model) == []


def test_timeout_ends_the_run_and_the_record_says_so(
    rhub: HubProcess, user: dict[str, str], runners: Runners, work: Path
) -> None:
    label = unique("slow").lower()
    name = unique("slow-box")
    runners.start(register(rhub, name, label), name)
    model = f"{user['name']}/{unique('slow-model')}"
    with client(rhub, user["token"]) as c:
        c.create_repo(model, private=True)
    job = queue(
        rhub, user, label, nap_notebook(work / "slow.ipynb"), model=model, parameters={"nap": 600}, timeout=20
    )
    done = wait_for(finished(rhub, user, job["id"]))
    assert done["state"] == "failed" and done["record"]
    with client(rhub, user["token"]) as c:
        record = c.eval_run(done["record"])
    assert record["status"] == "failed" and record["verified"] is True
    assert record["error"]["ename"] == "Timeout" and "Timed out" in record["error"]["message"]


def test_cancel(rhub: HubProcess, user: dict[str, str], runners: Runners, work: Path) -> None:
    label = unique("cancel").lower()
    env = {"WORKBENCH_TOKEN": user["token"]}
    queued = queue(rhub, user, label, nap_notebook(work / "c.ipynb"))
    proc = eval_cli(rhub, work, "eval", "cancel", str(queued["id"]), env=env)
    assert proc.returncode == 0 and "cancelled" in proc.stdout
    again = eval_cli(rhub, work, "eval", "cancel", str(queued["id"]), env=env)
    assert again.returncode == 1 and "only a queued or running job" in again.stderr
    # someone else's job is not found
    _, bob = new_user(rhub)
    with httpx.Client(base_url=rhub.url, headers={"Authorization": f"Bearer {bob}"}) as c:
        for resp in (
            c.post(f"/api/eval-jobs/{queued['id']}/cancel"),
            c.get(f"/api/eval-jobs/{queued['id']}"),
        ):
            assert resp.status_code == 404 and resp.headers["x-error-code"] == "JobNotFound"
    # a running job: the runner stops it and its result is dropped
    name = unique("cancel-box")
    model = f"{user['name']}/{unique('cancel-model')}"
    with client(rhub, user["token"]) as c:
        c.create_repo(model, private=True)
    runners.start(register(rhub, name, label), name)
    running = queue(rhub, user, label, nap_notebook(work / "c2.ipynb"), model=model, parameters={"nap": 600})
    wait_for(lambda: any(e["event"] == "cell_start" for e in job_of(rhub, user, running["id"])["events"]))
    with client(rhub, user["token"]) as c:
        assert api.cancel_job(c, running["id"])["state"] == "cancelled"
        cancelled = [j["id"] for j in api.list_jobs(c, state="cancelled")]
    assert {queued["id"], running["id"]} <= set(cancelled)
    proc = eval_cli(rhub, work, "eval", "jobs", "--state", "cancelled", "--json", env=env)
    listed = json.loads(proc.stdout)
    assert {queued["id"], running["id"]} <= {j["id"] for j in listed}
    assert {j["state"] for j in listed} == {"cancelled"}
    time.sleep(LEASE_SECONDS * 2)
    assert records_of(rhub, user, model) == []
    assert job_of(rhub, user, running["id"])["state"] == "cancelled"


def test_gate_and_notebook_api_on_hub(
    rhub: HubProcess, user: dict[str, str], runners: Runners, work: Path
) -> None:
    label = unique("gate").lower()
    name = unique("gate-box")
    runners.start(register(rhub, name, label, "gpu"), name, "--labels", label)
    notebook = nap_notebook(work / "gate.ipynb")
    env = {"WORKBENCH_TOKEN": user["token"]}
    # wb.evaluate(..., on="hub") and wb.leaderboard(..., verified_only=True), in a Python process
    code = (
        "import json, workbench as wb\n"
        f"r = wb.evaluate({user['model']!r}, {user['dataset']!r}, on='hub', requires=[{label!r}],"
        f" notebook={str(notebook)!r})\n"
        f"board = wb.leaderboard({user['dataset']!r}, metric='accuracy', verified_only=True)\n"
        "print(json.dumps({'status': r.status, 'verified': r.data['verified'], 'by': r.data['verified_by'],"
        " 'rows': board[['verified', 'verified_by']].values.tolist(), 'html': board._repr_html_()}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=work,
        env={**os.environ, "WORKBENCH_HUB_URL": rhub.url, "WORKBENCH_TOKEN": user["token"],
             "XDG_CACHE_HOME": str(work / "cache")},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (out["status"], out["verified"], out["by"]) == ("succeeded", True, name)
    assert out["rows"] and all(v is True for v, _ in out["rows"])
    assert "verified (" in out["html"] and "self-reported" not in out["html"]
    # a gate that asks for verified records: in the spec, or with --verified
    spec = work / "gate.yaml"
    spec.write_text(
        f"verified: true\nrequires: [{label}]\nevaluations:\n"
        f"  - model: {user['model']}\n    dataset: {user['dataset']}\n    notebook: {notebook}\n"
        "    metrics:\n      accuracy: {min: 0.4, max_regression: 0.0}\n"
    )
    proc = eval_cli(rhub, work, "eval", "gate", str(spec), "--json", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    checks = as_json(proc)["checks"]
    assert [c["passed"] for c in checks] == [True]
    with client(rhub, user["token"]) as c:
        assert c.eval_run(checks[0]["run"])["verified_by"] == name
    spec.write_text(
        f"requires: [{label}]\nevaluations:\n"
        f"  - model: {user['model']}\n    dataset: {user['dataset']}\n    notebook: {notebook}\n"
        "    metrics:\n      accuracy: {min: 0.6}\n"
    )
    proc = eval_cli(rhub, work, "eval", "gate", str(spec), "--verified", "--json", env=env)
    assert proc.returncode == 1
    checks = as_json(proc)["checks"]
    assert checks[0]["passed"] is False and "< min 0.6" in checks[0]["message"]
    with client(rhub, user["token"]) as c:
        assert c.eval_run(checks[0]["run"])["verified"] is True


def test_sigterm_hands_the_running_job_back(
    rhub: HubProcess, user: dict[str, str], runners: Runners, work: Path
) -> None:
    label = unique("term").lower()
    name = unique("term-box")
    proc = runners.start(register(rhub, name, label), name)
    job = queue(rhub, user, label, nap_notebook(work / "term.ipynb"), parameters={"nap": 600})
    wait_for(lambda: any(e["event"] == "cell_start" for e in job_of(rhub, user, job["id"])["events"]))
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(120) == 0
    back = job_of(rhub, user, job["id"])
    assert back["state"] == "queued" and back["events"][-1]["event"] == "released"
    with client(rhub, user["token"]) as c:
        assert api.cancel_job(c, job["id"])["state"] == "cancelled"


def test_a_runner_on_a_dask_cluster_runs_two_jobs_at_once(
    rhub: HubProcess, user: dict[str, str], runners: Runners, work: Path
) -> None:
    distributed = pytest.importorskip("distributed")
    label = unique("dask").lower()
    name = unique("dask-box")
    notebook = nap_notebook(work / "dask.ipynb")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address.replace("tcp://", "")
        workers = list(cluster.scheduler_info["workers"])
        token = register(rhub, name, label)
        runners.start(token, name, "--executor", "dask", "--dask-scheduler", address, "--max-jobs", "2")
        jobs = [queue(rhub, user, label, notebook, parameters={"nap": 3}) for _ in range(2)]
        done = [wait_for(finished(rhub, user, j["id"])) for j in jobs]
        # both were leased before either finished: two at once
        leased = [
            next(e["at"] for e in job_of(rhub, user, j["id"])["events"] if e["event"] == "leased")
            for j in jobs
        ]
        ended = [
            next(e["at"] for e in job_of(rhub, user, j["id"])["events"] if e["event"] == "record")
            for j in jobs
        ]
        runners.stop_all()
    assert [d["state"] for d in done] == ["succeeded", "succeeded"]
    assert max(leased) < min(ended)
    with client(rhub, user["token"]) as c:
        for d in done:
            executor = c.eval_run(d["record"])["environment"]["executor"]
            assert executor["kind"] == "dask" and executor["worker"] in workers and executor["runner"] == name
