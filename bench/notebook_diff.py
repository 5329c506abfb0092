"""Structured diff of two 500-cell notebooks with outputs (issue 28's measure): server p95.

Two notebooks of 500 cells (every fifth markdown, the rest code with a stream and an
``execute_result`` output, about 270 kB each) go up with the stock ``HfApi``; the second has
50 sources edited, 10 outputs changed, 3 cells removed, 1 added and 1 moved. A real
``workbench hub serve`` answers ``GET compare/{a}/{b}?structured=1``; each figure is the
p95 of ``REQUESTS`` requests after ``WARMUP``: "server" is the hub's ``Server-Timing:
app;dur=`` (the handler: reading both files, nbformat validation, nbdime's diff, the cell
shape, sanitizing the changed cells' outputs), "http" the client's wall time (JSON
included). The baseline, measured in the same run, is ``nbdime.diff_notebooks`` alone,
in-process, on the two notebooks already parsed: what the library costs without the hub.
"""

from __future__ import annotations

import json
import logging
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import httpx

from bench.measure import BenchHub, Result

log = logging.getLogger(__name__)

CELLS = 500
REQUESTS = 100
WARMUP = 5
GOAL_MS = 300.0


def notebooks() -> tuple[bytes, bytes]:
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    cells: list[Any] = []
    for i in range(CELLS):
        if i % 5 == 0:
            cells.append(new_markdown_cell(f"# Section {i}\nSome *text* about step {i}.", id=f"c{i}"))
            continue
        outputs = [
            new_output("stream", name="stdout", text=f"{i * 2}\n" * 5),
            new_output(
                "execute_result", data={"text/plain": str(i), "text/html": f"<b>{i}</b>"}, execution_count=i
            ),
        ]
        source = f"x{i} = {i}\nprint(x{i} * 2)\n" * 3
        cells.append(new_code_cell(source, id=f"c{i}", execution_count=i, outputs=outputs))
    old = new_notebook(cells=cells)
    new = nbformat.from_dict(json.loads(json.dumps(old)))
    for i in range(0, CELLS, 10):
        new.cells[i].source += "\n# edited"
    for i in range(6, CELLS, 50):
        new.cells[i].outputs = [new_output("stream", name="stdout", text="other\n")]
    del new.cells[100:103]
    new.cells.insert(200, new_code_cell("fresh = True", id="fresh"))
    new.cells.insert(10, new.cells.pop(300))
    return nbformat.writes(old).encode(), nbformat.writes(new).encode()


def _p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=100)[94]


def run(root: Path) -> list[Result]:
    import nbdime
    import nbformat
    from huggingface_hub import HfApi

    old, new = notebooks()
    with BenchHub(root / "hub") as hub:
        api = HfApi(endpoint=hub.url, token=hub.token)
        api.create_repo("admin/nb-diff")
        a = api.upload_file(path_or_fileobj=old, path_in_repo="eval.ipynb", repo_id="admin/nb-diff").oid
        b = api.upload_file(path_or_fileobj=new, path_in_repo="eval.ipynb", repo_id="admin/nb-diff").oid
        server: list[float] = []
        wall: list[float] = []
        auth = {"Authorization": f"Bearer {hub.token}"}
        with httpx.Client(base_url=hub.url, headers=auth, timeout=120) as http:
            for i in range(WARMUP + REQUESTS):
                t0 = time.perf_counter()
                r = http.get(f"/api/models/admin/nb-diff/compare/{a}/{b}", params={"structured": "1"})
                elapsed = (time.perf_counter() - t0) * 1000
                r.raise_for_status()
                if i < WARMUP:
                    continue
                wall.append(elapsed)
                server.append(float(r.headers["server-timing"].split("dur=")[1].split(";")[0]))
        diff = r.json()["files"][0]["structured"]
        assert diff["kind"] == "notebook", diff
        assert diff["summary"] == {"added": 1, "removed": 3, "moved": 1, "changed": 59}, diff["summary"]
    shutil.rmtree(root, ignore_errors=True)
    a_nb, b_nb = (nbformat.reads(x.decode(), as_version=4) for x in (old, new))
    floor = []
    for _ in range(WARMUP + REQUESTS // 4):
        t0 = time.perf_counter()
        nbdime.diff_notebooks(a_nb, b_nb)
        floor.append((time.perf_counter() - t0) * 1000)
    floor = floor[WARMUP:]
    s95, h95, f95 = _p95(server), _p95(wall), _p95(floor)
    log.info("notebook diff: server p95 %.1f ms, http p95 %.1f ms, nbdime alone p95 %.1f ms", s95, h95, f95)
    note = f"{CELLS} cells, {len(old) // 1000} kB each; p95 of {REQUESTS} after {WARMUP}"
    return [
        Result(
            f"notebook diff: two {CELLS}-cell notebooks, server p95",
            s95,
            "ms",
            f95,
            "nbdime.diff_notebooks alone, in-process",
            s95 / f95,
            goal=f"p95 <= {GOAL_MS:.0f} ms",
            passed=s95 <= GOAL_MS,
            note=note + f"; server p50 {statistics.median(server):.1f} ms",
        ),
        Result(
            f"notebook diff: two {CELLS}-cell notebooks, http p95",
            h95,
            "ms",
            f95,
            "nbdime.diff_notebooks alone, in-process",
            h95 / f95,
            note=note + f"; http p50 {statistics.median(wall):.1f} ms",
        ),
    ]
