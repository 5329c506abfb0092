"""The peak resident memory of a process while a block runs, sampled from another thread.

>>> with PeakRss(hub.proc.pid) as rss:        # doctest: +SKIP
...     api.upload_file(...)
>>> rss.grown                                  # bytes above the RSS at the start
"""

from __future__ import annotations

import threading
from types import TracebackType

import psutil


class PeakRss:
    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.baseline = 0
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            self._done.wait(self.interval)

    def __enter__(self) -> PeakRss:
        self.baseline = self.peak = self.process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._done.set()
        self._thread.join()

    @property
    def grown(self) -> int:
        return self.peak - self.baseline
