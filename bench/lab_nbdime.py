"""A notebook pull request's diff rendered in the lab by nbdime's widget (issue 28's measure).

The two 500-cell notebooks with outputs of :mod:`bench.notebook_diff` go to a repo of a real
``jupyter lab``'s embedded hub: the old one on ``main``, the new one on a pull request.
``bench/lab_nbdime_browser.js`` (playwright-core, Debian's chromium) then opens the repo page,
clicks the pull request in its Discussions tab and measures, over ``RUNS`` runs:

* click -> the diff rendered: the hub's structured diff fetched and nbdime's widgets drawn
  for the cells in view (the lab draws the others as they scroll near; goal p95 <= 1 s);
* click -> the first changed cell drawn.

The first run (a fresh browser profile: the lab's and nbdime's scripts not cached yet) is
reported on a row of its own; the percentiles are over the ``RUNS`` runs after it.

The baseline, in the same runs and page, is the same (new) notebook double-clicked in the file
browser to its first output drawn: what opening the notebook itself costs in this lab.
"""

from __future__ import annotations

import base64
import json
import shutil
import statistics
from pathlib import Path

import httpx

from bench.lab import browser, lab_server
from bench.measure import Result
from bench.notebook_diff import CELLS, notebooks

RUNS = 5  # after the first, cold one
GOAL_MS = 1000.0
REPO = "admin/nb-review"


def _p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=100, method="inclusive")[94] if len(xs) > 1 else xs[0]


def _commit(hub: httpx.Client, rev: str, data: bytes, summary: str) -> None:
    lines = [
        {"key": "header", "value": {"summary": summary}},
        {
            "key": "file",
            "value": {"path": "eval.ipynb", "content": base64.b64encode(data).decode(), "encoding": "base64"},
        },
    ]
    r = hub.post(
        f"/api/models/{REPO}/commit/{rev.replace('/', '%2F')}",
        content="".join(json.dumps(line) + "\n" for line in lines),
        headers={"Content-Type": "application/x-ndjson"},
    )
    r.raise_for_status()


def _pull_request(url: str, token: str, old: bytes, new: bytes) -> int:
    """The repo with ``old`` on main and a pull request bringing ``new``, through the lab's
    proxy to its embedded hub: the pull request's number."""
    auth = {"Authorization": f"token {token}"}
    with httpx.Client(base_url=f"{url}/workbench/hub", headers=auth, timeout=120) as hub:
        created = hub.post("/api/repos/create", json={"name": REPO.split("/")[1], "organization": None})
        created.raise_for_status()
        _commit(hub, "main", old, "500 cells")
        opened = hub.post(
            f"/api/models/{REPO}/discussions",
            json={"title": "Edit the evaluation", "description": "Benchmark.", "pullRequest": True},
        )
        opened.raise_for_status()
        _commit(hub, opened.json()["ref"], new, "edits")
        return int(opened.json()["num"])


def run(work: Path) -> list[Result]:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    old, new = notebooks()
    with lab_server(work, work / "hub") as (url, token, env):
        (work / "root" / "eval.ipynb").write_bytes(new)
        num = _pull_request(url, token, old, new)
        runs = str(RUNS + 1)
        env = {**env, "WB_REPO": REPO, "WB_PR": str(num), "WB_NOTEBOOK": "eval.ipynb", "WB_RUNS": runs}
        t = browser("lab_nbdime_browser.js", env)
    shutil.rmtree(work, ignore_errors=True)
    cold, cold_nb = t["diffFull"][0], t["notebookFirst"][0]
    warm = {key: t[key][1:] for key in ("diffFull", "diffFirst", "notebookFirst")}
    full50, full95 = statistics.median(warm["diffFull"]), _p95(warm["diffFull"])
    first50 = statistics.median(warm["diffFirst"])
    nb50, nb95 = statistics.median(warm["notebookFirst"]), _p95(warm["notebookFirst"])
    note = f"{CELLS} cells, {len(new) // 1000} kB each, {t['cells']} cells drawn by nbdime; {RUNS} runs"
    base = "same notebook opened in the lab, p50"
    return [
        Result(
            f"lab: PR diff of two {CELLS}-cell notebooks, click -> rendered, first run (cold)",
            cold,
            "ms",
            cold_nb,
            "same notebook opened, first run",
            cold / cold_nb,
            note=note,
        ),
        Result(
            f"lab: PR diff of two {CELLS}-cell notebooks, click -> rendered p50",
            full50,
            "ms",
            nb50,
            base,
            full50 / nb50,
            note=note,
        ),
        Result(
            f"lab: PR diff of two {CELLS}-cell notebooks, click -> rendered p95",
            full95,
            "ms",
            nb95,
            "same notebook opened in the lab, p95",
            full95 / nb95,
            goal=f"p95 <= {GOAL_MS:.0f} ms",
            passed=full95 <= GOAL_MS,
            note=note,
        ),
        Result(
            f"lab: PR diff of two {CELLS}-cell notebooks, click -> first changed cell p50",
            first50,
            "ms",
            nb50,
            base,
            first50 / nb50,
            note=note,
        ),
    ]
