"""Discussion latency: details of a 2,000-comment thread, listing and filtering 500 discussions.

The threads are made through the store's own domain functions (``create_discussion``,
``add_comment``: markdown rendering, mentions and notifications included), then a real
``workbench hub serve`` answers the HF endpoints. Each figure is the p50/p95 of ``REQUESTS``
requests after ``WARMUP``; "server" is the hub's ``Server-Timing: app;dur=`` (the handler:
queries and JSON), "http" the client's wall time. The baseline is a plain repo-info request
(``GET /api/models/{repo}``) in the same run, over HTTP: the ratio says how much heavier a
request is than the lightest one.
"""

from __future__ import annotations

import logging
import shutil
import statistics
import time
from pathlib import Path

import httpx

from bench.measure import Result
from workbench.config import HubSettings
from workbench.store import discussions as disc
from workbench.store.accounts import authenticate, create_token, create_user, get_account, principal_for
from workbench.store.repos import create_repo
from workbench.store.store import Store

log = logging.getLogger(__name__)

COMMENTS = 2_000
DISCUSSIONS = 500
REQUESTS = 200
WARMUP = 20
GOAL_MS = 50.0
AUTHORS = 5


def _seed(root: Path) -> None:
    store = Store.open(HubSettings(data_dir=root / "data", write_user_config=False))
    try:
        with store.write() as s:
            admin = get_account(s, "admin") or create_user(s, "admin", admin=True)
            users = [create_user(s, f"author{i}") for i in range(AUTHORS)]
            for u in users:
                create_token(s, u, "bench")
            p = principal_for(s, admin, "write")
            create_repo(store, s, p, "model", "admin", "talk")
            create_repo(store, s, p, "model", "admin", "forum")
            people = [principal_for(s, u, "write") for u in users]
        with store.write() as s:
            disc.create_discussion(
                store,
                s,
                p,
                ("model", "admin", "talk"),
                title="A long thread",
                description="Let's talk about **epochs**.",
                max_chars=65536,
            )
            for i in range(COMMENTS):
                text = f"Comment {i}: see `cell {i % 7}` and *this* link https://example.org/{i}"
                if i % 50 == 0:
                    text += " @author1"
                disc.add_comment(
                    store, s, people[i % AUTHORS], ("model", "admin", "talk"), 1, text, max_chars=65536
                )
        with store.write() as s:
            for i in range(DISCUSSIONS):
                who = people[i % AUTHORS]
                d, _ = disc.create_discussion(
                    store,
                    s,
                    who,
                    ("model", "admin", "forum"),
                    title=f"Topic {i}",
                    description=f"Body of topic {i}",
                    max_chars=65536,
                    pull_request=i % 5 == 0,
                )
                if i % 3 == 0:
                    d.status = "closed"
    finally:
        store.close()


def _time(
    http: httpx.Client,
    url: str,
    params: dict[str, str] | None = None,
    *,
    before: str | None = None,
    requests: int = REQUESTS,
) -> tuple[float, float, float, float]:
    """(server p50, server p95, http p50, http p95) in ms.

    ``before``: a comment URL posted to (untimed) before each request, so every request
    reads a thread that just changed (the hub's details cache misses).
    """
    server, wall = [], []
    for i in range(WARMUP + requests):
        if before:
            http.post(before, json={"comment": f"one more, {i}"}).raise_for_status()
        t0 = time.perf_counter()
        r = http.get(url, params=params)
        elapsed = (time.perf_counter() - t0) * 1000
        r.raise_for_status()
        if i < WARMUP:
            continue
        wall.append(elapsed)
        timing = r.headers.get("server-timing", "")
        if "dur=" in timing:
            server.append(float(timing.split("dur=")[1].split(";")[0]))
    q = statistics.quantiles
    s50, s95 = (q(server, n=100)[49], q(server, n=100)[94]) if server else (float("nan"),) * 2
    return s50, s95, q(wall, n=100)[49], q(wall, n=100)[94]


def run(root: Path) -> list[Result]:
    from tests.support.hub import HubProcess

    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    t0 = time.perf_counter()
    hub = HubProcess(root, env={"WORKBENCH_LOG_LEVEL": "warning"}).start()
    hub.stop()  # first start made the admin user and its token; seed with the hub stopped
    _seed(root)
    log.info(
        "seeded %d comments and %d discussions in %.1f s", COMMENTS, DISCUSSIONS, time.perf_counter() - t0
    )
    hub.start()
    results: list[Result] = []
    try:
        store = Store.open(HubSettings(data_dir=root / "data", write_user_config=False))
        with store.read() as s:
            assert authenticate(s, hub.token).name == "admin"
        store.close()
        with httpx.Client(
            base_url=hub.url, headers={"Authorization": f"Bearer {hub.token}"}, timeout=60
        ) as http:
            _b50, _b95, base50, base95 = _time(http, "/api/models/admin/talk")
            cases: list[tuple[str, str, dict[str, str], str | None]] = [
                (
                    "details, 2,000 comments, just changed",
                    "/api/models/admin/talk/discussions/1",
                    {"diff": "1"},
                    "/api/models/admin/talk/discussions/1/comment",
                ),
                ("details, 2,000 comments", "/api/models/admin/talk/discussions/1", {"diff": "1"}, None),
                ("list 500, first page", "/api/models/admin/forum/discussions", {"p": "0"}, None),
                ("list 500, page 5", "/api/models/admin/forum/discussions", {"p": "5"}, None),
                (
                    "list 500, filtered",
                    "/api/models/admin/forum/discussions",
                    {"status": "open", "type": "pull_request", "author": "author0"},
                    None,
                ),
            ]
            for label, url, params, before in cases:
                s50, s95, h50, h95 = _time(
                    http, url, params, before=before, requests=REQUESTS // 2 if before else REQUESTS
                )
                log.info(
                    "%s: server p50 %.1f p95 %.1f ms; http p50 %.1f p95 %.1f ms", label, s50, s95, h50, h95
                )
                results.append(
                    Result(
                        f"discussions: {label} (server p95)",
                        s95,
                        "ms",
                        goal=f"p95 <= {GOAL_MS:.0f} ms",
                        passed=s95 <= GOAL_MS,
                        note=f"server p50 {s50:.1f} ms",
                    )
                )
                results.append(
                    Result(
                        f"discussions: {label} (http p95)",
                        h95,
                        "ms",
                        base95,
                        "repo info http p95",
                        h95 / base95,
                        note=f"http p50 {h50:.1f} ms, repo info p50 {base50:.1f} ms",
                    )
                )
    finally:
        hub.stop()
        shutil.rmtree(root, ignore_errors=True)
    return results
