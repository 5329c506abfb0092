"""Download counts: tallied in memory by the request path, written to the store in batches.

A download (a ``GET /resolve`` that the HF clients flag with ``X-HF-Download-Counter: 1``)
must not cost a database write: ``add`` only bumps a counter. A background task of the hub
writes the tallies every ``FLUSH_SECONDS`` (and once more at shutdown), one UPDATE per repo
in one transaction. Counts of a failed write are kept for the next one; a crash loses at most
the last few seconds of counts.

>>> counter = DownloadCounter(store)          # doctest: +SKIP
>>> counter.add(repo.id); counter.flush()     # doctest: +SKIP
1
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from sqlalchemy import update

from workbench.store import models as m
from workbench.store.store import Store

log = logging.getLogger(__name__)

FLUSH_SECONDS = 2.0


class DownloadCounter:
    def __init__(self, store: Store, *, interval: float = FLUSH_SECONDS) -> None:
        self.store = store
        self.interval = interval
        self._counts: Counter[int] = Counter()
        self._lock = threading.Lock()

    def add(self, repo_id: int, n: int = 1) -> None:
        """Count ``n`` downloads of a repo (cheap; called from request handlers' threads)."""
        with self._lock:
            self._counts[repo_id] += n

    def flush(self) -> int:
        """Write the pending counts; return how many repos were updated."""
        with self._lock:
            pending, self._counts = self._counts, Counter()
        if not pending:
            return 0
        try:
            with self.store.write() as s:
                for repo_id, n in sorted(pending.items()):  # a fixed order: no lock cycles
                    s.execute(
                        update(m.Repo).where(m.Repo.id == repo_id).values(downloads=m.Repo.downloads + n)
                    )
        except Exception:
            log.exception(
                "could not write %d download counts; keeping them for the next try", sum(pending.values())
            )
            with self._lock:
                self._counts.update(pending)
            return 0
        return len(pending)

    async def _loop(self) -> None:
        while True:
            await anyio.sleep(self.interval)
            await anyio.to_thread.run_sync(self.flush)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Flush in the background while the block runs, and once more when it ends."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._loop)
            try:
                yield
            finally:
                tg.cancel_scope.cancel()
        await anyio.to_thread.run_sync(self.flush)
