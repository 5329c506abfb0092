"""Spare run processes: a runner's next job starts in a process that is already warm.

A run's process spends most of its start-up importing papermill and jupyter_client and
starting a kernel (another Python process importing ipykernel). None of that needs the job:
only the hub URL, which the runner knows from the start. So while idle, a runner using the
local executor keeps ``count`` spares (one per job slot), each with its imports done and a
fresh kernel pointed at the hub with no token, blocked waiting for its spec. A leased job
takes one (the spec carries the job's short-lived read token, which the spare hands its
kernel without writing it into the notebook: :meth:`workbench.evals.kernels.Kernel.hand_over`),
and a new spare starts at once for the next job. A spare runs one job and is never reused; a
spare that died is replaced, one older than ``max_age`` too, and :meth:`Spares.close` ends
them all with their kernels.

>>> spares = Spares("http://hub:8000", 2)                                  # doctest: +SKIP
>>> run_in_process(spec, process=spares.take())                            # doctest: +SKIP
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time

from workbench.evals.executors import end_process, start_process

log = logging.getLogger(__name__)

MAX_AGE = 900.0  # seconds a spare waits before it is replaced by a fresh one


class Spares:
    """``count`` spare processes for runs on the hub at ``url``; thread-safe."""

    def __init__(self, url: str, count: int, *, max_age: float = MAX_AGE) -> None:
        self.url, self.count, self.max_age = url, count, max_age
        self._spares: list[tuple[float, subprocess.Popen[str]]] = []
        self._lock = threading.Lock()
        self._closed = False

    def fill(self) -> None:
        """Replace the spares that died or grew old, and start any that are missing."""
        with self._lock:
            keep, gone = self._sorted()
            while not self._closed and len(keep) < self.count:
                keep.append((time.monotonic(), start_process(spare_for=self.url, session=True)))
            self._spares = keep
        for proc in gone:
            log.info("runner: spare process %d replaced (exit status %s)", proc.pid, proc.poll())
            _end(proc)

    def take(self) -> subprocess.Popen[str] | None:
        """The oldest live spare, for one run (None when there is none), replaced at once."""
        with self._lock:
            keep, gone = self._sorted()
            proc = keep.pop(0)[1] if keep else None
            self._spares = keep
        for old in gone:
            _end(old)
        self.fill()
        return proc

    def pids(self) -> list[int]:
        """The spares' process ids (oldest first)."""
        with self._lock:
            return [proc.pid for _, proc in self._spares]

    def close(self) -> None:
        """End every spare and its kernel; no spare starts after this."""
        with self._lock:
            self._closed = True
            spares, self._spares = self._spares, []
        for _, proc in spares:
            _end(proc)

    def _sorted(self) -> tuple[list[tuple[float, subprocess.Popen[str]]], list[subprocess.Popen[str]]]:
        now = time.monotonic()
        keep = [(born, p) for born, p in self._spares if p.poll() is None and now - born < self.max_age]
        gone = [p for born, p in self._spares if (born, p) not in keep]
        return keep, gone


def _end(proc: subprocess.Popen[str]) -> None:
    end_process(proc)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            try:
                stream.close()
            except OSError:  # a spec that never went: nobody reads it
                pass
