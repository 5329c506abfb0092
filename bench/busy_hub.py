"""The hub's request latency while it converts a large dataset, against the same hub idle.

A push to a dataset repo's ``main`` queues the viewer's jobs (Parquet conversion, column
statistics, full-text search index), which the hub's job workers run in the background. This
benchmark pushes the ``load_dataset`` table (1,000,000 rows x 10 columns, 62 MB of Parquet)
and sends authenticated requests (``GET /api/whoami-v2``: token check and one read
transaction, what every call pays) one after another on one keep-alive connection until the
jobs are done; then the same requests for as long against the idle hub. Two rounds (the
second push is a new commit of the same table under another name). p50, p95 and the slowest
request of each side, and how long the jobs took.
"""

from __future__ import annotations

import http.client
import logging
import statistics
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench.load_dataset import CARD, make_table
from bench.measure import BenchHub, Result, viewer_busy

log = logging.getLogger(__name__)


def _requests(conn: http.client.HTTPConnection, token: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        conn.request("GET", "/api/whoami-v2", headers={"Authorization": f"Bearer {token}"})
        resp = conn.getresponse()
        resp.read()
        out.append(time.perf_counter() - start)
        if resp.status != 200:
            raise RuntimeError(f"whoami answered {resp.status}")
    return out


def _summary(times: list[float]) -> tuple[float, float, float]:
    p95 = statistics.quantiles(times, n=20, method="inclusive")[18]
    return statistics.median(times) * 1000, p95 * 1000, max(times) * 1000


def run(work: Path, rows: int = 1_000_000, rounds: int = 2) -> list[Result]:
    table = make_table(work / "src" / "table.parquet", rows)
    busy: list[float] = []
    idle: list[float] = []
    took = []
    with BenchHub(work / "hub") as hub, hub.client() as client:
        repo = f"{client.whoami()['name']}/busy-table"
        client.create_repo(repo, type="dataset", exist_ok=True)
        url = urlsplit(hub.url)
        conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port)
        _requests(conn, hub.token, 50)  # warm-up
        for n in range(rounds):
            name = f"data/train-{n:05d}-of-{rounds:05d}.parquet"
            start = time.perf_counter()
            client.upload(
                repo,
                {
                    name: table,
                    "README.md": CARD.replace(
                        b"train-00000-of-00001", f"train-{n:05d}-of-{rounds:05d}".encode()
                    ),
                },
                type="dataset",
                message=f"round {n}",
            )
            during = []
            while viewer_busy(client, repo):
                during += _requests(conn, hub.token, 20)
            took.append(time.perf_counter() - start)
            busy += during
            idle += _requests(conn, hub.token, max(200, len(during)))
            log.info(
                "round %d: jobs took %.1f s; %d requests during them, p50/p95/max %s ms; idle %s ms",
                n + 1,
                took[-1],
                len(during),
                "/".join(f"{x:.1f}" for x in _summary(during)),
                "/".join(f"{x:.1f}" for x in _summary(idle[-len(during) :])),
            )
        conn.close()
    b50, b95, bmax = _summary(busy)
    i50, i95, imax = _summary(idle)
    note = (
        f"{rows:,}-row table pushed {rounds} times; GET /api/whoami-v2 back to back: while "
        f"the viewer's jobs ran p50 {b50:.1f} / p95 {b95:.1f} / max {bmax:.1f} ms ({len(busy)} "
        f"requests), idle p50 {i50:.1f} / p95 {i95:.1f} / max {imax:.1f} ms; jobs took "
        + ", ".join(f"{t:.1f} s" for t in took)
    )
    log.info("%s", note)
    return [
        Result(
            "hub p95 while converting",
            round(b95, 1),
            "ms",
            round(i95, 1),
            "idle ms",
            round(b95 / i95, 2),
            "",
            None,
            note,
        ),
        Result(
            "hub slowest request while converting",
            round(bmax, 1),
            "ms",
            round(imax, 1),
            "idle ms",
            round(bmax / imax, 2),
            "",
            None,
            note,
        ),
    ]
