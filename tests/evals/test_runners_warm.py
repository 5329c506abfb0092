"""A runner's spare processes: the next job runs in a process and kernel started before it.

Real ``workbench runner`` processes against a hub of this module's own (as ``test_runners``).
The processes are read from ``/proc`` through psutil: a spare is the runner's child started
with ``--spare``, its kernel that spare's child.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from tests.evals.test_runners import (
    Runners,
    client,
    finished,
    job_of,
    lease_hub,
    nap_notebook,
    new_user,
    queue,
    register,
    unique,
    wait_for,
)
from tests.support.hub import HubProcess
from workbench.client import runners as api

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def whub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    hub = lease_hub(tmp_path_factory, "warm-hub")
    yield hub
    hub.stop()


@pytest.fixture(scope="module")
def owner(whub: HubProcess) -> dict[str, str]:
    """A user with a private model and dataset (only the job's read token reads them)."""
    name, token = new_user(whub)
    with client(whub, token) as c:
        model, dataset = f"{name}/warm-model", f"{name}/warm-data"
        c.create_repo(model, private=True)
        c.create_repo(dataset, type="dataset", private=True)
        c.upload(model, {"config.json": b"{}"}, message="model")
        c.upload(dataset, {"data.csv": b"a,b\n1,2\n"}, type="dataset", message="data")
    return {"name": name, "token": token, "model": model, "dataset": dataset}


@pytest.fixture
def runners(whub: HubProcess, tmp_path: Path) -> Iterator[Runners]:
    r = Runners(whub, tmp_path)
    yield r
    r.stop_all()


def probe_notebook(path: Path) -> Path:
    """Writes what its kernel saw (pid, parent, token, cwd) to the file ``probe`` names, reads the
    private model with huggingface_hub (the job's token, the hub's endpoint), then reports."""
    params = 'model = "m"\ndataset = "d"\nsplit = "test"\nprobe = ""\n'
    seen = (
        "import json, os, pathlib\n"
        "import huggingface_hub\n"
        "sha = huggingface_hub.HfApi().model_info(model).sha\n"
        "pathlib.Path(probe).write_text(json.dumps({'pid': os.getpid(), 'ppid': os.getppid(),\n"
        "    'token': os.environ.get('WORKBENCH_TOKEN'), 'hf_token': os.environ.get('HF_TOKEN'),\n"
        "    'cwd': os.getcwd(), 'sha': sha}))\n"
    )
    report = (
        "import workbench as wb\nwb.report({'accuracy': 0.5}, model=model, dataset=dataset, split=split)\n"
    )
    nb = new_notebook(
        cells=[
            new_code_cell(params, metadata={"tags": ["parameters"]}),
            new_code_cell(seen),
            new_code_cell(report),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    nbformat.write(nb, path)
    return path


def spares_of(runner: Any) -> dict[int, int]:
    """The runner's processes started as spares (waiting, or running a job) whose kernel runs:
    {spare pid: kernel pid}."""
    found = {}
    for child in psutil.Process(runner.pid).children():
        try:
            if "--spare" in child.cmdline():
                kernels = [k.pid for k in child.children() if "ipykernel" in " ".join(k.cmdline())]
                if kernels:
                    found[child.pid] = kernels[0]
        except psutil.NoSuchProcess:
            continue
    return found


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def run_probe(
    hub: HubProcess, owner: dict[str, str], label: str, tmp_path: Path, name: str
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Queue the probe notebook; its finished job, what its kernel saw, its executed notebook."""
    probe = tmp_path / f"{name}.json"
    job = queue(
        hub, owner, label, probe_notebook(tmp_path / f"{name}.ipynb"), parameters={"probe": str(probe)}
    )
    done = wait_for(finished(hub, owner, job["id"]))
    assert done["state"] == "succeeded", done
    with client(hub, owner["token"]) as c:
        executed = c.eval_notebook(done["record"]).decode()
    return done, json.loads(probe.read_text()), executed


def start_runner(hub: HubProcess, runners: Runners, prefix: str, *extra: str) -> tuple[Any, str]:
    """A runner with a label of its own; the process and the label."""
    label, name = unique(prefix).lower(), unique(f"{prefix}-box")
    return runners.start(register(hub, name, label), name, *extra), label


def test_jobs_run_in_spares_started_before_them_each_in_its_own_kernel(
    whub: HubProcess, owner: dict[str, str], runners: Runners, tmp_path: Path
) -> None:
    runner, label = start_runner(whub, runners, "warm")
    first = wait_for(lambda: spares_of(runner))
    done, seen, executed = run_probe(whub, owner, label, tmp_path, "one")
    # the job ran in the kernel that was waiting before it was queued
    assert [(seen["ppid"], seen["pid"])] == list(first.items())
    # with the job's own read token, which reads the private model, and never in the notebook
    assert seen["token"] and seen["hf_token"] == seen["token"] and seen["token"] != owner["token"]
    assert len(seen["sha"]) == 40
    assert seen["token"] not in executed
    assert seen["cwd"] != str(Path.cwd())
    # a new spare took its place; the next job runs there, never in the first one's kernel
    second = wait_for(lambda: {s: k for s, k in spares_of(runner).items() if s not in first})
    _, seen2, executed2 = run_probe(whub, owner, label, tmp_path, "two")
    assert [(seen2["ppid"], seen2["pid"])] == list(second.items())
    assert seen2["pid"] != seen["pid"] and seen2["token"] not in executed2
    assert all(gone(pid) for pid in [*first, *first.values()])  # used once, then gone
    with client(whub, owner["token"]) as c:
        events = [e["event"] for e in api.get_job(c, done["id"])["events"]]
    assert events[0] == "leased" and "cell_start" in events and events[-1] == "record"


def test_a_spare_that_died_is_replaced_and_the_job_runs(
    whub: HubProcess, owner: dict[str, str], runners: Runners, tmp_path: Path
) -> None:
    runner, label = start_runner(whub, runners, "dead")
    spare, kernel = next(iter(wait_for(lambda: spares_of(runner)).items()))
    psutil.Process(kernel).kill()  # the spare sees its kernel die and exits; the runner replaces it
    fresh = wait_for(lambda: {s: k for s, k in spares_of(runner).items() if s != spare})
    wait_for(lambda: gone(spare) and gone(kernel))
    _, seen, _ = run_probe(whub, owner, label, tmp_path, "after-death")
    assert seen["pid"] not in (spare, kernel) and seen["ppid"] in fresh
    # a spare killed outright (with its kernel's process group) as well
    spare, kernel = next(iter(fresh.items()))
    for pid in (spare, kernel):
        try:
            psutil.Process(pid).kill()
        except psutil.NoSuchProcess:  # the kernel may have seen its parent go first
            pass
    _, seen, _ = run_probe(whub, owner, label, tmp_path, "after-kill")
    assert seen["pid"] != kernel and seen["ppid"] != spare


def test_stop_leaves_no_process_behind(
    whub: HubProcess, owner: dict[str, str], runners: Runners, tmp_path: Path
) -> None:
    runner, label = start_runner(whub, runners, "stop", "--max-jobs", "2")
    wait_for(lambda: len(spares_of(runner)) == 2)
    job = queue(whub, owner, label, nap_notebook(tmp_path / "nap.ipynb"), parameters={"nap": 600})
    wait_for(lambda: any(e["event"] == "cell_start" for e in job_of(whub, owner, job["id"])["events"]))
    # the spare running the job and two waiting (one started in its place), each with its kernel
    wait_for(lambda: len(spares_of(runner)) == 3)
    everything = [p.pid for p in psutil.Process(runner.pid).children(recursive=True)]
    runner.send_signal(signal.SIGTERM)
    assert runner.wait(120) == 0
    wait_for(lambda: all(gone(pid) for pid in everything), timeout=60)
    assert job_of(whub, owner, job["id"])["state"] == "queued"  # handed back
    with client(whub, owner["token"]) as c:
        api.cancel_job(c, job["id"])


def test_no_spares_keeps_no_idle_process_and_still_runs_jobs(
    whub: HubProcess, owner: dict[str, str], runners: Runners, tmp_path: Path
) -> None:
    runner, label = start_runner(whub, runners, "cold", "--no-spares")
    # the runner is up (it asked for a job) with no process of its own waiting
    with client(whub, owner["token"]) as c:
        wait_for(lambda: c.get_json(f"/api/runners/online?requires={label}")["online"] == 1)
    assert psutil.Process(runner.pid).children() == []
    _, seen, executed = run_probe(whub, owner, label, tmp_path, "cold")
    assert seen["token"] and seen["token"] not in executed and len(seen["sha"]) == 40
    assert seen["ppid"] not in spares_of(runner)
    wait_for(lambda: psutil.Process(runner.pid).children() == [])  # the run's process left, none came
