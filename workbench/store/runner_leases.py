"""The runner's side of evaluation jobs: leasing a job, heartbeats, progress, and the record.

A runner leases the oldest queued job whose labels it has (:func:`lease_job`, the queue's own
claim, with a fresh short-lived read token for the job's kernel), renews the lease
(:func:`heartbeat`), streams progress (:func:`add_events`) and ends the attempt with the
record (:func:`complete_job`, stored verified, only while the runner still holds the job),
a release (:func:`release_job`, the job queued again) or a failure (:func:`fail_job`).
Registering runners and queueing jobs are in :mod:`workbench.store.runners`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from workbench.errors import Conflict, InvalidRequest, NotFound
from workbench.store import jobs
from workbench.store import models as m
from workbench.store.accounts import principal_for
from workbench.store.eval_prs import owe
from workbench.store.evals import RunInput, RunView, create_run
from workbench.store.reproduction import derive
from workbench.store.runners import (
    JOB_TOKEN_PREFIX,
    KIND,
    MAX_EVENTS_PER_POST,
    EvalJob,
    EvalJobEvent,
    JobView,
    Runner,
    RunnerInfo,
    add_event,
    hash_token,
    job_view,
    takes_labels,
)
from workbench.store.store import Store, utcnow


@dataclass(frozen=True)
class Lease:
    job: JobView
    lease: str  # the queue's worker name for this attempt
    read_token: str
    spec: dict[str, Any]  # the full spec (the notebook's content included)


def lease_job(
    store: Store, runner: RunnerInfo, *, lease_seconds: float, offered: list[str] | None = None
) -> Lease | None:
    """Lease the oldest queued job whose labels ``runner`` has, or None (also when paused).

    ``offered``: the labels the runner process offers now (``workbench runner --labels``), of
    those it was registered with; None: all of them."""
    with store.read() as s:
        row = s.scalar(select(Runner).where(Runner.name == runner.name))
        if row is None or row.paused:
            return None
    labels = [x for x in runner.labels if offered is None or x in offered]
    eligible = takes_labels(labels)
    worker = f"{runner.name}:{secrets.token_hex(4)}"
    info = jobs.claim(store, worker, lease_seconds=lease_seconds, kinds=(KIND,), where=eligible)
    if info is None:
        return None
    token = JOB_TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.write() as s:
        job = s.get(EvalJob, info.id)
        if job is None:  # a job row of kind eval without its eval_jobs row: not ours to run
            jobs.fail(store, info, worker, "No evaluation spec for this job.")
            return None
        job.runner, job.read_token_hash = runner.name, hash_token(token)
        add_event(s, job.id, "leased", runner=runner.name, attempt=info.attempts)
        s.flush()
        return Lease(job_view(s, job.id), worker, token, dict(job.spec))


def touch(s: Session, runner: RunnerInfo) -> None:
    """Record that the runner was seen (at most a write per call)."""
    s.execute(update(Runner).where(Runner.name == runner.name).values(last_seen=utcnow()))


def _held(s: Session, runner: RunnerInfo, job_id: int, lease: str) -> EvalJob:
    if not isinstance(lease, str) or not lease.startswith(runner.name + ":"):
        raise Conflict("That lease is not this runner's.", code="LeaseLost")
    job = s.get(EvalJob, job_id)
    held = s.scalar(
        select(m.Job.id).where(m.Job.id == job_id, m.Job.worker == lease, m.Job.status == "running")
    )
    if job is None or held is None:
        raise Conflict(
            f"Job {job_id} is no longer leased to this runner (cancelled, or its lease expired and "
            "another runner took it): drop its result.",
            code="LeaseLost",
        )
    return job


def heartbeat(store: Store, runner: RunnerInfo, job_id: int, lease: str, *, lease_seconds: float) -> bool:
    """Renew the lease; False when the job is no longer this runner's (cancelled, re-leased)."""
    ok = (
        jobs.heartbeat(store, job_id, lease, lease_seconds=lease_seconds)
        if lease.startswith(runner.name + ":")
        else False
    )
    with store.write() as s:
        touch(s, runner)
    return ok


def add_events(s: Session, runner: RunnerInfo, job_id: int, lease: str, events: list[Any]) -> None:
    _held(s, runner, job_id, lease)
    if len(events) > MAX_EVENTS_PER_POST:
        raise InvalidRequest(f"At most {MAX_EVENTS_PER_POST} events per post.", code="InvalidField")
    now = utcnow()
    for event in events:
        if not isinstance(event, dict):
            raise InvalidRequest("Each event is a JSON object.", code="InvalidField")
        s.add(EvalJobEvent(job_id=job_id, event=event, created_at=now))


def _finish(s: Session, job_id: int, lease: str, *, status: str, error: str | None) -> None:
    moved = s.execute(
        update(m.Job)
        .where(m.Job.id == job_id, m.Job.worker == lease, m.Job.status == "running")
        .values(status=status, error=error, lease_until=None, updated_at=utcnow())
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            f"Job {job_id} is no longer leased to this runner: its result is dropped.", code="LeaseLost"
        )


def complete_job(
    store: Store, s: Session, runner: RunnerInfo, job_id: int, lease: str, data: RunInput
) -> RunView:
    """Store the runner's record of job ``job_id`` as verified, and finish the job, in one
    transaction and only while this lease holds it. The record must carry the job's pins."""
    job = _held(s, runner, job_id, lease)
    spec = job.spec
    wrong = [
        k
        for k, got in (
            ("model", data.model),
            ("dataset", data.dataset),
            ("model_commit", data.model_commit),
            ("dataset_commit", data.dataset_commit),
        )
        if got != spec[k]
    ]
    if wrong:
        raise InvalidRequest(
            f"The record does not carry the job's pins ({', '.join(wrong)} differ).", code="RecordPinsDiffer"
        )
    data.reproduction_of = spec.get("reproduction_of")
    owner = s.get(m.Account, job.owner_id)
    if owner is None:
        raise NotFound(f"The owner of job {job_id} no longer exists.", code="JobNotFound")
    record = create_run(store, s, principal_for(s, owner, "write"), data, verified_by=runner.name)
    error = None
    if record.status != "succeeded":
        error = str((record.error or {}).get("message") or "The run failed.")[: jobs.MAX_ERROR_CHARS]
    _finish(s, job_id, lease, status="done" if error is None else "failed", error=error)
    job.record_id, job.read_token_hash = record.id, None
    add_event(s, job_id, "record", id=record.id, status=record.status)
    owe(s, job, record)  # a push's results pull request, opened by eval_prs.settle
    if spec.get("reproduction_of"):
        derive(
            s,
            spec["reproduction_of"],
            record.id,
            by=f"runner {runner.name}",
            fix=f"`workbench eval reproduce {spec['reproduction_of']} --on hub` queues a runner re-run",
        )
    s.flush()
    return record


def release_job(s: Session, runner: RunnerInfo, job_id: int, lease: str) -> None:
    """Hand a job back to the queue (a runner that stops): another runner leases it next."""
    job = _held(s, runner, job_id, lease)
    s.execute(
        update(m.Job)
        .where(m.Job.id == job_id, m.Job.worker == lease, m.Job.status == "running")
        .values(status="pending", worker=None, lease_until=None, updated_at=utcnow())
    )
    job.read_token_hash = None
    add_event(s, job_id, "released", runner=runner.name)


def fail_job(s: Session, runner: RunnerInfo, job_id: int, lease: str, error: str) -> JobView:
    """The runner could not produce a record (pins that no longer resolve ...): failed, with
    the reason, nothing posted."""
    job = _held(s, runner, job_id, lease)
    text = (error or "The runner gave no reason.")[: jobs.MAX_ERROR_CHARS]
    _finish(s, job_id, lease, status="failed", error=text)
    job.read_token_hash = None
    add_event(s, job_id, "failed", error=text)
    s.flush()
    return job_view(s, job_id)
