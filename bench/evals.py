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
  "60-second evaluation"), warmed with a 2,000-row run, then three interleaved pairs; the
  medians are compared (one run of the same script moves by up to 9 % here).
- ``evals_throughput``: examples per second of the template's prediction cell (its papermill
  duration in the run record: one pass in a fresh kernel) against the first pass of a
  hand-written batched ``torch.inference_mode`` loop in a fresh process, over the same small
  MLP, data and batch size; 7 of each, interleaved (loop, run, loop, run, ...), and the
  medians compared: single first passes of the same code move by up to 2x on this VM, so a
  best-of-N favours whichever side has the wider spread (the bests and the loop's best warm
  pass are in the note).
- ``evals_matrix_jobs2``: 8 runs (the demo, fixed seeds) through ``run_many(jobs=2)`` against the
  same 8 with ``jobs=1``, two interleaved rounds (sequential, parallel, sequential, parallel);
  speed-up = median sequential / median parallel wall time. The note gives the same speed-up
  for plain CPU work on this machine (two busy-loop processes at once against one after the
  other), the ceiling any 2-job pool can reach here.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.measure import BenchHub, Result, wait_converted

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
    net = torch.nn.Sequential(
        torch.nn.Linear(FEATURES, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, CLASSES),
    ).eval()
    wb.publish_model(net, "admin/bench-mlp", example_inputs=torch.randn(8, FEATURES), config={})
    wide = torch.nn.Sequential(
        torch.nn.Linear(FEATURES, WIDE),
        torch.nn.ReLU(),
        torch.nn.Linear(WIDE, WIDE),
        torch.nn.ReLU(),
        torch.nn.Linear(WIDE, CLASSES),
    ).eval()
    wb.publish_model(wide, "admin/bench-mlp-wide", example_inputs=torch.randn(8, FEATURES), config={})
    with hub.client() as client:
        wait_converted(client, "admin/bench-200k")  # the viewer's conversion, in the hub
    return "admin/bench-mlp", "admin/bench-200k"


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:5]} failed: {proc.stderr[-2000:]}")
    return elapsed, proc.stdout


def _eval_run(work: Path, model: str, dataset: str, params: dict[str, Any]) -> list[str]:
    """The ``workbench eval run`` command line (JSON record out) with ``params`` as ``-p``."""
    cmd = [
        sys.executable,
        "-m",
        "workbench",
        "eval",
        "run",
        "--model",
        model,
        "--dataset",
        dataset,
        "--json",
        "--output-dir",
        str(work / "runs"),
    ]
    for k, v in params.items():
        cmd += ["-p", k, v if isinstance(v, str) else json.dumps(v)]
    return cmd


def _pair(
    hub: BenchHub,
    work: Path,
    env: dict[str, str],
    model: str,
    dataset: str,
    params: dict[str, Any],
    tag: str,
    *,
    repeats: int = 3,
    warm: dict[str, Any] | None = None,
) -> tuple[list[float], list[float]]:
    """Wall times of ``repeats`` runs of ``eval run`` and of the plain script, interleaved
    (so that load on the machine hits both alike), after one untimed run of each (with the
    ``warm`` parameters, e.g. a ``limit``, where the full run is long)."""

    def commands(values: dict[str, Any], name: str) -> tuple[list[str], list[str]]:
        script = work / f"{name}.py"
        script.write_text(_script({"model": model, "dataset": dataset, "metrics": ["accuracy"], **values}))
        return _eval_run(work, model, dataset, values), [sys.executable, str(script)]

    warm_run, warm_plain = commands({**params, **(warm or {})}, f"{tag}-warm")
    _timed(warm_plain, env, work)  # caches: downloads, evaluate module, page cache
    _timed(warm_run, env, work)
    run, plain = commands(params, tag)
    t_runs, t_plains = [], []
    for _ in range(repeats):
        t_plains.append(_timed(plain, env, work)[0])
        t_runs.append(_timed(run, env, work)[0])
    log.info(
        "%s: eval run %s s, plain script %s s",
        tag,
        " ".join(f"{t:.2f}" for t in t_runs),
        " ".join(f"{t:.2f}" for t in t_plains),
    )
    return t_runs, t_plains


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


def _throughput(
    work: Path, env: dict[str, str], model: str, dataset: str, params: dict[str, Any], repeats: int = 7
) -> dict[str, Any]:
    """First-pass seconds of the template's predict cell (``eval run``) and of the hand-written
    loop (fresh processes), ``repeats`` of each, interleaved so that drift hits both alike."""
    script = work / "loop.py"
    script.write_text(_LOOP)
    loop_cmd = [sys.executable, str(script), model, dataset, str(BATCH), str(FEATURES)]
    run_cmd = _eval_run(work, model, dataset, params)
    _timed(loop_cmd, env, work)  # warm: downloads, page cache
    _timed(run_cmd, env, work)
    first, warm, template = [], [], []
    for _ in range(repeats):
        result = json.loads(_timed(loop_cmd, env, work)[1].strip().splitlines()[-1])
        first.append(result["passes"][0])
        warm.append(min(result["passes"]))
        record = json.loads(_timed(run_cmd, env, work)[1])
        template.append(next(c["duration"] for c in record["timings"]["cells"] if c["id"] == "predict"))
        log.info(
            "throughput: loop first pass %.3f s (warm %.3f), template predict cell %.3f s",
            first[-1],
            warm[-1],
            template[-1],
        )
    return {"template": template, "loop_first": first, "loop_warm": warm}


_BUSY = "s = 0\nfor i in range(20_000_000):\n    s += i\n"


def _cpu_ceiling(rounds: int = 3) -> float:
    """Speed-up of two CPU-bound processes at once against one after the other (median of
    ``rounds``): what any 2-job pool can reach on this machine."""
    cmd = [sys.executable, "-c", _BUSY]
    ratios = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(2):
            subprocess.run(cmd, check=True)
        t_seq = time.perf_counter() - t0
        t0 = time.perf_counter()
        procs = [subprocess.Popen(cmd) for _ in range(2)]
        for p in procs:
            p.wait()
        ratios.append(t_seq / (time.perf_counter() - t0))
    return statistics.median(ratios)


def _matrix(hub: BenchHub, work: Path, jobs: int) -> float:
    from workbench.evals.executors import run_many
    from workbench.evals.runner import EvalSpec

    specs = [
        EvalSpec(
            "admin/tiny-classifier",
            "admin/iris-mini",
            parameters={"seed": i},
            hub_url=hub.url,
            token=hub.token,
            output_dir=str(work / "matrix"),
        )
        for i in range(8)
    ]
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

        env = {
            **os.environ,
            "WORKBENCH_HUB_URL": hub.url,
            "WORKBENCH_TOKEN": hub.token,
            "HF_ENDPOINT": hub.url,
            "XDG_CACHE_HOME": str(work / "cache"),
            "HF_UPDATE_DOWNLOAD_COUNTS": "0",
            "HF_HUB_DISABLE_TELEMETRY": "1",
        }
        os.environ.update({k: env[k] for k in ("XDG_CACHE_HOME",)})
        demo(url=hub.url, token=hub.token, namespace=None, as_json=True)
        model, dataset = _publish_big(hub, work)

        runs, plains = _pair(hub, work, env, "admin/tiny-classifier", "admin/iris-mini", {}, "demo")
        t_run, t_plain = min(runs), min(plains)
        results.append(
            Result(
                "evals_overhead",
                t_run - t_plain,
                "s",
                t_plain,
                "s plain script",
                t_run / t_plain,
                "<= 3 s",
                t_run - t_plain <= 3.0,
                note=f"eval run {t_run:.2f} s vs the template's code as a script "
                f"{t_plain:.2f} s, 30-row demo, best of 3 each",
            )
        )

        params = {"batch_size": BATCH, "label_column": "label"}
        runs, plains = _pair(
            hub, work, env, "admin/bench-mlp-wide", dataset, params, "long", repeats=3, warm={"limit": 2000}
        )
        t_run, t_plain = statistics.median(runs), statistics.median(plains)
        results.append(
            Result(
                "evals_long_ratio",
                t_run,
                "s",
                t_plain,
                "s plain script",
                t_run / t_plain,
                "<= 1.05",
                t_run / t_plain <= 1.05,
                note=f"{ROWS} rows x {FEATURES} features, MLP {FEATURES}-{WIDE}-"
                f"{WIDE}-{CLASSES}, batch {BATCH}; medians of 3 interleaved "
                f"pairs (eval run {' '.join(f'{t:.1f}' for t in runs)} s, "
                f"script {' '.join(f'{t:.1f}' for t in plains)} s)",
            )
        )

        tput = _throughput(work, env, model, dataset, params)
        template_tput = ROWS / statistics.median(tput["template"])
        loop_tput = ROWS / statistics.median(tput["loop_first"])
        best_ratio = min(tput["loop_first"]) / min(tput["template"])
        results.append(
            Result(
                "evals_throughput",
                template_tput,
                "rows/s",
                loop_tput,
                "rows/s torch loop",
                template_tput / loop_tput,
                ">= 0.9",
                template_tput / loop_tput >= 0.9,
                note="one pass each in a fresh process, 7 of each interleaved, "
                "medians: the template's predict cell "
                f"{statistics.median(tput['template']):.3f} s (range "
                f"{min(tput['template']):.3f}-{max(tput['template']):.3f}) vs "
                "a hand-written batched loop's first pass "
                f"{statistics.median(tput['loop_first']):.3f} s (range "
                f"{min(tput['loop_first']):.3f}-{max(tput['loop_first']):.3f}"
                f"); best vs best {best_ratio:.2f}; the loop's best warm pass "
                f"{min(tput['loop_warm']):.3f} s; MLP {FEATURES}-256-256-"
                f"{CLASSES}, batch {BATCH}",
            )
        )

        seq, par = [], []
        for _ in range(2):
            seq.append(_matrix(hub, work, 1))
            par.append(_matrix(hub, work, 2))
            log.info("matrix: sequential %.2f s, jobs=2 %.2f s", seq[-1], par[-1])
        t_seq, t_par = statistics.median(seq), statistics.median(par)
        ceiling = _cpu_ceiling()
        results.append(
            Result(
                "evals_matrix_jobs2",
                t_par,
                "s",
                t_seq,
                "s sequential",
                t_seq / t_par,
                ">= 1.7 speed-up",
                t_seq / t_par >= 1.7,
                note="8 demo runs, run_many(jobs=2) vs jobs=1, two interleaved "
                f"rounds (sequential {' '.join(f'{t:.1f}' for t in seq)} s, "
                f"parallel {' '.join(f'{t:.1f}' for t in par)} s), medians; "
                f"plain CPU work on this machine: 2 at once {ceiling:.2f}x "
                "faster than one after the other",
            )
        )
    return results


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    for r in run(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench" / "out" / "evals"):
        print(r)
