"""Background work as a queue in the metadata store: leases, heartbeats, one result per job.

A job is a row of ``jobs`` (kind, repo, commit; one row per triple). Whoever makes work adds
the job in its own transaction (:func:`add`), so that work is never lost between a change and
its job. A worker claims the oldest claimable job of the kinds it knows with a
compare-and-swap (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serializes writers already)
and holds it under a lease that a heartbeat renews. A worker that dies (``kill -9``) stops
renewing; once the lease has expired another worker, in this process or another, claims the
job again, up to ``MAX_ATTEMPTS`` times. A handler finishes its job in the same transaction as
the work it publishes (:meth:`JobContext.complete`), and only while it still holds the job,
so no two processes ever publish one job twice.

The queue knows no kinds: each user brings its handlers (the dataset viewer's conversions are
:mod:`workbench.viewer.jobs`).

>>> job = claim(store, worker_name(), lease_seconds=60, kinds=("parquet",))   # doctest: +SKIP
>>> if job: run_job(store, settings, job, worker, handlers, lease_seconds=60)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from workbench.config import HubSettings
from workbench.store import models as m
from workbench.store.store import Store, insert_missing, utcnow

log = logging.getLogger(__name__)

STATUSES = ("pending", "running", "done", "failed", "skipped")
MAX_ATTEMPTS = 3
POLL_SECONDS = 0.5
MAX_ERROR_CHARS = 4000


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

    def superseded(self, session: Session) -> bool:
        """Whether a newer job of this kind was queued for the repo (whose result would be
        the useful one)."""
        newer = session.scalar(
            select(m.Job.id)
            .where(m.Job.repo_id == self.job.repo_id, m.Job.kind == self.job.kind, m.Job.id > self.job.id)
            .limit(1)
        )
        return newer is not None

    def finish(self, session: Session, *, superseded: bool, by: str = "job") -> None:
        """:meth:`complete` without a result: done, or skipped when a newer ``by`` (its
        :meth:`superseded`) made this job's work useless."""
        if superseded:
            self.complete(session, result=None, status="skipped", error=f"Superseded by a newer {by}.")
        else:
            self.complete(session, result=None)

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


def worker_name(index: int = 0, pid: int | None = None) -> str:
    """``host:pid:index:random``; ``pid``: the hub process the worker works for (default this
    one), so the jobs table says which hub ran a job."""
    return f"{socket.gethostname()[:32]}:{pid or os.getpid()}:{index}:{secrets.token_hex(3)}"


def _claimable(now: datetime) -> Any:
    return or_(m.Job.status == "pending", and_(m.Job.status == "running", m.Job.lease_until < now))


def _pending(kind: str, repo_id: int, commit: str, now: datetime) -> dict[str, Any]:
    return {
        "kind": kind,
        "repo_id": repo_id,
        "commit": commit,
        "status": "pending",
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }


def add(session: Session, kind: str, repo_id: int, commit: str) -> None:
    """Queue a new job in the caller's transaction (the commit it is for is new too)."""
    session.add(m.Job(**_pending(kind, repo_id, commit, utcnow())))


def add_missing(session: Session, kind: str, repo_id: int, commit: str) -> None:
    """Queue a job unless one exists for that (kind, repo, commit), whoever adds it first."""
    insert_missing(session, m.Job, **_pending(kind, repo_id, commit, utcnow()))


def enqueue(session: Session, kind: str, repo_id: int, commit: str) -> None:
    """Queue ``kind`` for a commit, or queue it again if it failed (a done job stays done)."""
    row = session.scalar(
        select(m.Job).where(m.Job.kind == kind, m.Job.repo_id == repo_id, m.Job.commit == commit)
    )
    if row is None:
        add(session, kind, repo_id, commit)
    elif row.status in ("failed", "skipped"):
        row.status, row.error, row.attempts, row.worker = "pending", None, 0, None
        row.lease_until, row.updated_at = None, utcnow()


def claim(
    store: Store, worker: str, *, lease_seconds: float, kinds: tuple[str, ...], where: Any = None
) -> JobInfo | None:
    """Take the oldest pending job of ``kinds`` (or one whose worker's lease expired), or None.

    ``where``: a further condition on ``jobs`` rows the worker may take (evaluation runners:
    the jobs whose labels they have, ``workbench.store.runners``)."""
    now = utcnow()
    extra = [where] if where is not None else []
    with store.read() as s:  # a cheap look first: idle polling takes no write lock
        if s.scalar(select(m.Job.id).where(_claimable(now), m.Job.kind.in_(kinds), *extra).limit(1)) is None:
            return None
    while True:
        now = utcnow()
        with store.write() as s:
            row = s.scalar(
                select(m.Job)
                .where(_claimable(now), m.Job.kind.in_(kinds), *extra)
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


def describe_error(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:MAX_ERROR_CHARS]


def run_job(
    store: Store,
    settings: HubSettings,
    job: JobInfo,
    worker: str,
    handlers: Mapping[str, Handler],
    *,
    lease_seconds: float,
) -> None:
    """Run one claimed job with a heartbeat; failures are recorded on the job, never raised."""
    done = threading.Event()

    def beat() -> None:
        while not done.wait(lease_seconds / 3):
            try:
                if not heartbeat(store, job.id, worker, lease_seconds=lease_seconds):
                    return
            except OperationalError as exc:
                log.warning("heartbeat of job %s failed: the database does not answer (%s)", job.id, exc.orig)
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


class WorkerThreads:
    """``count`` daemon threads claiming and running jobs of ``handlers``' kinds until
    :meth:`stop`."""

    def __init__(
        self,
        store: Store,
        settings: HubSettings,
        handlers: Mapping[str, Handler],
        *,
        count: int,
        lease_seconds: float,
        hub_pid: int | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.handlers = handlers
        self.count = count
        self.lease_seconds = lease_seconds
        self.hub_pid = hub_pid
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for i in range(self.count):
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
        kinds = tuple(self.handlers)
        while not self._stop.is_set():
            try:
                job = claim(self.store, worker, lease_seconds=self.lease_seconds, kinds=kinds)
            except OperationalError as exc:  # the database restarts or is away: it comes back
                log.warning("claiming a job failed: the database does not answer (%s)", exc.orig)
                job = None
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
            run_job(self.store, self.settings, job, worker, self.handlers, lease_seconds=self.lease_seconds)
