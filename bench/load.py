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

Then search under load (``search_repos``, 0 to skip): the three processes' database also
holds that many repos of :mod:`bench.search_corpus`, bulk-inserted as ``bench/search.py``
does, and ``HubClient.search`` through nginx is timed for each query kind of that benchmark,
first on the idle hub (the baseline), then while the largest user count's Locust users run.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench import search as search_bench
from bench.cpu_split import CpuSplit
from bench.measure import Result
from bench.search_corpus import KINDS, Corpus
from tests.support.cluster import TeamHub
from tests.support.postgres import PostgresServer, create_database
from tests.support.s3 import S3Server
from workbench.config import HubSettings
from workbench.store.store import Store

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"  # the figures per operation, beside results.json
KNEE_MS = 500.0
REPOS = 8
WEIGHTS = 4_000_000  # bytes: "a few MB" per download
SEARCH_REPOS = 100_000


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


def _users_cmd(
    team: TeamHub, repos: list[str], steps: tuple[int, ...], seconds: float, out: Path
) -> list[str]:
    cmd = [sys.executable, "-m", "bench.load_users", "--host", team.url, "--token", team.token]
    cmd += ["--repos", ",".join(repos), "--users", ",".join(map(str, steps)), "--seconds", str(seconds)]
    return [*cmd, "--out", str(out)]


def _users(
    team: TeamHub,
    groups: dict[str, list[int]],
    repos: list[str],
    steps: tuple[int, ...],
    seconds: float,
    out: Path,
) -> list[Any]:
    """Run the Locust process; the CPU split of each step is sampled on the marks it prints."""
    cmd = _users_cmd(team, repos, steps, seconds, out)
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


def _search_corpus(work: Path, database_url: str, size: int) -> tuple[Corpus, str]:
    """``size`` repos of the search benchmark's corpus in the team's database; a reader's token."""
    store = Store.open(
        HubSettings(data_dir=work / "corpus", database_url=database_url, write_user_config=False)
    )
    try:
        corpus = Corpus(seed=1)
        owners, token = search_bench.accounts(store, corpus)
        with store.read() as s:  # the hub's own repos keep their ids
            first = int(s.scalar(text("SELECT coalesce(max(id), 0) FROM repos")) or 0)
        search_bench.seed(store, corpus, owners, 0, size, first_id=first)
        with store.write() as s:  # the corpus' ids are explicit: repos created later follow them
            s.execute(
                text("SELECT setval(pg_get_serial_sequence('repos', 'id'), (SELECT max(id) FROM repos))")
            )
        search_bench.settle_database(store)
    finally:
        store.close()
    return corpus, token


def search_under_load(
    work: Path, pg: PostgresServer, s3: S3Server, users: int, size: int
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Search latency per kind on three idle processes, then under ``users`` Locust users;
    and Locust's statistics of the loaded window."""
    tag = uuid.uuid4().hex[:10]
    database_url = create_database(pg, f"load_search_{tag}")
    team = TeamHub(work / "search", database_url=database_url, bucket=s3.create_bucket(f"wb-search-{tag}"))
    team.start()
    try:
        corpus, token = _search_corpus(work, database_url, size)
        repos = _seed(team)
        log.info("load: %d search repos seeded; searching on the idle hub", size)
        idle = search_bench.http_latency(team.url, token, corpus)
        ready, stop, out = work / "search-ready", work / "search-stop", work / "search-users.json"
        cmd = [*_users_cmd(team, repos, (users,), 3600, out), "--ready", str(ready), "--stop", str(stop)]
        users_proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL)
        try:
            while not ready.exists():
                if users_proc.poll() is not None:
                    raise RuntimeError(f"bench.load_users exited {users_proc.returncode}")
                time.sleep(0.1)
            log.info("load: searching under %d users", users)
            loaded = search_bench.http_latency(team.url, token, corpus)
        finally:
            stop.write_text("")
            users_proc.wait(timeout=120)
        return idle, loaded, json.loads(out.read_text())[-1]
    finally:
        team.stop()


def _search_results(
    users: int, size: int, idle: dict[str, Any], loaded: dict[str, Any], step: Any
) -> list[Result]:
    out = []
    for kind in KINDS:
        (i50, i95, _), (l50, l95, hits) = idle[kind], loaded[kind]
        out.append(
            Result(
                f"search p95 under load, {kind}, {size // 1000}k repos, 3p {users} users",
                round(l95, 1),
                "ms",
                baseline=round(i95, 1),
                baseline_label="idle hub",
                ratio=round(l95 / i95, 2) if i95 else None,
                goal=f"<= {search_bench.GOAL_MS:.0f} ms",
                passed=l95 <= search_bench.GOAL_MS,
                note=(
                    f"HubClient.search through nginx p50 {l50:.1f} / p95 {l95:.1f} ms under load, "
                    f"idle p50 {i50:.1f} / p95 {i95:.1f} ms; {hits:.0f} matches on average"
                ),
            )
        )
    total = step["operations"]["all"]
    note = json.dumps(step["operations"])
    out.append(Result(f"load 3p {users} users during search", total["rps"], "req/s", note=note))
    out.append(Result(f"load 3p {users} users during search p95", total["p95_ms"] or 0, "ms", note=note))
    return out


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


def run(
    work: Path,
    *,
    steps: tuple[int, ...] = (10, 25, 50),
    seconds: float = 20,
    search_repos: int = SEARCH_REPOS,
) -> list[Result]:
    """The user steps on one and three processes; then search under the largest step's load
    with ``search_repos`` repos (0: not measured)."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    pg, s3 = PostgresServer(), S3Server()
    pg.start()
    searched: list[Result] = []
    try:
        s3.start()
        by_processes = {p: _setup(work, pg, s3, p, steps, seconds) for p in (1, 3)}
        if search_repos:
            users = max(steps)
            idle, loaded, step = search_under_load(work, pg, s3, users, search_repos)
            searched = _search_results(users, search_repos, idle, loaded, step)
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
    return out + searched
