"""The dataset viewer's background jobs: its kinds and handlers, and the process that runs them.

The queue itself (leases, heartbeats, one result per job) is :mod:`workbench.store.jobs`.
Commits to a dataset's ``main`` queue a ``parquet`` conversion in their own transaction
(``store.head_updates``); a conversion queues ``statistics`` and ``search`` for the Parquet
commit it made. :class:`JobWorkers` runs ``settings.viewer_workers`` threads that drain
those kinds, in a child process of the hub, beside the webhook dispatcher
(:mod:`workbench.store.webhook_delivery`, ``settings.webhook_workers`` senders), whose
receivers may be slow and must hold up neither requests nor conversions. Every
``SWEEP_SECONDS`` the same process opens the results pull requests that verified push runs
still owe their models (:func:`workbench.store.eval_prs.sweep`: one that failed, or whose
hub died before opening it).

>>> workers = JobWorkers(store, settings)      # doctest: +SKIP
>>> workers.start(); ...; workers.stop()       # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from workbench.config import HubSettings
from workbench.store import eval_prs
from workbench.store import jobs as queue
from workbench.store import models as m
from workbench.store.jobs import POLL_SECONDS, Handler, JobInfo, WorkerThreads
from workbench.store.store import Store
from workbench.store.webhook_delivery import WebhookDispatcher
from workbench.viewer.convert import cleanup_workspaces, run_conversion
from workbench.viewer.searchindex import run_search_index
from workbench.viewer.statistics import run_statistics

log = logging.getLogger(__name__)

HANDLERS: dict[str, Handler] = {
    "parquet": run_conversion,
    "statistics": run_statistics,
    "search": run_search_index,
}
KINDS = tuple(HANDLERS)
SWEEP_SECONDS = 2.0


def claim(
    store: Store, worker: str, *, lease_seconds: float, kinds: tuple[str, ...] = KINDS
) -> JobInfo | None:
    """The queue's ``claim``, for the viewer's kinds."""
    return queue.claim(store, worker, lease_seconds=lease_seconds, kinds=kinds)


def run_job(store: Store, settings: HubSettings, job: JobInfo, worker: str) -> None:
    """Run one claimed viewer job (see ``store.jobs.run_job``)."""
    queue.run_job(store, settings, job, worker, HANDLERS, lease_seconds=settings.viewer_lease_seconds)


def enqueue_missing(store: Store) -> int:
    """Queue conversions for dataset heads that have none (repos older than the viewer)."""
    with store.write() as s:
        heads = s.execute(
            select(m.Repo.id, m.Ref.commit_oid)
            .join(m.Ref, m.Ref.repo_id == m.Repo.id)
            .join(m.Commit, m.Commit.oid == m.Ref.commit_oid)
            .where(m.Repo.type == "dataset", m.Ref.kind == "branch", m.Ref.name == "main", m.Commit.depth > 0)
        ).all()
        queued = set(s.scalars(select(m.Job.commit).where(m.Job.kind == "parquet")))
        missing = [(repo_id, oid) for repo_id, oid in heads if oid not in queued]
        for repo_id, oid in missing:  # other processes start too: whoever is first adds it
            queue.add_missing(s, "parquet", repo_id, oid)
    if missing:
        log.info("queued the conversion of %d dataset(s) made before the viewer", len(missing))
    return len(missing)


class JobWorkers:
    """The hub's job workers: ``settings.viewer_workers`` threads in a child process, for the
    hub's lifetime.

    In a process of their own, not threads of the hub's: a conversion or a search index of a
    large table holds the GIL for much of its work (rows turned into Python values for FTS5,
    imports), which held every request of the hub behind it while a large table was
    converted and indexed (bench/README.md, "viewer jobs"). The child dies with the hub
    (``PR_SET_PDEATHSIG`` on Linux, and it exits when its parent changes), so a hub killed
    with ``kill -9`` leaves its jobs to their leases.
    """

    def __init__(self, store: Store, settings: HubSettings) -> None:
        self.store = store
        self.settings = settings
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.settings.viewer_workers:
            cleanup_workspaces(self.store)
            try:
                enqueue_missing(self.store)
            except Exception:  # never keep the hub from starting over this
                log.exception("could not queue the conversion of older datasets")
        elif not self.settings.webhook_workers:
            return
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "workbench.viewer.jobs", str(os.getpid())], stdin=subprocess.PIPE
        )
        assert self._proc.stdin is not None
        self._proc.stdin.write(self.settings.model_dump_json().encode())
        self._proc.stdin.close()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the child; a job still running after ``timeout`` is left to its lease."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _die_with(parent: int) -> None:
    """SIGKILL this process when ``parent`` goes, however it goes (Linux); elsewhere, or if it
    went already, the child's parent check ends it."""
    if sys.platform == "linux":
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:
        os._exit(0)


def _open_when_up(settings: HubSettings, stop: threading.Event) -> Store | None:
    """The store, once its database answers: the child may start while the database restarts,
    and must not die of it (nothing would convert until the hub restarts). None on SIGTERM."""
    wait = 1.0
    while True:
        try:
            return Store.open(settings)
        except OperationalError as exc:
            log.warning("the database does not answer (%s); trying again in %.0f s", exc.orig, wait)
        if stop.wait(wait):
            return None
        wait = min(wait * 2, 30.0)


def _sweep(store: Store, settings: HubSettings) -> None:
    try:
        eval_prs.sweep(store, max_chars=settings.max_comment_chars)
    except OperationalError as exc:  # the database restarts or is away: it comes back
        log.warning("sweeping results pull requests failed: the database does not answer (%s)", exc.orig)
    except Exception:
        log.exception("sweeping results pull requests failed")


def _child() -> None:
    """``python -m workbench.viewer.jobs HUB_PID``: the hub's settings (JSON) on stdin; runs
    the job threads until SIGTERM, or until the hub that started it is gone."""
    parent = int(sys.argv[1])
    _die_with(parent)
    settings = HubSettings.model_validate_json(sys.stdin.read())
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    store = _open_when_up(settings, stop)
    if store is None:
        return
    threads = WorkerThreads(
        store,
        settings,
        HANDLERS,
        count=settings.viewer_workers,
        lease_seconds=settings.viewer_lease_seconds,
        hub_pid=parent,
    )
    threads.start()
    webhooks = WebhookDispatcher(store, settings) if settings.webhook_workers else None
    if webhooks is not None:
        webhooks.start()
    swept = 0.0
    try:
        while not stop.wait(POLL_SECONDS):
            if os.getppid() != parent:  # the hub died (where no death signal exists)
                os._exit(0)
            if time.monotonic() - swept >= SWEEP_SECONDS:
                swept = time.monotonic()
                _sweep(store, settings)
    finally:
        if webhooks is not None:
            webhooks.stop()
        threads.stop()
        store.close()


if __name__ == "__main__":
    _child()
