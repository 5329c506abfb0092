"""A team's load on the deployment of docs/deploy.md: Locust users through nginx.

The setup is the one ``tests/hub/test_three_processes.py`` proves (``tests.support.cluster``:
``workbench hub serve`` processes with their own data folders, one PostgreSQL database, one
S3 bucket on moto's server, nginx configured from docs/deploy.md). It is seeded with model
repos (a card, a config, 4 MB of weights through git-LFS, a discussion), then Locust's
users (``bench/load_users.py``, in a child process) search, open repo pages and tree
listings, download the weights, comment and commit small files, with 0.5-1.5 s of think
time between two actions, for ``seconds`` at each user count.

Each step reports requests/s, p50/p95/p99 per operation and errors; the knee is the first
user count where the p95 of all requests passes 500 ms. The baseline is the same load on one
process behind the same nginx, set up the same way in the same run. Each step also reports
the CPU seconds that the hubs, nginx, PostgreSQL, moto's server and the Locust process spent
over its window (``bench.cpu_split``), and what the rest of the machine spent meanwhile.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from bench.cpu_split import CpuSplit
from bench.measure import Result
from tests.support.cluster import TeamHub
from tests.support.postgres import PostgresServer, create_database
from tests.support.s3 import S3Server

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"  # the figures per operation, beside results.json
KNEE_MS = 500.0
REPOS = 8
WEIGHTS = 4_000_000  # bytes: "a few MB" per download


def _seed(team: TeamHub) -> list[str]:
    from huggingface_hub import CommitOperationAdd, HfApi, constants

    api = HfApi(endpoint=team.url, token=team.token)
    xet, constants.HF_HUB_DISABLE_XET = constants.HF_HUB_DISABLE_XET, True  # plain /resolve downloads
    repos = []
    try:
        for i in range(REPOS):
            repo = api.create_repo(f"admin/checkpoint-{i}").repo_id
            files = {
                "README.md": f"---\nlicense: mit\n---\n# Checkpoint {i}\n\nA classifier.\n".encode(),
                "config.json": json.dumps({"hidden": 64 * (i + 1)}).encode(),
                "weights.bin": os.urandom(WEIGHTS),
                **{f"logs/epoch-{e}.txt": f"epoch {e} loss {1 / (e + 1):.3f}\n".encode() for e in range(10)},
            }
            ops = [CommitOperationAdd(path_in_repo=k, path_or_fileobj=v) for k, v in files.items()]
            api.create_commit(repo, operations=ops, commit_message="first checkpoint")
            api.create_discussion(repo, title="Review before release")
            repos.append(repo)
    finally:
        constants.HF_HUB_DISABLE_XET = xet
    return repos


def _users(
    team: TeamHub,
    groups: dict[str, list[int]],
    repos: list[str],
    steps: tuple[int, ...],
    seconds: float,
    out: Path,
) -> list[Any]:
    """Run the Locust process; the CPU split of each step is sampled on the marks it prints."""
    cmd = [sys.executable, "-m", "bench.load_users", "--host", team.url, "--token", team.token]
    cmd += ["--repos", ",".join(repos), "--users", ",".join(map(str, steps)), "--seconds", str(seconds)]
    cmd += ["--out", str(out)]
    splits: dict[int, dict[str, float]] = {}
    with subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        split = CpuSplit({**groups, "locust": [proc.pid]})
        start = split.sample()
        for line in proc.stdout:
            mark, _, users = line.strip().partition(" ")
            if mark == "step-start":
                start = split.sample()
            elif mark == "step-end":
                splits[int(users)] = split.delta(start, split.sample())
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    results = list(json.loads(out.read_text()))
    for step in results:
        step["cpu"] = splits.get(step["users"], {})
    return results


def _setup(
    work: Path, pg: PostgresServer, s3: S3Server, processes: int, steps: tuple[int, ...], seconds: float
) -> list[Any]:
    tag = uuid.uuid4().hex[:10]
    database_url = create_database(pg, f"load_{processes}p_{tag}")
    bucket = s3.create_bucket(f"wb-load-{processes}p-{tag}")
    team = TeamHub(work / f"{processes}p", database_url=database_url, bucket=bucket, processes=processes)
    team.start()
    try:
        repos = _seed(team)
        log.info("load: %d process(es) behind %s, %d repos seeded", processes, team.url, len(repos))
        groups = {
            "hubs": sorted(team.pids()),
            "nginx": [team.proxy.proc.pid] if team.proxy.proc else [],
            "postgres": [pg.pid],
            "moto": [s3.proc.pid] if s3.proc else [],
        }
        return _users(team, groups, repos, steps, seconds, work / f"{processes}p.json")
    finally:
        team.stop()


def table(processes: int, results: list[Any]) -> str:
    """Per operation and user count: req/s, p50/p95/p99 in ms, errors (for bench/README.md)."""
    lines = [f"{processes} process(es)  users  operation   req/s    p50    p95    p99  errors"]
    for step in results:
        for name, op in step["operations"].items():
            p50, p95, p99 = (
                f"{op[k]:.0f}" if op[k] is not None else "-" for k in ("p50_ms", "p95_ms", "p99_ms")
            )
            lines.append(
                f"{'':14}  {step['users']:>5}  {name:<10} {op['rps']:>6.1f}"
                f" {p50:>6} {p95:>6} {p99:>6} {op['errors']:>7}"
            )
    return "\n".join(lines)


def cpu_table(processes: int, results: list[Any]) -> str:
    """CPU seconds per process group over each step, and cores busy (for bench/README.md)."""
    names = ["hubs", "nginx", "postgres", "moto", "locust", "other", "machine"]
    lines = [f"{processes} process(es)  users  " + "  ".join(f"{n:>8}" for n in names) + "  seconds"]
    for step in results:
        cpu = step.get("cpu") or {}
        cells = "  ".join(f"{cpu.get(n, 0):>8.1f}" for n in names)
        lines.append(f"{'':14}  {step['users']:>5}  {cells}  {cpu.get('seconds', 0):>7.1f}")
    return "\n".join(lines)


def _knee(results: list[Any]) -> int | None:
    return next((s["users"] for s in results if (s["operations"]["all"]["p95_ms"] or 0) > KNEE_MS), None)


def run(work: Path, *, steps: tuple[int, ...] = (10, 25, 50), seconds: float = 20) -> list[Result]:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    pg, s3 = PostgresServer(), S3Server()
    pg.start()
    try:
        s3.start()
        by_processes = {p: _setup(work, pg, s3, p, steps, seconds) for p in (1, 3)}
    finally:
        s3.stop()
        pg.stop()
    out: list[Result] = []
    for processes, results in by_processes.items():
        log.info("load:\n%s", table(processes, results))
        log.info("load, CPU seconds per process group:\n%s", cpu_table(processes, results))
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / f"load-{processes}p.json").write_text(json.dumps(results, indent=2) + "\n")
        for step in results:
            total = step["operations"]["all"]
            prefix = f"load {processes}p {step['users']} users"
            note = json.dumps(step["operations"])
            out.append(Result(f"{prefix}", total["rps"], "req/s", note=note))
            out.append(Result(f"{prefix} p95", total["p95_ms"] or 0, "ms", note=note))
            errors = total["errors"]
            out.append(Result(f"{prefix} errors", errors, "requests", goal="== 0", passed=errors == 0))
            cpu, requests = step.get("cpu") or {}, total["requests"]
            if cpu.get("seconds") and requests:
                per_request = 1000 * cpu["hubs"] / requests  # the split itself is in the note
                out.append(Result(f"{prefix} hub CPU per request", per_request, "ms", note=json.dumps(cpu)))
        knee = _knee(results)
        out.append(
            Result(
                f"load {processes}p knee (p95 > {KNEE_MS:.0f} ms)",
                knee or max(steps),
                "users" if knee else "users: not reached",
                note="first user count whose p95 over all requests passes 500 ms",
            )
        )
    one, three = by_processes[1][-1]["operations"]["all"], by_processes[3][-1]["operations"]["all"]
    out.append(
        Result(
            f"load 3p vs 1p at {max(steps)} users",
            three["rps"],
            "req/s",
            baseline=one["rps"],
            baseline_label="1 process",
            ratio=three["rps"] / one["rps"] if one["rps"] else None,
        )
    )
    return out
