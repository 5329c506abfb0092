"""Evaluation run records: who ran what, pinned to which commits, with which results.

A record is visible only to callers who may read both its model and its dataset repo (others
get 404, and lists and leaderboards leave it out). Creating one needs a write-scoped token
and read access to both repos: evaluating a model is reading it, and the record is the
caller's claim, signed with their name (``created_by``). Writing results into the model's
card is a commit, so it needs write access to the model (see ``workbench.evals.publish``).

Whether a record reproduced is never set by anyone: it is derived from a re-run its owner
attaches (see ``workbench.store.reproduction``).

>>> with store.write() as s:                                        # doctest: +SKIP
...     view = create_run(store, s, caller, RunInput(model="admin/m", ...))
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column

from workbench.errors import InvalidRequest, NotFound
from workbench.names import split_repo_id
from workbench.store import models as m
from workbench.store import webhook_events
from workbench.store.access import Principal, can_read, readable_clause, readable_repo, require_write_scope
from workbench.store.store import Store, insert_missing, utcnow

STATUSES = ("running", "succeeded", "failed")
MAX_NOTEBOOK_BYTES = 12 * 1024**2


class EvalRun(m.Base):
    """One evaluation run (migration 0006)."""

    __tablename__ = "eval_runs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    model_repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), index=True)
    dataset_repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), index=True)
    model_commit: Mapped[str] = mapped_column(String(40))
    dataset_commit: Mapped[str] = mapped_column(String(40))
    split: Mapped[str] = mapped_column(String(255))
    notebook_name: Mapped[str] = mapped_column(String(255))
    notebook_sha256: Mapped[str] = mapped_column(String(64))
    executed_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    parameters: Mapped[dict] = mapped_column(JSON)
    environment: Mapped[dict] = mapped_column(JSON)
    seed: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    timings: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), index=True)
    error: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    metrics: Mapped[dict] = mapped_column(JSON)
    metric_info: Mapped[dict] = mapped_column(JSON)
    # derived from the attached re-run (reproduction_run), never sent by a client
    reproduction: Mapped[str | None] = mapped_column(String(10), nullable=True)
    differences: Mapped[list | None] = mapped_column(JSON, nullable=True)
    reproduction_of: Mapped[str | None] = mapped_column(
        ForeignKey("eval_runs.id", ondelete="SET NULL"), nullable=True, index=True
    )
    created_by: Mapped[str] = mapped_column(String(96))
    # the owner, who alone may attach a re-run; the re-run, who attached it, when (migration 0014)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
    )
    reproduction_run: Mapped[str | None] = mapped_column(
        ForeignKey("eval_runs.id", ondelete="SET NULL"), nullable=True
    )
    reproduced_by: Mapped[str | None] = mapped_column(String(96), nullable=True)
    reproduced_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    # where the notebook lives on a Git host: {"repo_url", "ref", "path"} (migration 0009)
    source: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # set only when a runner posts the record (workbench.store.runners; migration 0026)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    verified_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


@dataclass
class RunInput:
    """What a client sends to record a run (validated here, not trusted)."""

    model: str
    dataset: str
    model_commit: str
    dataset_commit: str
    split: str
    notebook_name: str
    notebook_sha256: str
    status: str
    parameters: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    timings: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    metric_info: dict[str, Any] = field(default_factory=dict)
    reproduction_of: str | None = None
    duration: float | None = None
    notebook: bytes | None = None  # the executed notebook (JSON)
    source: dict[str, Any] | None = None  # checked by the route (a Binder-able Git source)


@dataclass(frozen=True)
class RunView:
    """A record as the routes show it (no database row leaves the store)."""

    id: str
    model: str
    dataset: str
    model_commit: str
    dataset_commit: str
    split: str
    notebook_name: str
    notebook_sha256: str
    executed_sha256: str | None
    parameters: dict[str, Any]
    environment: dict[str, Any]
    seed: int | None
    timings: dict[str, Any]
    status: str
    error: dict[str, Any] | None
    metrics: dict[str, Any]
    metric_info: dict[str, Any]
    reproduction: str | None
    differences: list[Any] | None
    reproduction_of: str | None
    created_by: str
    created_at: datetime
    duration: float | None
    source: dict[str, Any] | None = None
    reproduction_run: str | None = None
    reproduced_by: str | None = None
    reproduced_at: datetime | None = None
    verified: bool = False
    verified_by: str | None = None


def run_view(run: EvalRun, model: m.Repo, dataset: m.Repo) -> RunView:
    """The record ``run`` (of ``model`` on ``dataset``) as the routes show it."""
    return RunView(
        id=run.id,
        model=f"{model.namespace}/{model.name}",
        dataset=f"{dataset.namespace}/{dataset.name}",
        model_commit=run.model_commit,
        dataset_commit=run.dataset_commit,
        split=run.split,
        notebook_name=run.notebook_name,
        notebook_sha256=run.notebook_sha256,
        executed_sha256=run.executed_sha256,
        parameters=run.parameters,
        environment=run.environment,
        seed=run.seed,
        timings=run.timings,
        status=run.status,
        error=run.error,
        metrics=run.metrics,
        metric_info=run.metric_info,
        reproduction=run.reproduction,
        differences=run.differences,
        reproduction_of=run.reproduction_of,
        created_by=run.created_by,
        created_at=run.created_at,
        duration=run.duration,
        source=run.source,
        reproduction_run=run.reproduction_run,
        reproduced_by=run.reproduced_by,
        reproduced_at=run.reproduced_at,
        verified=bool(run.verified),
        verified_by=run.verified_by,
    )


def _repo(store: Store, s: Session, p: Principal, repo_type: str, repo_id: str) -> m.Repo:
    ns, name = split_repo_id(repo_id)
    return readable_repo(store, s, p, (repo_type, ns, name))


def _check_commit(s: Session, repo: m.Repo, oid: str) -> None:
    row = s.get(m.Commit, oid) if isinstance(oid, str) and len(oid) == 40 else None
    if row is None or row.repo_id != repo.id:
        raise InvalidRequest(
            f"{oid!r} is not a commit of {repo.namespace}/{repo.name}: records "
            "pin full 40-character commit ids.",
            code="InvalidCommit",
        )


def create_run(
    store: Store, s: Session, p: Principal, data: RunInput, *, verified_by: str | None = None
) -> RunView:
    """Record a run; the executed notebook goes to the blob store (content-addressed).

    ``verified_by``: the runner that ran it, passed only by ``workbench.store.runners`` when a
    runner completes a job; a record posted any other way is self-reported (``verified``
    false), whatever its body says.
    """
    require_write_scope(p)
    if data.status not in STATUSES:
        raise InvalidRequest(
            f"Invalid status {data.status!r}: use one of {', '.join(STATUSES)}.", code="InvalidStatus"
        )
    model = _repo(store, s, p, "model", data.model)
    dataset = _repo(store, s, p, "dataset", data.dataset)
    _check_commit(s, model, data.model_commit)
    _check_commit(s, dataset, data.dataset_commit)
    _check_outcome(data)
    if data.reproduction_of is not None:
        get_run(s, p, data.reproduction_of)
    executed = None
    if data.notebook is not None:
        if len(data.notebook) > MAX_NOTEBOOK_BYTES:
            raise InvalidRequest(
                f"The executed notebook is over {MAX_NOTEBOOK_BYTES} bytes; clear large outputs.",
                code="NotebookTooLarge",
            )
        blob = store.blobs.ingest_bytes(data.notebook)
        insert_missing(
            s, m.Blob, sha256=blob.sha256, size=blob.size, git_oid=blob.git_oid, created_at=utcnow()
        )
        executed = blob.sha256
    run = EvalRun(
        id=uuid.uuid4().hex,
        model_repo_id=model.id,
        dataset_repo_id=dataset.id,
        model_commit=data.model_commit,
        dataset_commit=data.dataset_commit,
        split=data.split,
        notebook_name=data.notebook_name,
        notebook_sha256=data.notebook_sha256,
        executed_sha256=executed,
        parameters=data.parameters,
        environment=data.environment,
        seed=data.seed,
        timings=data.timings,
        status=data.status,
        error=data.error,
        metrics=data.metrics,
        metric_info=data.metric_info,
        reproduction=None,
        differences=None,
        reproduction_of=data.reproduction_of,
        created_by=p.name or "",
        created_by_id=p.user_id,
        created_at=utcnow(),
        duration=data.duration,
        source=data.source,
        verified=verified_by is not None,
        verified_by=verified_by,
    )
    s.add(run)
    s.flush()
    webhook_events.eval_recorded(s, model, dataset, _record_doc(run))
    return run_view(run, model, dataset)


def _record_doc(run: EvalRun) -> dict[str, Any]:
    """What a webhook is told of a new record (domain ``eval``)."""
    return {
        "id": run.id,
        "status": run.status,
        "metrics": run.metrics,
        "modelCommit": run.model_commit,
        "datasetCommit": run.dataset_commit,
        "split": run.split,
        "notebook": run.notebook_name,
        "createdBy": run.created_by,
        "reproductionOf": run.reproduction_of,
        "url": {"api": f"/api/evals/{run.id}"},
    }


def _check_outcome(data: RunInput) -> None:
    """Nothing is stored as a success that does not look like one: a succeeded run has
    metrics, all numbers, and no error; a failed run says why."""
    if data.status == "succeeded":
        if data.error:
            raise InvalidRequest(
                "A succeeded run cannot carry an error: send status 'failed'.", code="InconsistentRun"
            )
        if not data.metrics:
            raise InvalidRequest(
                "A succeeded run must report at least one metric (wb.report(...) in the notebook).",
                code="InconsistentRun",
            )
        bad = sorted(
            k
            for k, v in data.metrics.items()
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v)
        )
        if bad:
            raise InvalidRequest(
                f"Metrics must be finite numbers; not: {', '.join(bad)}.", code="InconsistentRun"
            )
    elif data.status == "failed" and not data.error:
        raise InvalidRequest(
            "A failed run must say why: send error {cell_index, ename, message}.", code="InconsistentRun"
        )


def visible_run(s: Session, p: Principal, run_id: str) -> tuple[EvalRun, m.Repo, m.Repo]:
    """The record ``run_id`` with its model and dataset, if ``p`` may read both (else 404)."""
    run = s.get(EvalRun, run_id) if isinstance(run_id, str) and len(run_id) == 32 else None
    model = s.get(m.Repo, run.model_repo_id) if run else None
    dataset = s.get(m.Repo, run.dataset_repo_id) if run else None
    if run is None or model is None or dataset is None or not (can_read(p, model) and can_read(p, dataset)):
        raise NotFound(
            f"Evaluation run {run_id} not found (or you may not read its model or "
            "dataset). List runs with `workbench eval list`.",
            code="RunNotFound",
        )
    return run, model, dataset


def get_run(s: Session, p: Principal, run_id: str) -> RunView:
    return run_view(*visible_run(s, p, run_id))


def notebook_blob(s: Session, p: Principal, run_id: str) -> str:
    run, _, _ = visible_run(s, p, run_id)
    if run.executed_sha256 is None:
        raise NotFound(f"Run {run_id} has no executed notebook.", code="NotebookNotFound")
    return run.executed_sha256


def list_runs(
    s: Session,
    p: Principal,
    *,
    model: str | None = None,
    dataset: str | None = None,
    status: str | None = None,
    split: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[RunView]:
    """Runs the caller may see, newest first."""
    mr, dr = aliased(m.Repo), aliased(m.Repo)
    q = (
        select(EvalRun, mr, dr)
        .join(mr, mr.id == EvalRun.model_repo_id)
        .join(dr, dr.id == EvalRun.dataset_repo_id)
        .where(readable_clause(p, mr), readable_clause(p, dr))
    )
    for repo, value in ((mr, model), (dr, dataset)):
        if value:
            ns, name = split_repo_id(value)
            q = q.where(repo.namespace == ns, repo.name == name)
    if status:
        q = q.where(EvalRun.status == status)
    if split:
        q = q.where(EvalRun.split == split)
    q = q.order_by(EvalRun.created_at.desc(), EvalRun.id).offset(offset).limit(limit)
    return [run_view(run, a, b) for run, a, b in s.execute(q).all()]


def leaderboard(
    s: Session,
    p: Principal,
    dataset: str,
    *,
    metric: str,
    split: str | None = None,
    verified_only: bool = False,
) -> list[RunView]:
    """The best succeeded run of each model on ``dataset`` for ``metric``, best first.

    Re-runs are left out (they confirm a record, they do not compete with it). Whether higher
    is better comes from the record's ``metric_info`` (default: higher). ``verified_only``:
    only records a runner posted.
    """
    ns, name = split_repo_id(dataset)
    repo = s.scalar(
        select(m.Repo).where(m.Repo.type == "dataset", m.Repo.namespace == ns, m.Repo.name == name)
    )
    if repo is None or not can_read(p, repo):
        raise NotFound(
            f"Dataset {dataset} not found. Check the name, and that your token may read it.",
            code="RepoNotFound",
        )
    runs = [
        r
        for r in list_runs(s, p, dataset=dataset, status="succeeded", split=split, limit=10_000)
        if r.reproduction_of is None
        and (r.verified or not verified_only)
        and isinstance(r.metrics.get(metric), int | float)
        and not isinstance(r.metrics.get(metric), bool)
    ]
    best: dict[str, RunView] = {}
    for run in runs:
        sign = 1 if higher_is_better(run, metric) else -1
        cur = best.get(run.model)
        if cur is None or sign * run.metrics[metric] > sign * cur.metrics[metric]:
            best[run.model] = run
    ordered = list(best.values())
    if ordered:
        sign = 1 if higher_is_better(ordered[0], metric) else -1
        ordered.sort(key=lambda r: (-sign * r.metrics[metric], r.created_at))
    return ordered


def higher_is_better(run: RunView, metric: str) -> bool:
    info = run.metric_info.get(metric)
    return not (isinstance(info, dict) and info.get("higher_is_better") is False)
