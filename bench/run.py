"""Run the benchmarks and print one table: ``python -m bench.run [--size-mib N] [--only NAME]``.

Every row compares with a baseline measured in the same run; the table is also written as
JSON to ``bench/out/results.json``. Exit status 0 unless ``--strict`` and a goal was missed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from bench import backup as backup_bench
from bench import busy_hub, concurrency, transfer
from bench import diffs as diffs_bench
from bench import discussions as discussions_bench
from bench import evals as evals_bench
from bench import gc as gc_bench
from bench import jupyterhub_auth as jupyterhub_auth_bench
from bench import lab as lab_bench
from bench import lab_nbdime as lab_nbdime_bench
from bench import load as load_bench
from bench import load_dataset as load_dataset_bench
from bench import notebook_diff as notebook_diff_bench
from bench import permissions as permissions_bench
from bench import redirects as redirects_bench
from bench import runners as runners_bench
from bench import search as search_bench
from bench import viewer as viewer_bench
from bench import webhooks as webhooks_bench
from bench import xet as xet_bench
from bench.measure import MiB, Result

OUT = Path(__file__).resolve().parent / "out"
BENCHMARKS = (
    "transfer",
    "reupload",
    "concurrency",
    "load_dataset",
    "viewer",
    "busy_hub",
    "search",
    "discussions",
    "permissions",
    "evals",
    "lab",
    "xet",
    "gc",
    "diffs",
    "notebook_diff",
    "lab_nbdime",
    "load",
    "webhooks",
    "jupyterhub_auth",
    "runners",
    "redirects",
    "backup",
    "gc_s3",
    "backup_s3",
)


def machine() -> dict[str, Any]:
    df = subprocess.run(["df", "-h", str(OUT)], capture_output=True, text=True).stdout
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 1e9, 1),
        "arch": platform.machine(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "disk": df.strip().splitlines()[-1:],
        "cp": subprocess.run(["cp", "--version"], capture_output=True, text=True).stdout.splitlines()[0],
    }


def _fmt(x: float | None, unit: str = "") -> str:
    if x is None:
        return "-"
    if float(x).is_integer() and abs(x) < 100:
        text = f"{x:.0f}"
    else:
        text = f"{x:,.0f}" if abs(x) >= 100 else f"{x:.2f}"
    return f"{text} {unit}".strip()


def table(results: list[Result]) -> str:
    rows = [("benchmark", "value", "baseline", "ratio", "goal", "result")]
    for r in results:
        base = f"{_fmt(r.baseline)} {r.baseline_label}" if r.baseline is not None else "-"
        verdict = {True: "pass", False: "FAIL", None: "info"}[r.passed]
        rows.append(
            (
                r.name,
                _fmt(r.value, r.unit),
                base,
                "-" if r.ratio is None else f"{r.ratio:.2f}",
                r.goal or "-",
                verdict,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument(
        "--size-mib", type=int, default=1024, help="size of the large file (default 1024; 64 for a quick run)"
    )
    parser.add_argument(
        "--only", action="append", choices=BENCHMARKS, help="run only this benchmark (repeatable)"
    )
    parser.add_argument("--files", type=int, default=32, help="concurrent downloads (32)")
    parser.add_argument(
        "--file-mib", type=int, default=16, help="size of each concurrently downloaded file (16)"
    )
    parser.add_argument(
        "--rows",
        type=int,
        default=1_000_000,
        help="rows of the load_dataset and viewer tables (1,000,000; 10 columns)",
    )
    parser.add_argument(
        "--search-repos",
        default="1000,10000,100000",
        help="repo counts the search benchmark grows through (1000,10000,100000)",
    )
    parser.add_argument(
        "--search-database-url",
        default=None,
        help="an empty PostgreSQL database for the search benchmark (default: SQLite in the scratch folder)",
    )
    parser.add_argument(
        "--backup-gib", type=int, default=10, help="size of the hub the backup benchmark copies (10)"
    )
    parser.add_argument(
        "--backup-s3-mib",
        type=int,
        default=1024,
        help="MiB of the hub backup_s3 copies (1024)",
    )
    parser.add_argument(
        "--redirect-mib",
        type=int,
        default=1024,
        help="size of the file the redirects benchmark downloads (1024)",
    )
    parser.add_argument(
        "--gc-blobs", type=int, default=100_000, help="blobs in the store the gc benchmark sweeps (100,000)"
    )
    parser.add_argument(
        "--gc-s3-blobs",
        type=int,
        default=10_000,
        help="blobs in the bucket gc_s3 sweeps (10,000)",
    )
    parser.add_argument(
        "--load-users", default="10,25,50", help="Locust users the load benchmark steps through (10,25,50)"
    )
    parser.add_argument(
        "--load-seconds", type=float, default=20, help="seconds the load benchmark measures each step (20)"
    )
    parser.add_argument(
        "--load-search-repos",
        type=int,
        default=load_bench.SEARCH_REPOS,
        help="repos for the load benchmark's search under the largest user count (100000; 0: skip)",
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=OUT / "work",
        help="scratch folder for test files and hubs (bench/out/work)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    only = set(args.only or BENCHMARKS)

    started = datetime.now(UTC)
    t0 = time.perf_counter()
    results: list[Result] = []
    if only & {"transfer", "reupload"}:
        results += transfer.run(
            args.work / "transfer",
            args.size_mib * MiB,
            transfer="transfer" in only,
            reupload="reupload" in only,
        )
    if "concurrency" in only:
        results += concurrency.run(args.work / "concurrency", files=args.files, file_size=args.file_mib * MiB)
    if "load_dataset" in only:
        results += load_dataset_bench.run(args.work / "load_dataset", rows=args.rows)
    if "viewer" in only:
        results += viewer_bench.run(args.work / "viewer", rows=args.rows)
    if "busy_hub" in only:
        results += busy_hub.run(args.work / "busy_hub", rows=args.rows)
    if "search" in only:
        results += search_bench.run(
            args.work / "search",
            sizes=tuple(int(n) for n in args.search_repos.split(",")),
            database_url=args.search_database_url,
        )
    if "discussions" in only:
        results += discussions_bench.run(args.work / "discussions")
    if "permissions" in only:
        results += permissions_bench.run(args.work / "permissions")
    if "evals" in only:
        results += evals_bench.run(args.work / "evals")
    if "lab" in only:
        results += lab_bench.run(args.work / "lab")
    if "xet" in only:
        results += xet_bench.run(args.work / "xet", args.size_mib * MiB)
    if "gc" in only:
        results += gc_bench.run(args.work / "gc", blobs=args.gc_blobs)
    if "gc_s3" in only:
        results += gc_bench.run_s3(args.work / "gc_s3", blobs=args.gc_s3_blobs)
    if "diffs" in only:
        results += diffs_bench.run(args.work / "diffs")
    if "notebook_diff" in only:
        results += notebook_diff_bench.run(args.work / "notebook_diff")
    if "lab_nbdime" in only:
        results += lab_nbdime_bench.run(args.work / "lab_nbdime")
    if "load" in only:
        steps = tuple(int(n) for n in args.load_users.split(","))
        results += load_bench.run(
            args.work / "load", steps=steps, seconds=args.load_seconds, search_repos=args.load_search_repos
        )
    if "webhooks" in only:
        results += webhooks_bench.run(args.work / "webhooks")
    if "runners" in only:
        results += runners_bench.run(args.work / "runners")
    if "backup" in only:
        results += backup_bench.run(args.work / "backup", args.backup_gib * 1024 * MiB)
    if "backup_s3" in only:
        results += backup_bench.run_s3(args.work / "backup_s3", args.backup_s3_mib * MiB)
    if "redirects" in only:
        results += redirects_bench.run(args.work / "redirects", args.redirect_mib * MiB)
    if "jupyterhub_auth" in only:
        results += jupyterhub_auth_bench.run(args.work / "jupyterhub_auth")
    shutil.rmtree(args.work, ignore_errors=True)

    print()
    print(table(results))
    OUT.mkdir(parents=True, exist_ok=True)
    report = {
        "date": started.isoformat(timespec="seconds"),
        "args": {
            "size_mib": args.size_mib,
            "only": sorted(only),
            "files": args.files,
            "file_mib": args.file_mib,
            "rows": args.rows,
            "search_repos": args.search_repos,
            "gc_blobs": args.gc_blobs,
            "redirect_mib": args.redirect_mib,
            "backup_gib": args.backup_gib,
            "load_users": args.load_users,
            "load_seconds": args.load_seconds,
            "load_search_repos": args.load_search_repos,
            "gc_s3_blobs": args.gc_s3_blobs,
            "backup_s3_mib": args.backup_s3_mib,
        },
        "machine": machine(),
        "seconds": round(time.perf_counter() - t0, 1),
        "results": [r.as_dict() for r in results],
    }
    (OUT / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten to {OUT / 'results.json'}")
    missed = [r.name for r in results if r.passed is False]
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
