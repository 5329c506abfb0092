"""Permission overhead: the file and info endpoints on a private org repo vs a public one.

Two repos with the same files under one organization, one public and one private; the same
user (a 'read' member of the org, not a hub admin, so access goes through the membership)
asks for both with one token: repo info, the file tree, and a file (GET and HEAD of
``/resolve``). Requests alternate public/private so that drift hits both alike; each figure
is the median (and p95) client wall time of ``REQUESTS`` requests after ``WARMUP``. The
baseline is the public repo in the same run; the ratio private/public should stay ≤ 1.10.
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
from workbench.store.accounts import create_org, create_token, create_user, get_account, set_membership

log = logging.getLogger(__name__)

REQUESTS = 400
WARMUP = 40
GOAL = 1.10
ORG = "team"


def _seed(root: Path) -> str:
    """The org, the member and its token (the repos are made over HTTP afterwards)."""
    from workbench.store.store import Store

    store = Store.open(HubSettings(data_dir=root / "data", write_user_config=False))
    try:
        with store.write() as s:
            assert get_account(s, "admin") is not None
            member = create_user(s, "member")
            org = create_org(s, ORG)
            set_membership(s, org, member, "read")
            return create_token(s, member, "bench", scope="read")
    finally:
        store.close()


def _make_repos(url: str, admin_token: str) -> None:
    from workbench.client import HubClient

    files = {
        "README.md": b"---\nlicense: mit\n---\n# A model\n",
        "config.json": b'{"hidden": 64}',
        **{f"weights/part-{i}.bin": bytes([i]) * 4096 for i in range(20)},
    }
    with HubClient(url, admin_token, progress=False) as hub:
        for name, private in (("public-repo", False), ("private-repo", True)):
            hub.create_repo(f"{ORG}/{name}", private=private)
            hub.upload(f"{ORG}/{name}", files, message="files")


def _median_p95(samples: list[float]) -> tuple[float, float]:
    return statistics.median(samples), statistics.quantiles(samples, n=100)[94]


def _measure(http: httpx.Client, method: str, public: str, private: str) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"public": [], "private": []}
    for i in range(WARMUP + REQUESTS):
        order = (
            (("public", public), ("private", private))
            if i % 2
            else (("private", private), ("public", public))
        )
        for label, url in order:
            t0 = time.perf_counter()
            r = http.request(method, url)
            elapsed = (time.perf_counter() - t0) * 1000
            r.raise_for_status()
            if i >= WARMUP:
                times[label].append(elapsed)
    return times


def run(root: Path) -> list[Result]:
    from tests.support.hub import HubProcess

    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    hub = HubProcess(root, env={"WORKBENCH_LOG_LEVEL": "warning"}).start()
    hub.stop()  # the first start made the admin user and its token; seed with the hub stopped
    token = _seed(root)
    hub.start()
    results: list[Result] = []
    try:
        _make_repos(hub.url, hub.token)
        cases = [
            ("info", "GET", "/api/models/{}"),
            ("tree", "GET", "/api/models/{}/tree/main"),
            ("file GET", "GET", "/{}/resolve/main/config.json"),
            ("file HEAD", "HEAD", "/{}/resolve/main/config.json"),
        ]
        with httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
            assert http.get(f"/api/models/{ORG}/private-repo").json()["private"] is True
            for label, method, shape in cases:
                times = _measure(
                    http, method, shape.format(f"{ORG}/public-repo"), shape.format(f"{ORG}/private-repo")
                )
                pub50, pub95 = _median_p95(times["public"])
                pri50, pri95 = _median_p95(times["private"])
                ratio = pri50 / pub50
                log.info(
                    "%s: public p50 %.2f p95 %.2f ms; private p50 %.2f p95 %.2f ms",
                    label,
                    pub50,
                    pub95,
                    pri50,
                    pri95,
                )
                results.append(
                    Result(
                        f"permissions: {label}, private org repo (p50)",
                        pri50,
                        "ms",
                        pub50,
                        "public repo p50",
                        ratio,
                        goal=f"<= {GOAL:.2f} x public",
                        passed=ratio <= GOAL,
                        note=f"p95 private {pri95:.2f} ms vs public {pub95:.2f} ms; {REQUESTS} "
                        "requests each, alternating, by a 'read' member of the org",
                    )
                )
    finally:
        hub.stop()
        shutil.rmtree(root, ignore_errors=True)
    return results
