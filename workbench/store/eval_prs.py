"""Results pull requests: the hub proposes a push run's verified results to the model's card.

When a runner completes a job that a model commit queued (``eval_suites``), the hub, not the
runner, opens a pull request on the model that adds the record to the card's ``model-index``
and its "Evaluation results" section (``workbench.model_index``), never a write to ``main``.
Its author is the hub's own identity, ``workbench-bot`` (an account nobody can sign in as: it
has no token and its name is reserved), and the job links to it (``pull_request``). An open
results pull request of an earlier push for the same dataset is closed as superseded, so one
stays open per dataset. The model's owner merges it as any other; that merge changes only
the ``model-index``, which queues no new run.

The pull request is owed durably: :func:`owe` writes a ``results_prs`` row (migration 0029)
in the transaction that stores the record, and :func:`settle` opens the pull request from
it, right after the record is accepted and again from the job process's :func:`sweep`, until
it is open. A hub that dies in between, or an attempt that fails (the database away, the
card unreadable), leaves the row owed; it is tried again after :func:`retry_delay`. A claim
with a lease keeps two hub processes off one row, and the pull request's number is written in
the transaction that opens it, so a retry finishes that pull request and never opens a second.

>>> settle(store, job_id, max_chars=65536)        # doctest: +SKIP
7
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from workbench.binder import binder_url
from workbench.errors import WorkbenchError
from workbench.model_index import card_with_result
from workbench.names import BOT_NAME
from workbench.repocard import README
from workbench.store import collab_models as c
from workbench.store import contents, pulls
from workbench.store import discussions as disc
from workbench.store import models as m
from workbench.store.access import Principal
from workbench.store.accounts import get_account
from workbench.store.commits import AddFile, checkout, create_commit
from workbench.store.evals import RunView, run_view, visible_run
from workbench.store.jobs import describe_error
from workbench.store.runners import EvalJob, add_event
from workbench.store.store import Store, utcnow

log = logging.getLogger(__name__)

CLAIM_SECONDS = 120.0  # an attempt takes a few database writes; a claim older than this is dead
MAX_RETRY_SECONDS = 300.0
SWEEP_BATCH = 20


class ResultsPr(m.Base):
    """The results pull request a push job's verified record owes its model (migration 0029)."""

    __tablename__ = "results_prs"
    job_id: Mapped[int] = mapped_column(ForeignKey("eval_jobs.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(String(8))  # owed | opened | none
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime] = mapped_column(DateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    pull_request: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class LostClaim(Exception):
    """Another hub process claimed the row (ours expired): leave it to that one."""


def retry_delay(attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failed ones: 1, 2, 4, ... up to 5 minutes.

    >>> [retry_delay(n) for n in (1, 2, 3, 10)]
    [1.0, 2.0, 4.0, 300.0]
    """
    return min(2.0 ** max(attempts - 1, 0), MAX_RETRY_SECONDS)


def owe(s: Session, job: EvalJob, record: RunView) -> bool:
    """In the transaction that stores ``record`` for ``job``: owe the model a results pull
    request if it is a push job's verified success. Whether one is owed."""
    if job.trigger != "push" or record.status != "succeeded" or not record.verified:
        return False
    now = utcnow()
    s.add(ResultsPr(job_id=job.id, state="owed", attempts=0, next_at=now, created_at=now, updated_at=now))
    return True


def record_data(view: RunView) -> dict[str, Any]:
    """A record as the card's ``model-index`` reads it (the fields of the API's record)."""
    data = dataclasses.asdict(view)
    source = view.source
    data["binder_url"] = (
        binder_url(source["repo_url"], ref=source["ref"], notebook=source.get("path")) if source else None
    )
    return data


def bot_principal(store: Store) -> Principal:
    """The hub's own identity (made on first use): it reads every repo, and writes only the
    ``refs/pr/N`` of the pull requests it opens."""
    with store.write() as s:
        bot = get_account(s, BOT_NAME)
        if bot is None:  # the name is reserved: create_user would refuse it
            bot = m.Account(name=BOT_NAME, kind="user", fullname="Workbench", created_at=utcnow())
            s.add(bot)
            s.flush()
        return Principal(user_id=bot.id, name=BOT_NAME, is_admin=True, scope="write")


def _superseded(store: Store, bot: Principal, key: tuple[str, str, str], job: EvalJob, num: int) -> None:
    """Close the bot's open results pull requests of earlier pushes for the same dataset."""
    with store.read() as s:
        model_id = s.scalar(select(m.Job.repo_id).where(m.Job.id == job.id))
        rows = s.execute(
            select(EvalJob.pull_request, EvalJob.spec)
            .join(m.Job, m.Job.id == EvalJob.id)
            .where(
                m.Job.repo_id == model_id,
                EvalJob.trigger == "push",
                EvalJob.pull_request.is_not(None),
                EvalJob.id != job.id,
            )
        ).all()
        earlier = sorted(
            {n for n, spec in rows if spec.get("dataset") == job.spec.get("dataset") and n != num}
        )
        open_ = list(
            s.scalars(
                select(c.Discussion.num).where(
                    c.Discussion.repo_id == model_id,
                    c.Discussion.num.in_(earlier),
                    c.Discussion.author == BOT_NAME,
                    c.Discussion.status.in_(("open", "draft")),
                )
            )
        )
    for old in open_:
        with store.write() as s:
            disc.change_status(
                store, s, bot, key, old, "closed", comment=f"Superseded by #{num}.", max_chars=10_000
            )


def _due(now: datetime) -> Any:
    return (
        (ResultsPr.state == "owed")
        & (ResultsPr.next_at <= now)
        & or_(ResultsPr.lease_until.is_(None), ResultsPr.lease_until < now)
    )


def _claim(store: Store, job_id: int, worker: str) -> bool:
    now = utcnow()
    with store.write() as s:
        moved = s.execute(
            update(ResultsPr)
            .where(ResultsPr.job_id == job_id, _due(now))
            .values(
                claimed_by=worker,
                lease_until=now + timedelta(seconds=CLAIM_SECONDS),
                attempts=ResultsPr.attempts + 1,
                updated_at=now,
            )
        )
        return bool(moved.rowcount == 1)  # type: ignore[attr-defined]


def _held(s: Session, job_id: int, worker: str) -> ResultsPr:
    row = s.scalar(select(ResultsPr).where(ResultsPr.job_id == job_id).with_for_update())
    if row is None or row.state != "owed" or row.claimed_by != worker:
        raise LostClaim(job_id)
    return row


def _proposed(store: Store, model: m.Repo, num: int, run_id: str) -> bool:
    """Whether ``refs/pr/num`` holds the card with run ``run_id`` already (an earlier attempt
    committed it, then stopped)."""
    with store.read() as s:
        try:
            _, _, tree = checkout(store, s, model, f"refs/pr/{num}")
        except WorkbenchError:
            return False
        head = tree.get(README)
        return head is not None and run_id in contents.read_bytes(store, head).decode("utf-8", "replace")


def _attempt(store: Store, job_id: int, worker: str, *, max_chars: int) -> int | None:
    """Open (or finish) the pull request the claimed row of ``job_id`` owes; its number, or
    None when there is nothing to propose (a deleted model or record, results the card holds)."""
    bot = bot_principal(store)
    with store.read() as s:
        job, row = s.get(EvalJob, job_id), s.get(ResultsPr, job_id)
        model = s.get(m.Repo, s.scalar(select(m.Job.repo_id).where(m.Job.id == job_id)) or -1)
        if job is None or row is None or model is None or job.record_id is None:
            return None
        try:
            record = record_data(run_view(*visible_run(s, bot, job.record_id)))
        except LookupError:  # the record's dataset was deleted since
            return None
        s.expunge(job)
        s.expunge(model)
        num = row.pull_request
        _, _, tree = checkout(store, s, model, "main")
        head = tree.get(README)
        text = contents.read_bytes(store, head).decode("utf-8") if head else f"# {model.name}\n"
    key = ("model", model.namespace, model.name)
    card = card_with_result(text, model.name, record).encode("utf-8")
    dataset, split = record["dataset"], record["split"]
    if num is None:
        if card == text.encode("utf-8"):
            return None
        description = (
            f"Verified results of run `{record['id']}`, computed by runner `{record.get('verified_by')}` "
            f"for commit {record['model_commit'][:12]} of this model on `{dataset}` [{split}] at "
            f"{record['dataset_commit'][:12]}. The dataset's evaluation suite queued the run when the "
            "commit landed; merging adds the results to the card's `model-index`."
        )
        with store.write() as s:  # the number lands with the pull request, or neither does
            row = _held(s, job_id, worker)
            d, _ = disc.create_discussion(
                store,
                s,
                bot,
                key,
                title=f"Evaluation results on {dataset}",
                description=description,
                max_chars=max_chars,
                pull_request=True,
                target="main",
            )
            row.pull_request = num = d.num
    if not _proposed(store, model, num, record["id"]):
        create_commit(
            store,
            bot,
            key,
            f"refs/pr/{num}",
            [AddFile(README, store.blobs.ingest_bytes(card))],
            summary=f"Add verified evaluation results on {dataset}",
            description=f"Run {record['id']} (job {job_id}).",
        )
    pulls.note_commit(store, key, num)
    try:
        _superseded(store, bot, key, job, num)
    except WorkbenchError as exc:  # the new one is open: an old one left open is no failure
        log.warning("could not close the results pull requests superseded by #%s: %s", num, exc)
    return num


def _done(store: Store, job_id: int, num: int | None) -> None:
    with store.write() as s:  # last: a job that shows its pull request is done with it
        row = s.get(ResultsPr, job_id)
        if row is None or row.state != "owed":
            return
        row.state, row.claimed_by, row.lease_until = ("opened" if num else "none"), None, None
        row.error, row.updated_at = None, utcnow()
        job = s.get(EvalJob, job_id)
        if num is not None and job is not None:
            job.pull_request = num
            add_event(s, job_id, "pull_request", num=num)


def _failed(store: Store, job_id: int, worker: str, exc: BaseException) -> None:
    """Hand the row back, to be tried again after :func:`retry_delay`; a new reason goes on
    the job's events."""
    error = exc.message if isinstance(exc, WorkbenchError) else describe_error(exc)
    log.warning("results pull request of job %s failed (will retry): %s", job_id, error)
    with store.write() as s:
        row = s.get(ResultsPr, job_id)
        if row is None or row.claimed_by != worker:
            return
        now = utcnow()
        if error != row.error:
            add_event(s, job_id, "pull_request_failed", error=error, attempt=row.attempts)
        row.claimed_by, row.lease_until, row.error, row.updated_at = None, None, error, now
        row.next_at = now + timedelta(seconds=retry_delay(row.attempts))


def settle(store: Store, job_id: int, *, max_chars: int) -> int | None:
    """Open the results pull request job ``job_id`` owes (see the module docstring), if it
    owes one that is due and no other process works on it; its number. Never raises: what
    fails is tried again later."""
    worker = secrets.token_hex(8)
    try:
        if not _claim(store, job_id, worker):
            return None
        num = _attempt(store, job_id, worker, max_chars=max_chars)
    except LostClaim:
        return None
    except Exception as exc:
        try:
            _failed(store, job_id, worker, exc)
        except Exception:  # the row's claim expires; the sweep tries again
            log.exception("could not record the failure of job %s's results pull request", job_id)
        return None
    try:
        _done(store, job_id, num)
    except Exception:  # the pull request is open; the next attempt finds it and finishes
        log.exception("could not mark job %s's results pull request done", job_id)
    return num


def sweep(store: Store, *, max_chars: int, limit: int = SWEEP_BATCH) -> list[int]:
    """Settle the owed results pull requests that are due (the job process calls it every few
    seconds); the numbers opened."""
    with store.read() as s:
        due = list(
            s.scalars(select(ResultsPr.job_id).where(_due(utcnow())).order_by(ResultsPr.next_at).limit(limit))
        )
    opened = (settle(store, job_id, max_chars=max_chars) for job_id in due)
    return [num for num in opened if num is not None]
