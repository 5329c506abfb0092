"""Runners and evaluation jobs: verified records from machines the team trusts.

A hub admin registers a runner (:func:`register_runner`): it gets a token of its own kind
(``wbr_...``, stored as its SHA-256) that opens the runner endpoints and nothing else. A user
queues an evaluation job (:func:`queue_job`): the model, dataset and metric repos are pinned
to exact commits right away, so the job runs what was asked even if a branch moves. The job
is a row of the generic queue (``workbench.store.jobs``, kind ``eval``) plus an ``eval_jobs``
row: a runner leases it with the queue's own claim (only jobs whose labels the runner has),
renews the lease with heartbeats, and a runner that dies stops renewing, so another runner
leases the job again once the lease expired. Each lease issues a short-lived read token
(``wbj_...``, :func:`job_principal`) that reads the job's pinned repos and nothing else, for
the notebook's kernel.

The runner completes the job with the record (:func:`complete_job`): stored ``verified`` with
``verified_by`` the runner's name, in the same transaction that finishes the job and only while
the runner still holds it, so a re-leased job never gets two records. This is the only way a
record becomes verified. A reproduction job's record is attached to the original with the one
rule of ``workbench.store.reproduction`` (:func:`~workbench.store.reproduction.derive`).

>>> with store.write() as s:                                               # doctest: +SKIP
...     info, token = register_runner(s, admin, "gpu-box", labels=["gpu"])
...     job = queue_job(store, s, alice, JobRequest(model="alice/m", dataset="alice/d"))
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from bisect import bisect_left
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    and_,
    exists,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from workbench.errors import AuthenticationError, Conflict, InvalidRequest, NotFound, PermissionDenied
from workbench.names import split_repo_id
from workbench.store import models as m
from workbench.store.access import Principal, readable_repo, require_admin, require_write_scope
from workbench.store.accounts import TOKEN_PREFIX, authenticate
from workbench.store.evals import visible_run
from workbench.store.refs import resolve_revision
from workbench.store.store import Store, insert_missing, utcnow

RUNNER_TOKEN_PREFIX = "wbr_"
JOB_TOKEN_PREFIX = "wbj_"
KIND = "eval"
STATES = ("queued", "running", "succeeded", "failed", "cancelled")
# the generic queue's statuses, as a job's state
_STATE = {
    "pending": "queued",
    "running": "running",
    "done": "succeeded",
    "failed": "failed",
    "skipped": "cancelled",
}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,47}")
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MAX_LABELS = 16
MAX_EVENTS_PER_POST = 200
MAX_JOB_NOTEBOOK_BYTES = 2 * 1024**2
DEFAULT_TIMEOUT = 3600.0
MAX_TIMEOUT = 7 * 24 * 3600.0
MAX_LEASE_WAIT = 30.0  # the longest a lease request long-polls (an idle runner's heartbeat)


class Runner(m.Base):
    """A registered runner (migration 0026)."""

    __tablename__ = "runners"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    labels: Mapped[list] = mapped_column(JSON)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class EvalJob(m.Base):
    """What an ``eval`` row of ``jobs`` is for: who asked, the pinned spec, its outcome."""

    __tablename__ = "eval_jobs"
    id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # run | reproduce
    spec: Mapped[dict] = mapped_column(JSON)
    timeout: Mapped[float | None] = mapped_column(Float, nullable=True)
    runner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    record_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    read_token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    #: ``user``, or ``push``: a model commit queued it (``workbench.store.eval_suites``; 0027)
    trigger: Mapped[str] = mapped_column(String(8), default="user", server_default="user")
    #: the pull request the hub opened on the model with the results (``eval_prs``; 0027)
    pull_request: Mapped[int | None] = mapped_column(Integer, nullable=True)


class EvalJobLabel(m.Base):
    """A label a runner must have to lease the job."""

    __tablename__ = "eval_job_labels"
    job_id: Mapped[int] = mapped_column(ForeignKey("eval_jobs.id", ondelete="CASCADE"), primary_key=True)
    label: Mapped[str] = mapped_column(String(64), primary_key=True)


class EvalJobEvent(m.Base):
    """A progress event the runner streamed (``{"event": "cell_start", ...}``)."""

    __tablename__ = "eval_job_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("eval_jobs.id", ondelete="CASCADE"), index=True)
    event: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)


def add_event(s: Session, job_id: int, kind: str, **fields: Any) -> None:
    """An event the hub adds to a job's progress, stamped ``at`` (Unix time) as a runner's are."""
    event = {"event": kind, **fields, "at": round(time.time(), 3)}
    s.add(EvalJobEvent(job_id=job_id, event=event, created_at=utcnow()))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- runners -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunnerInfo:
    name: str
    labels: list[str]
    paused: bool
    prefix: str
    created_at: datetime
    last_seen: datetime | None

    @classmethod
    def of(cls, row: Runner) -> RunnerInfo:
        return cls(row.name, list(row.labels), bool(row.paused), row.prefix, row.created_at, row.last_seen)


def check_labels(labels: list[str] | None) -> list[str]:
    """Labels as stored: unique, sorted; each ``[A-Za-z0-9][A-Za-z0-9._-]*`` (``InvalidLabel``)."""
    out = sorted({str(x).strip() for x in labels or [] if str(x).strip()})
    bad = [x for x in out if not _LABEL.fullmatch(x)]
    if bad or len(out) > MAX_LABELS:
        raise InvalidRequest(
            f"Invalid labels {', '.join(bad) or '(too many)'}: at most {MAX_LABELS} labels of letters, "
            "digits, '.', '_' and '-', such as gpu or cpu.",
            code="InvalidLabel",
        )
    return out


def register_runner(
    s: Session, p: Principal, name: str, *, labels: list[str] | None = None
) -> tuple[RunnerInfo, str]:
    """Register runner ``name`` (hub admins only); returns it and its token, shown once."""
    require_admin(p)
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidRequest(
            f"Invalid runner name {name!r}: up to 48 letters, digits, '.', '_' and '-'.",
            code="InvalidRunnerName",
        )
    if s.scalar(select(Runner.id).where(Runner.name == name)) is not None:
        raise Conflict(
            f"A runner named {name!r} exists; remove it first or pick another name.", code="RunnerExists"
        )
    token = RUNNER_TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = Runner(
        name=name,
        labels=check_labels(labels),
        paused=False,
        token_hash=hash_token(token),
        prefix=token[:8],
        created_at=utcnow(),
    )
    s.add(row)
    s.flush()
    return RunnerInfo.of(row), token


def _runner(s: Session, name: str) -> Runner:
    row = s.scalar(select(Runner).where(Runner.name == name))
    if row is None:
        raise NotFound(
            f"No runner named {name!r}: `workbench hub runner list` lists them.", code="RunnerNotFound"
        )
    return row


def list_runners(s: Session, p: Principal) -> list[RunnerInfo]:
    require_admin(p)
    return [RunnerInfo.of(r) for r in s.scalars(select(Runner).order_by(Runner.name))]


def set_paused(s: Session, p: Principal, name: str, paused: bool) -> RunnerInfo:
    """Pause (it leases nothing more; a job it runs finishes) or resume a runner."""
    require_admin(p)
    row = _runner(s, name)
    row.paused = paused
    return RunnerInfo.of(row)


def remove_runner(s: Session, p: Principal, name: str) -> None:
    """Remove a runner: its token stops working; a job it held is leased again once its lease expires."""
    require_admin(p)
    s.delete(_runner(s, name))


def is_online(info: RunnerInfo, *, within: float, now: datetime | None = None) -> bool:
    """Whether a runner takes jobs now: not paused, and seen (a lease request, a heartbeat)
    within the last ``within`` seconds."""
    if info.paused or info.last_seen is None:
        return False
    return info.last_seen >= (now or utcnow()) - timedelta(seconds=within)


def count_online(s: Session, p: Principal, requires: list[str], *, within: float) -> int:
    """How many runners are online (:func:`is_online`) with all of ``requires`` among their
    labels: what any signed-in user may know before queueing a job (no names, no tokens)."""
    _signed_in(p)
    wanted = set(check_labels(requires))
    now = utcnow()
    rows = s.scalars(select(Runner).where(Runner.paused.is_(False)))
    able = [RunnerInfo.of(row) for row in rows if wanted <= set(row.labels)]
    return sum(1 for info in able if is_online(info, within=within, now=now))


def online_window(lease_seconds: float) -> float:
    """Seconds since a runner was last seen for it to count as online (:func:`is_online`; the
    API, the lab's Runners panel and ``workbench hub runner list`` all use it): an idle runner
    asks for a job at least every ``MAX_LEASE_WAIT`` seconds, a busy one renews its lease every
    third of ``lease_seconds``.

    >>> online_window(30.0)
    60.0
    """
    return max(2 * MAX_LEASE_WAIT, lease_seconds)


@dataclass(frozen=True)
class HeldJob:
    """A job a runner runs now."""

    id: int
    model: str | None
    dataset: str | None


@dataclass(frozen=True)
class RunnerStatus:
    """A runner as its admins see it: whether online, and the jobs it runs now."""

    info: RunnerInfo
    online: bool
    jobs: list[HeldJob]


def running_jobs(s: Session, p: Principal) -> dict[str, list[HeldJob]]:
    """The jobs each runner holds now, by runner name (hub admins)."""
    require_admin(p)
    out: dict[str, list[HeldJob]] = {}
    for name, job_id, spec in s.execute(
        select(EvalJob.runner, EvalJob.id, EvalJob.spec)
        .join(m.Job, m.Job.id == EvalJob.id)
        .where(m.Job.status == "running", EvalJob.runner.is_not(None))
        .order_by(EvalJob.id)
    ):
        held = HeldJob(job_id, (spec or {}).get("model"), (spec or {}).get("dataset"))
        out.setdefault(str(name), []).append(held)
    return out


def runner_statuses(s: Session, p: Principal, *, lease_seconds: float) -> list[RunnerStatus]:
    """Every runner with whether it is online (:func:`online_window` of the hub's
    ``lease_seconds``) and the jobs it runs now (hub admins)."""
    within, now = online_window(lease_seconds), utcnow()
    held = running_jobs(s, p)
    return [
        RunnerStatus(info, is_online(info, within=within, now=now), held.get(info.name, []))
        for info in list_runners(s, p)
    ]


def is_runner_token(token: str | None) -> bool:
    return bool(token) and str(token).startswith(RUNNER_TOKEN_PREFIX)


def is_job_token(token: str | None) -> bool:
    return bool(token) and str(token).startswith(JOB_TOKEN_PREFIX)


def authenticate_runner(s: Session, token: str | None) -> RunnerInfo:
    """The runner a ``wbr_`` token belongs to; a user token gets 403, anything else 401."""
    if not token:
        raise AuthenticationError(
            "Runner endpoints need a runner token (`workbench hub runner register NAME`).",
            code="TokenRequired",
        )
    if not is_runner_token(token):
        if token.startswith(TOKEN_PREFIX):  # a lapsed user token says why first (401)
            authenticate(s, token)
        raise PermissionDenied(
            "Runner endpoints take a runner token, not a user token: an admin registers a runner "
            "with `workbench hub runner register NAME`.",
            code="RunnerTokenRequired",
        )
    row = s.scalar(select(Runner).where(Runner.token_hash == hash_token(token)))
    if row is None:
        raise AuthenticationError(
            "Invalid runner token (the runner may have been removed).", code="InvalidToken"
        )
    return RunnerInfo.of(row)


def refuse_runner_token() -> None:
    """What a runner token gets on every other endpoint."""
    raise PermissionDenied(
        "A runner token opens the runner endpoints (/api/runner/...) only; use a user token here.",
        code="RunnerTokenRefused",
    )


def job_principal(s: Session, token: str) -> Principal:
    """The reader a job's ``wbj_`` token stands for: the job's pinned repos, read only, while
    the attempt that got it still holds the job (401 after)."""
    row = s.execute(
        select(EvalJob, m.Job)
        .join(m.Job, m.Job.id == EvalJob.id)
        .where(EvalJob.read_token_hash == hash_token(token))
    ).first()
    if row is None or row[1].status != "running" or (row[1].lease_until or utcnow()) <= utcnow():
        raise AuthenticationError(
            "This job token has expired (its job is no longer running).", code="InvalidToken"
        )
    job = row[0]
    return Principal(name=f"job-{job.id}", scope="read", repo_ids=frozenset(job.spec.get("reads") or []))


# -- jobs --------------------------------------------------------------------------------


@dataclass
class JobRequest:
    """What a user asks a runner to run (validated here)."""

    model: str | None = None
    dataset: str | None = None
    model_revision: str | None = None
    dataset_revision: str | None = None
    split: str = "test"
    metrics: list[str] = field(default_factory=lambda: ["accuracy"])
    metric_spaces: dict[str, str] = field(default_factory=dict)  # metric name -> space repo id
    parameters: dict[str, Any] = field(default_factory=dict)
    notebook: dict[str, str] | None = None  # {"name", "content"} or None: the template
    requires: list[str] = field(default_factory=list)
    timeout: float | None = None
    reproduce: str | None = None  # a record id: re-run its pins (the other fields are unused)


@dataclass(frozen=True)
class JobView:
    id: int
    kind: str
    state: str
    owner: str
    spec: dict[str, Any]
    requires: list[str]
    timeout: float | None
    runner: str | None
    record_id: str | None
    error: str | None
    attempts: int
    created_at: datetime
    updated_at: datetime
    events: list[dict[str, Any]] = field(default_factory=list)
    last_event: int = 0
    queue_position: int | None = None
    trigger: str = "user"
    pull_request: int | None = None


def _pin(
    store: Store, s: Session, p: Principal, repo_type: str, repo_id: str, revision: str | None
) -> tuple[m.Repo, str]:
    ns, name = split_repo_id(repo_id)
    repo = readable_repo(store, s, p, (repo_type, ns, name))
    return repo, resolve_revision(s, repo, revision or "main").oid


def metric_reads(
    store: Store, s: Session, p: Principal, spaces: dict[str, str], *, pins: dict[str, str] | None = None
) -> list[int]:
    """The metric spaces (metric name -> space id) that the hub holds and ``p`` may read, at
    their ``pins``: a job's read token reads them too."""
    out = []
    for name, space in spaces.items():
        try:
            repo, _ = _pin(store, s, p, "space", space, (pins or {}).get(name))
        except (NotFound, InvalidRequest):
            continue
        out.append(repo.id)
    return out


def queue_job(store: Store, s: Session, p: Principal, req: JobRequest) -> JobView:
    """Queue an evaluation for a runner, with every repo pinned now (404 for a repo or
    revision that does not resolve: nothing is queued)."""
    require_write_scope(p)
    if p.user_id is None:
        raise PermissionDenied("Only a user may queue evaluation jobs.", code="RunnerTokenRefused")
    timeout = DEFAULT_TIMEOUT if req.timeout is None else float(req.timeout)
    if not 0 < timeout <= MAX_TIMEOUT:
        raise InvalidRequest(f"timeout must be between 0 and {MAX_TIMEOUT:g} seconds.", code="InvalidField")
    requires = check_labels(req.requires)
    if req.reproduce is not None:
        run, model, dataset = visible_run(s, p, req.reproduce)
        if run.status != "succeeded":
            raise InvalidRequest(
                f"Run {run.id} {run.status}: only a record that succeeded has metrics to reproduce.",
                code="RunNotSucceeded",
            )
        kind = "reproduce"
        spec: dict[str, Any] = {
            "model": f"{model.namespace}/{model.name}",
            "dataset": f"{dataset.namespace}/{dataset.name}",
            "model_commit": run.model_commit,
            "dataset_commit": run.dataset_commit,
            "split": run.split,
            "reproduction_of": run.id,
            "reads": [model.id, dataset.id],
        }
        metric_pins = (run.parameters or {}).get("metric_revisions") or {}
    else:
        if not req.model or not req.dataset:
            raise InvalidRequest("A job needs a model and a dataset.", code="MissingField")
        kind = "run"
        model, model_commit = _pin(store, s, p, "model", req.model, req.model_revision)
        dataset, dataset_commit = _pin(store, s, p, "dataset", req.dataset, req.dataset_revision)
        spec = {
            "model": req.model,
            "dataset": req.dataset,
            "model_commit": model_commit,
            "dataset_commit": dataset_commit,
            "split": req.split,
            "metrics": list(req.metrics),
            "parameters": dict(req.parameters),
            "notebook": req.notebook,
            "reads": [model.id, dataset.id],
        }
        if req.notebook is not None and len(req.notebook.get("content", "")) > MAX_JOB_NOTEBOOK_BYTES:
            raise InvalidRequest(
                f"The notebook is over {MAX_JOB_NOTEBOOK_BYTES} bytes; clear its outputs.",
                code="NotebookTooLarge",
            )
        metric_pins = {}
    spec["reads"] += metric_reads(store, s, p, req.metric_spaces, pins=metric_pins)
    job_id = add_job(
        s, repo_id=model.id, owner_id=p.user_id, kind=kind, spec=spec, timeout=timeout, requires=requires
    )
    assert job_id is not None  # a random key never collides
    return job_view(s, job_id)


def add_job(
    s: Session,
    *,
    repo_id: int,
    owner_id: int,
    kind: str,
    spec: dict[str, Any],
    timeout: float,
    requires: list[str],
    trigger: str = "user",
    key: str | None = None,
) -> int | None:
    """Add a checked job to the queue; its id, or None when a job of that ``key`` exists
    (the queue keeps one row per (kind, repo, key): a push's job is queued once, whoever
    adds it first). Without ``key`` the job gets a random one."""
    now = utcnow()
    key = key or secrets.token_hex(20)
    insert_missing(
        s,
        m.Job,
        kind=KIND,
        repo_id=repo_id,
        commit=key,
        status="pending",
        attempts=0,
        created_at=now,
        updated_at=now,
    )
    job_id = s.scalar(
        select(m.Job.id).where(m.Job.kind == KIND, m.Job.repo_id == repo_id, m.Job.commit == key)
    )
    if job_id is None or s.get(EvalJob, job_id) is not None:
        return None
    s.add(
        EvalJob(
            id=job_id,
            owner_id=owner_id,
            kind=kind,
            spec=spec,
            timeout=timeout,
            cancelled=False,
            created_at=now,
            trigger=trigger,
        )
    )
    s.flush()
    for label in requires:
        s.add(EvalJobLabel(job_id=job_id, label=label))
    s.flush()
    return job_id


def _view(
    job: EvalJob,
    queued: m.Job,
    owner: str,
    labels: list[str],
    position: int | None,
) -> JobView:
    spec = {k: v for k, v in job.spec.items() if k != "reads"}
    if isinstance(spec.get("notebook"), dict):
        spec["notebook"] = {"name": spec["notebook"].get("name")}
    return JobView(
        id=job.id,
        kind=job.kind,
        state=_STATE.get(queued.status, queued.status),
        owner=owner,
        spec=spec,
        requires=labels,
        timeout=job.timeout,
        runner=job.runner,
        record_id=job.record_id,
        error=queued.error,
        attempts=queued.attempts,
        created_at=job.created_at,
        updated_at=queued.updated_at,
        queue_position=position,
        trigger=job.trigger or "user",
        pull_request=job.pull_request,
    )


def _views(s: Session, where: Any, *, limit: int | None = None) -> list[JobView]:
    """The jobs ``where`` selects (a clause on ``EvalJob``/``jobs``), newest first, without
    their events: a statement for the jobs, one for their labels, one pass for the queue."""
    q = (
        select(EvalJob, m.Job, m.Account.name)
        .join(m.Job, m.Job.id == EvalJob.id)
        .join(m.Account, m.Account.id == EvalJob.owner_id)
        .where(where)
        .order_by(EvalJob.id.desc())
    )
    rows = s.execute(q.limit(limit)).all()
    labels: dict[int, list[str]] = {job.id: [] for job, _, _ in rows}
    if labels:
        for jid, label in s.execute(
            select(EvalJobLabel.job_id, EvalJobLabel.label)
            .where(EvalJobLabel.job_id.in_(list(labels)))
            .order_by(EvalJobLabel.label)
        ):
            labels[jid].append(label)
    positions = queue_positions(
        s, {job.id: labels[job.id] for job, queued, _ in rows if queued.status == "pending"}
    )
    return [_view(job, queued, owner, labels[job.id], positions.get(job.id)) for job, queued, owner in rows]


def job_view(s: Session, job_id: int, *, after: int | None = None) -> JobView:
    """Job ``job_id``; with ``after``, its progress events after that event id."""
    views = _views(s, EvalJob.id == job_id)
    if not views:
        raise NotFound(f"Evaluation job {job_id} not found.", code="JobNotFound")
    if after is None:
        return views[0]
    events, last = [], after
    for eid, event in s.execute(
        select(EvalJobEvent.id, EvalJobEvent.event)
        .where(EvalJobEvent.job_id == job_id, EvalJobEvent.id > after)
        .order_by(EvalJobEvent.id)
    ):
        events.append(event)
        last = eid
    return replace(views[0], events=events, last_event=last)


def _own_job(s: Session, p: Principal, job_id: int) -> EvalJob:
    job = s.get(EvalJob, job_id)
    if job is None or (job.owner_id != p.user_id and not p.is_admin) or p.user_id is None:
        raise NotFound(
            f"Evaluation job {job_id} not found (or not yours). `workbench eval jobs` lists yours.",
            code="JobNotFound",
        )
    return job


def _signed_in(p: Principal) -> None:
    if p.user_id is None:
        raise AuthenticationError(
            "Jobs and runners are for users: pass `Authorization: Bearer <token>`.", code="TokenRequired"
        )


def get_job(s: Session, p: Principal, job_id: int, *, after: int = 0) -> JobView:
    """The caller's job with its progress events after event ``after``."""
    _signed_in(p)
    _own_job(s, p, job_id)
    return job_view(s, job_id, after=after)


def list_jobs(s: Session, p: Principal, *, state: str | None = None, limit: int = 100) -> list[JobView]:
    """The caller's jobs, newest first."""
    if p.user_id is None:
        return []
    where = EvalJob.owner_id == p.user_id
    if state is not None:
        where = and_(where, m.Job.status.in_([k for k, v in _STATE.items() if v == state]))
    return _views(s, where, limit=limit)


def cancel_job(s: Session, p: Principal, job_id: int) -> JobView:
    """Cancel the caller's queued or running job (a runner running it stops at its next heartbeat)."""
    require_write_scope(p)
    job = _own_job(s, p, job_id)
    moved = s.execute(
        update(m.Job)
        .where(m.Job.id == job_id, m.Job.status.in_(("pending", "running")))
        .values(status="skipped", error=f"Cancelled by {p.name}.", lease_until=None, updated_at=utcnow())
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        state = job_view(s, job_id).state
        raise Conflict(
            f"Job {job_id} is {state}: only a queued or running job can be cancelled.", code="JobFinished"
        )
    job.cancelled, job.read_token_hash = True, None
    s.flush()
    return job_view(s, job_id)


def repo_deleted(s: Session, repo: m.Repo) -> None:
    """``repo`` is being deleted: the queued and running jobs that read it are cancelled with
    that reason (a runner running one stops at its next heartbeat), and the jobs of a deleted
    model stay listed for their owners instead of going with it."""
    what = f"{repo.type} repo {repo.namespace}/{repo.name}"
    active = ("pending", "running")
    rows = s.execute(
        select(EvalJob, m.Job)
        .join(m.Job, m.Job.id == EvalJob.id)
        .where(m.Job.kind == KIND, or_(m.Job.repo_id == repo.id, m.Job.status.in_(active)))
    ).all()
    now = utcnow()
    for job, queued in rows:
        if queued.status in active and repo.id in (job.spec.get("reads") or []):
            state = _STATE[queued.status]
            queued.status, queued.lease_until, queued.updated_at = "skipped", None, now
            queued.error = f"Cancelled (repo deleted): the {what} was deleted while this job was {state}."
            job.cancelled, job.read_token_hash = True, None
            add_event(s, job.id, "cancelled", reason="repo deleted", repo=f"{repo.namespace}/{repo.name}")
        if queued.repo_id == repo.id:
            queued.repo_id = None  # type: ignore[assignment]
    s.flush()


# -- the queue, as runners see it ---------------------------------------------------------


def takes_labels(labels: list[str]) -> Any:
    """The ``jobs`` rows a runner with ``labels`` may lease: those requiring none it lacks."""
    return ~exists(
        select(EvalJobLabel.job_id).where(EvalJobLabel.job_id == m.Job.id, EvalJobLabel.label.not_in(labels))
    )


def queue_position(s: Session, job_id: int) -> int | None:
    """How many queued jobs a runner would lease before job ``job_id`` (None unless it is queued)."""
    if s.scalar(select(m.Job.status).where(m.Job.id == job_id)) != "pending":
        return None
    needs = list(s.scalars(select(EvalJobLabel.label).where(EvalJobLabel.job_id == job_id)))
    return queue_positions(s, {job_id: needs})[job_id]


def queue_positions(s: Session, queued: dict[int, list[str]]) -> dict[int, int]:
    """How many queued jobs a runner would lease before each of the ``queued`` jobs ({id: the
    labels it requires}, each one queued).

    Runners lease the oldest job whose labels they have (:func:`takes_labels`), so the jobs
    ahead are the older queued ones that a runner able to run this job could take; with
    several such runners, the one with the fewest ahead; with none registered, those needing
    no label beyond this job's. The queue ahead of the newest is read once."""
    if not queued:
        return {}
    able = [set(r.labels) for r in s.scalars(select(Runner).where(Runner.paused.is_(False)))]
    ahead: dict[int, set[str]] = {}  # the queued jobs older than the newest asked: their labels
    for jid, label in s.execute(
        select(m.Job.id, EvalJobLabel.label)
        .outerjoin(EvalJobLabel, EvalJobLabel.job_id == m.Job.id)
        .where(m.Job.kind == KIND, m.Job.status == "pending", m.Job.id < max(queued))
    ):
        ahead.setdefault(jid, set()).update([label] if label is not None else [])
    takes: dict[frozenset[str], list[int]] = {}  # a runner's labels -> the ids it may lease, in order

    def before(have: frozenset[str], job_id: int) -> int:
        if have not in takes:
            takes[have] = sorted(jid for jid, wants in ahead.items() if wants <= have)
        return bisect_left(takes[have], job_id)

    positions = {}
    for job_id, labels in queued.items():
        needs = frozenset(labels)
        label_sets = [frozenset(x) for x in able if needs <= x] or [needs]
        positions[job_id] = min(before(have, job_id) for have in label_sets)
    return positions
