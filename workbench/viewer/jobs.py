"""Background work as a queue in the metadata store, and the worker process that drains it.

A job is a row of ``jobs`` (kind, repo, commit). Commits to a dataset's ``main`` add one in
their own transaction (``store.commits.create_commit``), so a commit never goes without its
job. A worker claims the oldest claimable job with a compare-and-swap (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL; SQLite serializes writers already) and holds it under a lease that a
heartbeat renews. A worker that dies (``kill -9``) stops renewing; once the lease has expired
another worker, in this process or another, claims the job again. The handler finishes its
job in the same transaction as the work it publishes (:meth:`JobContext.complete`), and only
while it still holds the job, so no two processes ever publish one job twice.

>>> workers = JobWorkers(store, settings)      # doctest: +SKIP
>>> workers.start(); ...; workers.stop()       # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from workbench.config import HubSettings
from workbench.store import models as m
from workbench.store.store import Store, insert_missing, utcnow

log = logging.getLogger(__name__)

STATUSES = ("pending", "running", "done", "failed", "skipped")
MAX_ATTEMPTS = 3
POLL_SECONDS = 0.5
MAX_ERROR_CHARS = 4000
KINDS = ("parquet", "statistics", "search")  # what the handlers below know


class LostLease(Exception):
    """The job was taken over by another worker (our lease expired); drop our result."""


@dataclass(frozen=True)
class JobInfo:
    id: int
    kind: str
    repo_id: int
    commit: str
    status: str
    error: str | None
    attempts: int
    result: str | None
    worker: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: m.Job) -> JobInfo:
        return cls(
            row.id,
            row.kind,
            row.repo_id,
            row.commit,
            row.status,
            row.error,
            row.attempts,
            row.result,
            row.worker,
            row.created_at,
            row.updated_at,
        )


@dataclass
class JobContext:
    """What a handler gets: the job, the store, and the means to finish it atomically."""

    store: Store
    settings: HubSettings
    job: JobInfo
    worker: str

    def held(self, session: Session) -> bool:
        return (
            session.scalar(
                select(m.Job.id).where(
                    m.Job.id == self.job.id, m.Job.worker == self.worker, m.Job.status == "running"
                )
            )
            is not None
        )

    def complete(
        self, session: Session, *, result: str | None, status: str = "done", error: str | None = None
    ) -> None:
        """Mark the job finished inside ``session``'s transaction; raise LostLease if not ours."""
        moved = session.execute(
            update(m.Job)
            .where(m.Job.id == self.job.id, m.Job.worker == self.worker, m.Job.status == "running")
            .values(status=status, result=result, error=error, lease_until=None, updated_at=utcnow())
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            raise LostLease(f"job {self.job.id} was taken over by another worker")


Handler = Callable[[JobContext], None]


def _handlers() -> dict[str, Handler]:
    from workbench.viewer.convert import run_conversion
    from workbench.viewer.searchindex import run_search_index
    from workbench.viewer.statistics import run_statistics

    return {"parquet": run_conversion, "statistics": run_statistics, "search": run_search_index}


def worker_name(index: int = 0, pid: int | None = None) -> str:
    """``host:pid:index:random``; ``pid``: the hub process the worker works for (default this
    one), so the jobs table says which hub ran a job."""
    return f"{socket.gethostname()[:32]}:{pid or os.getpid()}:{index}:{secrets.token_hex(3)}"


def _claimable(now: datetime):  # type: ignore[no-untyped-def]
    return or_(m.Job.status == "pending", and_(m.Job.status == "running", m.Job.lease_until < now))


def enqueue(session: Session, kind: str, repo_id: int, commit: str) -> None:
    """Queue ``kind`` for a commit, or queue it again if it failed (a done job stays done)."""
    now = utcnow()
    row = session.scalar(
        select(m.Job).where(m.Job.kind == kind, m.Job.repo_id == repo_id, m.Job.commit == commit)
    )
    if row is None:
        session.add(
            m.Job(
                kind=kind,
                repo_id=repo_id,
                commit=commit,
                status="pending",
                attempts=0,
                created_at=now,
                updated_at=now,
            )
        )
    elif row.status in ("failed", "skipped"):
        row.status, row.error, row.attempts, row.worker = "pending", None, 0, None
        row.lease_until, row.updated_at = None, now


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
        now = utcnow()
        missing = [(repo_id, oid) for repo_id, oid in heads if oid not in queued]
        for repo_id, oid in missing:  # ON CONFLICT DO NOTHING: other processes start too
            insert_missing(
                s,
                m.Job,
                kind="parquet",
                repo_id=repo_id,
                commit=oid,
                status="pending",
                attempts=0,
                created_at=now,
                updated_at=now,
            )
    if missing:
        log.info("queued the conversion of %d dataset(s) made before the viewer", len(missing))
    return len(missing)


def claim(
    store: Store, worker: str, *, lease_seconds: float, kinds: tuple[str, ...] = KINDS
) -> JobInfo | None:
    """Take the oldest pending job (or one whose worker's lease expired), or None."""
    now = utcnow()
    with store.read() as s:  # a cheap look first: idle polling takes no write lock
        if s.scalar(select(m.Job.id).where(_claimable(now), m.Job.kind.in_(kinds)).limit(1)) is None:
            return None
    while True:
        now = utcnow()
        with store.write() as s:
            row = s.scalar(
                select(m.Job)
                .where(_claimable(now), m.Job.kind.in_(kinds))
                .order_by(m.Job.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if row is None:
                return None
            if row.status == "running" and row.attempts >= MAX_ATTEMPTS:
                log.warning(
                    "job %s (%s of %s) lost its worker %d times; marking it failed",
                    row.id,
                    row.kind,
                    row.commit,
                    row.attempts,
                )
                row.status, row.lease_until, row.updated_at = "failed", None, now
                row.error = (
                    f"The worker running this job stopped {row.attempts} times "
                    f"(last: {row.worker}) without finishing it; giving up. The hub "
                    "log of that process may say why (e.g. out of memory)."
                )
                continue
            moved = s.execute(
                update(m.Job)
                .where(m.Job.id == row.id, _claimable(now))
                .values(
                    status="running",
                    attempts=m.Job.attempts + 1,
                    worker=worker,
                    lease_until=now + timedelta(seconds=lease_seconds),
                    updated_at=now,
                )
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                return None
            s.flush()
            s.refresh(row)
            return JobInfo.of(row)


def heartbeat(store: Store, job_id: int, worker: str, *, lease_seconds: float) -> bool:
    """Extend our lease; False if the job is no longer ours."""
    now = utcnow()
    with store.write() as s:
        moved = s.execute(
            update(m.Job)
            .where(m.Job.id == job_id, m.Job.worker == worker, m.Job.status == "running")
            .values(lease_until=now + timedelta(seconds=lease_seconds), updated_at=now)
        )
        return bool(moved.rowcount == 1)  # type: ignore[attr-defined]


def fail(store: Store, job: JobInfo, worker: str, error: str) -> None:
    with store.write() as s:
        s.execute(
            update(m.Job)
            .where(m.Job.id == job.id, m.Job.worker == worker, m.Job.status == "running")
            .values(status="failed", error=error[:MAX_ERROR_CHARS], lease_until=None, updated_at=utcnow())
        )


def run_job(
    store: Store, settings: HubSettings, job: JobInfo, worker: str, handlers: dict[str, Handler] | None = None
) -> None:
    """Run one claimed job with a heartbeat; failures are recorded on the job, never raised."""
    handlers = handlers if handlers is not None else _handlers()
    lease = settings.viewer_lease_seconds
    done = threading.Event()

    def beat() -> None:
        while not done.wait(lease / 3):
            try:
                if not heartbeat(store, job.id, worker, lease_seconds=lease):
                    return
            except Exception:
                log.exception("heartbeat of job %s failed", job.id)

    beater = threading.Thread(target=beat, name=f"wb-heartbeat-{job.id}", daemon=True)
    beater.start()
    try:
        handler = handlers.get(job.kind)
        if handler is None:
            fail(store, job, worker, f"No handler for jobs of kind {job.kind!r}.")
            return
        handler(JobContext(store, settings, job, worker))
    except LostLease:
        log.warning("job %s was taken over by another worker; result dropped", job.id)
    except Exception as exc:
        log.info("job %s (%s of %s) failed: %s", job.id, job.kind, job.commit, exc)
        try:
            fail(store, job, worker, describe_error(exc))
        except Exception:
            log.exception("could not record the failure of job %s", job.id)
    finally:
        done.set()
        beater.join(5)


def describe_error(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:MAX_ERROR_CHARS]


def drain(store: Store, settings: HubSettings, *, worker: str | None = None) -> int:
    """Run claimable jobs in this thread until none is left; return how many ran."""
    worker = worker or worker_name()
    n = 0
    while (job := claim(store, worker, lease_seconds=settings.viewer_lease_seconds)) is not None:
        run_job(store, settings, job, worker)
        n += 1
    return n


class _Threads:
    """``settings.viewer_workers`` daemon threads polling the queue until :meth:`stop`."""

    def __init__(self, store: Store, settings: HubSettings, hub_pid: int) -> None:
        self.store = store
        self.settings = settings
        self.hub_pid = hub_pid
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for i in range(self.settings.viewer_workers):
            t = threading.Thread(
                target=self._loop, args=(worker_name(i, self.hub_pid),), name=f"wb-jobs-{i}", daemon=True
            )
            t.start()
            self._threads.append(t)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop polling; a job still running after ``timeout`` is left to its lease."""
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
        self._threads.clear()

    def _loop(self, worker: str) -> None:
        log.info("job worker %s started", worker)
        while not self._stop.is_set():
            try:
                job = claim(self.store, worker, lease_seconds=self.settings.viewer_lease_seconds)
            except Exception:
                log.exception("claiming a job failed")
                job = None
            if job is None:
                self._stop.wait(POLL_SECONDS)
                continue
            log.info(
                "job %s: %s of commit %s (attempt %d) on %s",
                job.id,
                job.kind,
                job.commit,
                job.attempts,
                worker,
            )
            run_job(self.store, self.settings, job, worker)


class JobWorkers:
    """The hub's job workers: ``settings.viewer_workers`` threads in a child process, for the
    hub's lifetime.

    In a process of their own, not threads of the hub's: a conversion or a search index of a
    large table holds the GIL for much of its work (rows turned into Python values for FTS5,
    imports), which held every request of the hub behind it (an authenticated request's p95
    9 ms when idle, 20-25 ms and stalls of 200 ms while a 1M-row table was converted and
    indexed). The child dies with the hub (``PR_SET_PDEATHSIG`` on Linux, and it exits when
    its parent changes), so a hub killed with ``kill -9`` leaves its jobs to their leases, as
    before.
    """

    def __init__(self, store: Store, settings: HubSettings) -> None:
        self.store = store
        self.settings = settings
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if not self.settings.viewer_workers:
            return
        from workbench.viewer.convert import cleanup_workspaces

        cleanup_workspaces(self.store)
        try:
            enqueue_missing(self.store)
        except Exception:  # never keep the hub from starting over this
            log.exception("could not queue the conversion of older datasets")
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
    store = Store.open(settings)
    threads = _Threads(store, settings, parent)
    threads.start()
    try:
        while not stop.wait(POLL_SECONDS):
            if os.getppid() != parent:  # the hub died (where no death signal exists)
                os._exit(0)
    finally:
        threads.stop()
        store.close()


if __name__ == "__main__":
    _child()
