"""Evaluation runs: runner overhead, template throughput, and the local pool's speed-up.

One real hub (``BenchHub``) holds the demo classifier and dataset, a 200,000-row, 32-feature
dataset (Parquet) and two MLPs published with ``torch.export`` programs: a small one
(``Linear(32, 256) -> ReLU -> Linear(256, 256) -> ReLU -> Linear(256, 4)``) and a wide one
(hidden width ``WIDE`` = 4096), over which one pass takes about a minute here.

- ``evals_overhead``: wall time of ``workbench eval run`` (a CLI process: pin, papermill in a
  fresh kernel, record upload) minus that of the same evaluation code run as a plain Python
  script (the template's code cells, concatenated, in a fresh ``python`` process), on the
  30-row demo. Both are run once untimed first (warm caches), then three times, interleaved;
  the best of each is taken.
- ``evals_long_ratio``: the same two on the wide MLP over the 200k rows (the issue's
  "60-second evaluation"), warmed with a 2,000-row run, then timed twice each (best taken).
- ``evals_throughput``: examples per second of the template's prediction cell (its papermill
  duration in the run record: one pass in a fresh kernel, best of 5 runs) against the best
  first pass of a hand-written batched ``torch.inference_mode`` loop in 5 fresh processes, over
  the same small MLP, data and batch size (the loop's best warm pass is in the note).
- ``evals_matrix``: 8 runs (the demo, fixed seeds) through ``run_many(jobs=2)`` against the
  same 8 with ``jobs=1``; speed-up = sequential / parallel wall time.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.measure import BenchHub, Result

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "notebooks" / "evaluate.ipynb"
ROWS, FEATURES, CLASSES, BATCH = 200_000, 32, 4, 4096
WIDE = 4096  # hidden width of the long evaluation's MLP: one pass over ROWS takes about a minute


def _script(parameters: dict[str, Any]) -> str:
    """The template's code cells as one script, with the parameters set as papermill would."""
    nb = json.loads(TEMPLATE.read_text())
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    injected = "\n".join(f"{k} = {v!r}" for k, v in parameters.items())
    return "\n\n".join([cells[0], injected, *cells[1:]]) + "\n"


def _publish_big(hub: BenchHub, work: Path) -> tuple[str, str]:
    import numpy as np
    import pandas as pd
    import torch

    import workbench as wb

    wb.connect(hub.url, token=hub.token, cache_dir=work / "wb-cache")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(ROWS, FEATURES)).astype("float32")
    y = (x[:, :CLASSES] + 0.5 * rng.normal(size=(ROWS, CLASSES))).argmax(1)
    frame = pd.DataFrame({f"f{i}": x[:, i] for i in range(FEATURES)} | {"label": y})
    wb.publish_dataset({"test": frame}, "admin/bench-200k")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(FEATURES, 256), torch.nn.ReLU(),
                              torch.nn.Linear(256, 256), torch.nn.ReLU(),
                              torch.nn.Linear(256, CLASSES)).eval()
    wb.publish_model(net, "admin/bench-mlp", example_inputs=torch.randn(8, FEATURES),
                     config={})
    wide = torch.nn.Sequential(torch.nn.Linear(FEATURES, WIDE), torch.nn.ReLU(),
                               torch.nn.Linear(WIDE, WIDE), torch.nn.ReLU(),
                               torch.nn.Linear(WIDE, CLASSES)).eval()
    wb.publish_model(wide, "admin/bench-mlp-wide", example_inputs=torch.randn(8, FEATURES),
                     config={})
    return "admin/bench-mlp", "admin/bench-200k"


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:5]} failed: {proc.stderr[-2000:]}")
    return elapsed, proc.stdout


def _pair(hub: BenchHub, work: Path, env: dict[str, str], model: str, dataset: str,
          params: dict[str, Any], tag: str, *, repeats: int = 3,
          warm: dict[str, Any] | None = None) -> tuple[float, float, list[dict[str, Any]]]:
    """Best-of-``repeats`` wall times of ``eval run`` and of the plain script, interleaved
    (so that load on the machine hits both alike), after one untimed run of each (with the
    ``warm`` parameters, e.g. a ``limit``, where the full run is long)."""

    def commands(values: dict[str, Any], name: str) -> tuple[list[str], list[str]]:
        script = work / f"{name}.py"
        script.write_text(_script({"model": model, "dataset": dataset, "metrics": ["accuracy"],
                                   **values}))
        run = [sys.executable, "-m", "workbench", "eval", "run", "--model", model, "--dataset",
               dataset, "--json", "--output-dir", str(work / "runs")]
        for k, v in values.items():
            run += ["-p", k, v if isinstance(v, str) else json.dumps(v)]
        return run, [sys.executable, str(script)]

    warm_run, warm_plain = commands({**params, **(warm or {})}, f"{tag}-warm")
    _timed(warm_plain, env, work)  # caches: downloads, evaluate module, page cache
    _timed(warm_run, env, work)
    run, plain = commands(params, tag)
    t_runs, t_plains, records = [], [], []
    for _ in range(repeats):
        t_plains.append(_timed(plain, env, work)[0])
        t, out = _timed(run, env, work)
        t_runs.append(t)
        records.append(json.loads(out))
    log.info("%s: eval run %s s, plain script %s s", tag, " ".join(f"{t:.2f}" for t in t_runs),
             " ".join(f"{t:.2f}" for t in t_plains))
    return min(t_runs), min(t_plains), records


_LOOP = """
import json, sys, time
import numpy as np, torch
import workbench as wb

model, dataset, batch, features = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
torch.manual_seed(0)
net = wb.load_model(model)
table = wb.load_dataset(dataset, split="test").with_format("arrow")[:]
x = torch.from_numpy(np.stack([table.column(f"f{i}").to_numpy().astype(np.float32)
                               for i in range(features)], axis=1))
passes = []
for _ in range(3):
    t0 = time.perf_counter()
    with torch.inference_mode():
        out = torch.cat([net(x[i:i + batch]) for i in range(0, len(x), batch)])
        out.argmax(dim=1)
    passes.append(time.perf_counter() - t0)
print(json.dumps({"rows": len(x), "passes": passes}))
"""


def _loop_throughput(model: str, dataset: str, env: dict[str, str], work: Path
                     ) -> tuple[float, float]:
    """Rows/s of a hand-written batched ``torch.inference_mode()`` loop, five fresh processes:
    the best first pass (what the template's single pass compares with) and the best of all."""
    script = work / "loop.py"
    script.write_text(_LOOP)
    first, warm, rows = [], [], 0
    for _ in range(5):
        _, out = _timed([sys.executable, str(script), model, dataset, str(BATCH),
                         str(FEATURES)], env, work)
        result = json.loads(out.strip().splitlines()[-1])
        rows = result["rows"]
        first.append(result["passes"][0])
        warm.append(min(result["passes"]))
        log.info("hand-written loop passes (s): %s",
                 " ".join(f"{p:.3f}" for p in result["passes"]))
    return rows / min(first), rows / min(warm)


def _matrix(hub: BenchHub, work: Path, jobs: int) -> float:
    from workbench.evals.executors import run_many
    from workbench.evals.runner import EvalSpec

    specs = [EvalSpec("admin/tiny-classifier", "admin/iris-mini", parameters={"seed": i},
                      hub_url=hub.url, token=hub.token, output_dir=str(work / "matrix"))
             for i in range(8)]
    t0 = time.perf_counter()
    records = run_many(specs, jobs=jobs)
    elapsed = time.perf_counter() - t0
    failed = [r for r in records if not r.ok]
    if failed:
        raise RuntimeError(f"matrix runs failed: {failed}")
    return elapsed


def run(work: Path) -> list[Result]:
    work.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    with BenchHub(work / "hub") as hub:
        from workbench.cli.demo import demo

        env = {**os.environ, "WORKBENCH_HUB_URL": hub.url, "WORKBENCH_TOKEN": hub.token,
               "HF_ENDPOINT": hub.url, "XDG_CACHE_HOME": str(work / "cache"),
               "HF_UPDATE_DOWNLOAD_COUNTS": "0", "HF_HUB_DISABLE_TELEMETRY": "1"}
        os.environ.update({k: env[k] for k in ("XDG_CACHE_HOME",)})
        demo(url=hub.url, token=hub.token, namespace=None, as_json=True)
        model, dataset = _publish_big(hub, work)

        t_run, t_plain, _ = _pair(hub, work, env, "admin/tiny-classifier", "admin/iris-mini",
                                  {}, "demo")
        results.append(Result("evals_overhead", t_run - t_plain, "s", t_plain, "s plain script",
                              t_run / t_plain, "<= 3 s", t_run - t_plain <= 3.0,
                              note=f"eval run {t_run:.2f} s vs the template's code as a script "
                                   f"{t_plain:.2f} s, 30-row demo, best of 3 each"))

        params = {"batch_size": BATCH, "label_column": "label"}
        t_run, t_plain, _ = _pair(hub, work, env, "admin/bench-mlp-wide", dataset, params,
                                  "long", repeats=2, warm={"limit": 2000})
        results.append(Result("evals_long_ratio", t_run, "s", t_plain, "s plain script",
                              t_run / t_plain, "<= 1.05", t_run / t_plain <= 1.05,
                              note=f"{ROWS} rows x {FEATURES} features, MLP {FEATURES}-{WIDE}-"
                                   f"{WIDE}-{CLASSES}, batch {BATCH}"))

        _, _, records = _pair(hub, work, env, model, dataset, params, "big", repeats=5)
        predict = min(c["duration"] for rec in records for c in rec["timings"]["cells"]
                      if c["id"] == "predict")
        template_tput = ROWS / predict
        loop_tput, loop_warm = _loop_throughput(model, dataset, env, work)
        results.append(Result("evals_throughput", template_tput, "rows/s", loop_tput,
                              "rows/s torch loop", template_tput / loop_tput, ">= 0.9",
                              template_tput / loop_tput >= 0.9,
                              note="one pass each in a fresh process, best of 5: the template's "
                                   "predict cell vs a hand-written batched loop's first pass (the "
                                   f"loop's best warm pass: {loop_warm:,.0f} rows/s, ratio "
                                   f"{template_tput / loop_warm:.2f}); MLP {FEATURES}-256-256-"
                                   f"{CLASSES}"))

        t_seq = _matrix(hub, work, 1)
        t_par = _matrix(hub, work, 2)
        results.append(Result("evals_matrix_jobs2", t_par, "s", t_seq, "s sequential",
                              t_seq / t_par, ">= 1.7 speed-up", t_seq / t_par >= 1.7,
                              note="8 demo runs, run_many(jobs=2) vs jobs=1"))
    return results


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    for r in run(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench" / "out" / "evals"):
        print(r)
