"""RSS of a process tree, sampled every ~50 ms from a separate process.

A sampler thread inside the benchmark would share the GIL with 32 download threads and
miss samples for a second at a time; this process keeps its own pace. Each line it prints
is ``CLOCK_MONOTONIC_NS RSS_BYTES`` (CLOCK_MONOTONIC is system-wide, so the parent can
cut the samples into phases with its own ``time.monotonic_ns()``).

    python -m bench.rss PID [INTERVAL_S] > samples.txt
"""

from __future__ import annotations

import sys
import time

import psutil


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in (proc, *proc.children(recursive=True)):
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def main(argv: list[str]) -> int:
    proc = psutil.Process(int(argv[0]))
    interval = float(argv[1]) if len(argv) > 1 else 0.05
    next_at = time.monotonic()
    while True:
        try:
            rss = tree_rss(proc)
        except psutil.NoSuchProcess:
            return 0
        sys.stdout.write(f"{time.monotonic_ns()} {rss}\n")
        sys.stdout.flush()
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
