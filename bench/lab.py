"""JupyterLab with the Workbench extension in headless Chromium, against a hub with 10k repos.

A hub data folder gets the demo content plus 10,000 repos (bulk inserts through the store,
as :mod:`bench.search` does), and a real ``jupyter lab`` starts it as its embedded hub.
``bench/lab_browser.js`` (playwright-core, Debian's chromium) then measures:

* open: page load to the Workbench sidebar showing results; baseline: JupyterLab itself
  ready (splash gone), so the ratio is what the sidebar adds on top of opening JupyterLab.
* query: last keystroke of a typed query to the sidebar showing that query's results
  (p50/p95 over the queries; goal p95 <= 300 ms); baseline: the same search fetched by the
  page through the proxy (hub + proxy, no UI).
* click: clicking a result to its card rendered through the sanitizer; baseline: the
  five requests a repo page makes, fetched by the page directly.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench.measure import Result
from bench.search import accounts, seed
from bench.search_corpus import Corpus
from workbench.config import HubSettings
from workbench.jupyter.embedded import ensure_token, free_port
from workbench.store.store import Store

ROOT = Path(__file__).resolve().parent.parent
REPOS = 10_000
GOAL_MS = 300.0
QUERIES = [
    "bert",
    "image",
    "sentiment",
    "translation",
    "tiny",
    "iris",
    "speech",
    "vision",
    "summarization",
    "token",
    "classifier",
    "llama",
    "detection",
    "audio",
    "graph",
    "question",
    "embedding",
    "segmentation",
    "code",
    "math",
    "chat",
    "medical",
    "legal",
    "finance",
    "robot",
    "weather",
    "music",
    "video",
    "table",
    "reward",
]


def _p(times: list[float], q: int) -> float:
    return statistics.quantiles(times, n=100, method="inclusive")[q - 1] if len(times) > 1 else times[0]


def _seed(data: Path, repos: int) -> None:
    ensure_token(data)  # the admin user first: the embedded hub's token belongs to it
    options: dict[str, object] = {"data_dir": data, "write_user_config": False}
    store = Store.open(HubSettings(**options))  # type: ignore[arg-type]
    try:
        corpus = Corpus(seed=7)
        owners, _ = accounts(store, corpus)
        seed(store, corpus, owners, 0, repos)
    finally:
        store.close()


@contextlib.contextmanager
def lab_server(work: Path, data: Path, *, demo: bool = False) -> Iterator[tuple[str, str, dict[str, str]]]:
    """A real ``jupyter lab`` in ``work`` whose embedded hub keeps its data in ``data``:
    its URL, its token and the environment for a browser script, once the hub answers
    (and, with ``demo``, once the demo content is in)."""
    (work / "root").mkdir(parents=True, exist_ok=True)
    port, token = free_port(), "bench-lab-token"
    env = {
        **os.environ,
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_UPDATE_DOWNLOAD_COUNTS": "0",
        "JUPYTER_RUNTIME_DIR": str(work / "runtime"),
        "XDG_CONFIG_HOME": str(work / "config"),
    }
    env.pop("WORKBENCH_HUB_URL", None)
    env.pop("WORKBENCH_TOKEN", None)
    log = open(work / "lab.log", "wb")  # closed in the finally below
    lab = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--allow-root",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={work / 'root'}",
            f"--Workbench.data_dir={data}",
            f"--Workbench.demo={demo}",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            if lab.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"jupyter lab did not start; see {work / 'lab.log'}")
            try:
                status = httpx.get(f"{url}/workbench/status?token={token}", timeout=5).json()
                if status["reachable"] and (not demo or status["demo"] == "ready"):
                    break
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            time.sleep(0.5)
        yield url, token, {**env, "WB_LAB_URL": url, "WB_LAB_TOKEN": token}
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        lab.wait(60)
        log.close()


def browser(script: str, env: dict[str, str]) -> dict[str, Any]:
    """Run ``bench/<script>`` (playwright-core, Debian's chromium): the JSON it prints last."""
    done = subprocess.run(
        ["node", str(ROOT / "bench" / script)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{script} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run(work: Path, *, repos: int = REPOS) -> list[Result]:
    shutil.rmtree(work, ignore_errors=True)
    data = work / "hub"
    (work / "root").mkdir(parents=True)
    _seed(data, repos)
    with lab_server(work, data, demo=True) as (_url, _token, env):
        t = browser("lab_browser.js", {**env, "WB_QUERIES": json.dumps(QUERIES)})
    open_ms, ready_ms = statistics.median(t["open"]), statistics.median(t["labReady"])
    q50, q95 = statistics.median(t["query"]), _p(t["query"], 95)
    f50, f95 = statistics.median(t["queryFetch"]), _p(t["queryFetch"], 95)
    c50, cf50 = statistics.median(t["click"]), statistics.median(t["clickFetch"])
    note = f"{repos} repos + demo, {len(QUERIES)} typed queries, {len(t['click'])} clicks"
    return [
        Result(
            "lab: open -> sidebar results (median)",
            open_ms,
            "ms",
            ready_ms,
            "JupyterLab ready",
            open_ms / ready_ms,
            note=note,
        ),
        Result("lab: typed query -> results p50", q50, "ms", f50, "fetch p50", q50 / f50, note=note),
        Result(
            "lab: typed query -> results p95",
            q95,
            "ms",
            f95,
            "fetch p95",
            q95 / f95,
            f"<= {GOAL_MS:.0f} ms",
            q95 <= GOAL_MS,
            note=note,
        ),
        Result("lab: click result -> card (median)", c50, "ms", cf50, "its requests", c50 / cf50, note=note),
    ]
