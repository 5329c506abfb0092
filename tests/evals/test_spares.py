"""Spare run processes on their own: replaced when old, all ended (kernels too) on close."""

from __future__ import annotations

import json
import subprocess
import time

import psutil

from workbench.evals.spares import Spares


def ready(proc: subprocess.Popen[str]) -> dict[str, int]:
    """The spare's own line once its kernel runs: {"pid", "kernel"}."""
    assert proc.stdout is not None
    line = proc.stdout.readline()
    return dict(json.loads(line)["spare"])


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_old_spares_are_replaced_and_close_ends_them_with_their_kernels() -> None:
    spares = Spares("http://127.0.0.1:9", 1, max_age=3600)
    try:
        spares.fill()
        [first] = spares.pids()
        spares.fill()
        assert spares.pids() == [first]  # young and alive: kept
        spares.max_age = 0.0
        spares.fill()
        [second] = spares.pids()
        assert second != first and gone(first)
        spares.max_age = 3600
        proc = spares.take()
        assert proc is not None and proc.pid == second
        [third] = spares.pids()  # a new one in its place at once
        assert third != second
        seen = ready(proc)  # the taken one is the caller's now: it waits for a spec
        assert seen["pid"] == second and psutil.pid_exists(seen["kernel"])
        proc.stdin.close()  # no spec: it shuts its kernel down and exits
        assert proc.wait(60) == 0 and proc.stdout.read() == ""
        for stream in (proc.stdout, proc.stderr):
            stream.close()
        end = time.monotonic() + 60
        while not gone(seen["kernel"]) and time.monotonic() < end:
            time.sleep(0.1)
        assert gone(seen["kernel"])
    finally:
        spares.close()
    assert spares.pids() == [] and gone(third)
    spares.fill()
    assert spares.pids() == []  # closed: none starts again
