"""Runners: how soon an idle runner starts a queued job, and what a second runner adds.

A real ``workbench hub serve`` and real ``workbench runner`` processes, each pinned to one CPU
(``sched_setaffinity``, which the run's process and its kernel inherit). The jobs evaluate a
three-cell notebook (parameters, ``time.sleep(0)``, ``wb.report``) on a tiny private model and
dataset, so that the figures are the runner's cost, not a model's.

- ``runners_pickup_p95``: from the moment ``POST /api/eval-jobs`` is sent to the runner's first
  ``cell_start`` event (stamped by the runner, same clock), ``PICKUPS`` jobs one after another
  with the runner idle in between: each job finished, and the runner and its processes using
  no CPU for a second (so its spare process, imports done and kernel started, is ready) before
  the next is queued. The note
  splits it: request to lease (the hub's long-poll), lease to first cell (handing the spare its
  spec and its kernel the job's token, pinning the repos, papermill).
- ``runners_throughput_ratio``: ``QUEUED`` jobs queued at once for one runner, then
  ``QUEUED`` more for two runners (CPUs 0 and 1); wall time from the first request to the last
  job finished, one runner over two.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.cpu_split import CpuSplit
from bench.measure import BenchHub, Result

log = logging.getLogger(__name__)

PICKUPS = 20
QUEUED = 40
GOAL_PICKUP_P95_S = 1.0
GOAL_RATIO = 1.8
NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "metadata": {"tags": ["parameters"]},
            "source": 'model = "m"\ndataset = "d"\nsplit = "test"\nnap = 0.0\n',
            "outputs": [],
            "execution_count": None,
            "id": "params",
        },
        {
            "cell_type": "code",
            "metadata": {},
            "source": "import time\ntime.sleep(float(nap))\n",
            "outputs": [],
            "execution_count": None,
            "id": "nap",
        },
        {
            "cell_type": "code",
            "metadata": {},
            "source": "import workbench as wb\n"
            "wb.report({'accuracy': 0.5}, model=model, dataset=dataset, split=split)\n",
            "outputs": [],
            "execution_count": None,
            "id": "report",
        },
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def _q(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100)[pct - 1] if len(values) > 1 else values[0]


class _Runners:
    def __init__(self, hub: BenchHub, work: Path) -> None:
        self.hub, self.work = hub, work
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, label: str, cpu: int) -> None:
        name = f"bench-{label}-{cpu}"
        token = self.hub.process.cli("hub", "runner", "register", name, "--labels", label).stdout.strip()
        cpus = sorted(os.sched_getaffinity(0))
        pinned = {cpus[cpu % len(cpus)]}
        log_file = open(self.work / f"{name}.log", "ab")  # the child keeps its copy
        env = {**self.hub.process.env(), "XDG_CACHE_HOME": str(self.work / "cache")}
        self.procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "workbench", "runner", "--hub", self.hub.url, "--token", token,
                 "--name", name, "--log-level", "warning"],
                stdout=log_file, stderr=subprocess.STDOUT, env=env,
                preexec_fn=lambda: os.sched_setaffinity(0, pinned),
            )
        )  # fmt: skip
        log_file.close()

    def stop(self) -> None:
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs.clear()


def _setup(hub: BenchHub) -> tuple[Any, str, str]:
    from workbench.client import HubClient

    client = HubClient(hub.url, hub.token, progress=False)
    model, dataset = "admin/bench-runner-model", "admin/bench-runner-data"
    client.create_repo(model, private=True)
    client.create_repo(dataset, type="dataset", private=True)
    client.upload(model, {"config.json": b"{}"}, message="model")
    client.upload(dataset, {"data.csv": b"a,b\n1,2\n"}, type="dataset", message="data")
    return client, model, dataset


def _queue(client: Any, model: str, dataset: str, label: str) -> dict[str, Any]:
    import json

    from workbench.client import runners as api

    body = {
        "model": model,
        "dataset": dataset,
        "requires": [label],
        "notebook": {"name": "bench.ipynb", "content": json.dumps(NOTEBOOK)},
    }
    return api.queue_job(client, body)


def _wait_all(client: Any, ids: list[int], timeout: float = 1800) -> list[dict[str, Any]]:
    from workbench.client import runners as api

    end = time.monotonic() + timeout
    pending = set(ids)
    done: dict[int, dict[str, Any]] = {}
    while pending and time.monotonic() < end:
        # the newest jobs are this batch's: listing only those keeps the benchmark's own
        # requests from taking the hub CPU that the runners' jobs need
        for job in api.list_jobs(client, limit=len(ids)):
            if job["id"] in pending and job["state"] in api.FINISHED:
                pending.discard(job["id"])
                done[job["id"]] = job
        if pending:
            time.sleep(0.25)
    if pending:
        raise RuntimeError(f"{len(pending)} jobs did not finish in {timeout} s")
    return [done[i] for i in ids]


def _wait_idle(hub: BenchHub, names: int) -> None:
    """Until ``names`` runners have asked for a job (they are polling, idle)."""
    from workbench.client import runners as api

    with hub.client() as admin:
        end = time.monotonic() + 120
        while time.monotonic() < end:
            seen = [r for r in api.list_runners(admin) if r["last_seen"]]
            if len(seen) >= names:
                time.sleep(1.0)
                return
            time.sleep(0.2)
    raise RuntimeError("the runners did not start")


def _wait_quiet(runner: subprocess.Popen[bytes], timeout: float = 120) -> None:
    """Until the runner and its processes (the spare and its kernel) use no CPU for a second,
    after at least 0.5 s: then the spare that replaced the last job's is ready."""
    import psutil

    def cpu() -> float:
        total = 0.0
        for p in [psutil.Process(runner.pid), *psutil.Process(runner.pid).children(recursive=True)]:
            try:
                times = p.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                continue
        return total

    time.sleep(0.5)
    end = time.monotonic() + timeout
    last = cpu()
    while time.monotonic() < end:
        time.sleep(1.0)
        now = cpu()
        if now - last < 0.05:
            return
        last = now


def _pickups(hub: BenchHub, work: Path, client: Any, model: str, dataset: str) -> Result:
    from workbench.client import runners as api

    label = f"pickup{secrets.token_hex(2)}"
    runners = _Runners(hub, work)
    runners.start(label, 0)
    try:
        _wait_idle(hub, 1)
        total, to_lease, to_cell = [], [], []
        for i in range(PICKUPS + 1):
            sent = time.time()
            job = _queue(client, model, dataset, label)
            done = _wait_all(client, [job["id"]])[0]
            events = api.get_job(client, job["id"])["events"]
            leased = next(e["at"] for e in events if e["event"] == "leased")
            first = next(e["at"] for e in events if e["event"] == "cell_start")
            if done["state"] != "succeeded":
                raise RuntimeError(f"job {job['id']} {done['state']}: {done['error']}")
            if i == 0:
                continue  # warm-up: the first run imports what later runs find in the page cache
            total.append(first - sent)
            to_lease.append(leased - sent)
            to_cell.append(first - leased)
            _wait_quiet(runners.procs[0])  # the runner is idle again: polling, its spare ready
    finally:
        runners.stop()
    p95 = _q(total, 95)
    return Result(
        "runners_pickup_p95",
        p95,
        "s",
        goal=f"<= {GOAL_PICKUP_P95_S:g} s",
        passed=p95 <= GOAL_PICKUP_P95_S,
        note=(
            f"{PICKUPS} jobs one at a time, idle runner on one CPU: request -> first cell_start "
            f"p50 {_q(total, 50):.3f} s, p95 {p95:.3f} s; request -> lease p50 {_q(to_lease, 50):.3f} s, "
            f"p95 {_q(to_lease, 95):.3f} s; lease -> first cell p50 {_q(to_cell, 50):.3f} s, "
            f"p95 {_q(to_cell, 95):.3f} s"
        ),
    )


def _batch(
    hub: BenchHub, work: Path, client: Any, model: str, dataset: str, count: int
) -> tuple[float, dict[str, float]]:
    """Wall seconds for ``QUEUED`` jobs on ``count`` runners, and the CPU seconds the hub, the
    runners (with their job processes and kernels) and the rest of the machine spent."""
    label = f"batch{count}x{secrets.token_hex(2)}"
    runners = _Runners(hub, work)
    for cpu in range(count):
        runners.start(label, cpu)
    try:
        _wait_idle(hub, count)
        assert hub.process.proc is not None
        split = CpuSplit({"hub": [hub.process.proc.pid], "runners": [p.pid for p in runners.procs]})
        before = split.sample()
        start = time.monotonic()
        ids = [_queue(client, model, dataset, label)["id"] for _ in range(QUEUED)]
        jobs = _wait_all(client, ids)
        wall = time.monotonic() - start
        cpu = split.delta(before, split.sample())
    finally:
        runners.stop()
    failed = [j for j in jobs if j["state"] != "succeeded"]
    if failed:
        raise RuntimeError(f"{len(failed)} of {QUEUED} jobs did not succeed: {failed[0]['error']}")
    log.info("runners: %d runner(s), %d jobs in %.1f s, CPU seconds %s", count, QUEUED, wall, cpu)
    return wall, cpu


def _bound(cpu: dict[str, float], cores: int) -> float:
    """The best ratio ``cores`` runners could reach over one with this CPU per job: each job
    needs its runner's CPU on a core of the runner's own, and the hub's and the rest's CPU
    comes out of the same cores."""
    job, shared = cpu["runners"] / QUEUED, (cpu["hub"] + cpu["other"]) / QUEUED
    return min(float(cores), cores * job / (job + shared)) if job else 0.0


def _registered(hub: BenchHub) -> list[dict[str, Any]]:
    from workbench.client import runners as api

    with hub.client() as admin:
        return [r for r in api.list_runners(admin) if not r["paused"]]


def run(work: Path) -> list[Result]:
    work.mkdir(parents=True, exist_ok=True)
    with BenchHub(work / "hub", env={"WORKBENCH_RUNNER_LEASE_SECONDS": "30"}) as hub:
        client, model, dataset = _setup(hub)
        results = [_pickups(hub, work, client, model, dataset)]
        # the runners of a finished phase are removed, so that _wait_idle counts the new ones
        for r in _registered(hub):
            hub.process.cli("hub", "runner", "remove", r["name"])
        one, cpu_one = _batch(hub, work, client, model, dataset, 1)
        for r in _registered(hub):
            hub.process.cli("hub", "runner", "remove", r["name"])
        two, cpu_two = _batch(hub, work, client, model, dataset, 2)
        client.close()
    ratio = one / two
    cpus = len(os.sched_getaffinity(0))
    per_job = {k: round(v / QUEUED, 2) for k, v in cpu_two.items() if k in ("hub", "runners", "other")}
    results.append(
        Result(
            "runners_throughput_ratio",
            ratio,
            "x",
            baseline=one,
            baseline_label=f"{QUEUED} jobs, 1 runner (s)",
            ratio=ratio,
            goal=f">= {GOAL_RATIO:g}",
            passed=ratio >= GOAL_RATIO,
            note=(
                f"{QUEUED} queued jobs: 1 runner {one:.1f} s ({QUEUED / one:.2f} jobs/s), 2 runners "
                f"{two:.1f} s ({QUEUED / two:.2f} jobs/s); each runner pinned to one CPU of {cpus}; "
                f"the hub and this process share those CPUs. CPU s per job with 2 runners {per_job} "
                f"(1 runner: machine {cpu_one['machine']:.0f} s of {cpu_one['seconds'] * cpus:.0f}); "
                f"the bound that CPU allows on {cpus} cores: {_bound(cpu_two, min(2, cpus)):.2f}"
            ),
        )
    )
    return results


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    for r in run(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/wb-bench-runners")):
        print(r.as_dict())
