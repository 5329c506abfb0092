"""Results pull requests: the hub proposes a push run's verified results to the model's card.

When a runner completes a job that a model commit queued (``eval_suites``), the hub, not the
runner, opens a pull request on the model that adds the record to the card's ``model-index``
and its "Evaluation results" section (``workbench.model_index``), never a write to ``main``.
Its author is the hub's own identity, ``workbench-bot`` (an account nobody can sign in as: it
has no token and its name is reserved), and the job links to it (``pull_request``). An open
results pull request of an earlier push for the same dataset is closed as superseded, so one
stays open per dataset. The model's owner merges it as any other; that merge changes only
the ``model-index``, which queues no new run.

>>> open_results_pr(store, job_id, record, max_chars=65536)        # doctest: +SKIP
7
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

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
from workbench.store.runners import EvalJob, add_event
from workbench.store.store import Store, utcnow

log = logging.getLogger(__name__)


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


def open_results_pr(store: Store, job_id: int, record: dict[str, Any], *, max_chars: int) -> int | None:
    """Open the results pull request of push job ``job_id`` whose runner posted ``record``
    (the record as the API shows it); its number, or None when there is nothing to propose
    (not a push job, a failed run, a deleted model, results the card already holds)."""
    if record.get("status") != "succeeded" or not record.get("verified"):
        return None
    with store.read() as s:
        job = s.get(EvalJob, job_id)
        model = s.get(m.Repo, s.scalar(select(m.Job.repo_id).where(m.Job.id == job_id)) or -1)
        if job is None or job.trigger != "push" or model is None:
            return None
        s.expunge(job)
        key = ("model", model.namespace, model.name)
        _, _, tree = checkout(store, s, model, "main")
        head = tree.get(README)
        text = contents.read_bytes(store, head).decode("utf-8") if head else f"# {model.name}\n"
    card = card_with_result(text, model.name, record).encode("utf-8")
    if card == text.encode("utf-8"):
        return None
    bot = bot_principal(store)
    dataset, split = record["dataset"], record["split"]
    description = (
        f"Verified results of run `{record['id']}`, computed by runner `{record.get('verified_by')}` "
        f"for commit {record['model_commit'][:12]} of this model on `{dataset}` [{split}] at "
        f"{record['dataset_commit'][:12]}. The dataset's evaluation suite queued the run when the "
        "commit landed; merging adds the results to the card's `model-index`."
    )
    num = pulls.open_for_commit(
        store,
        bot,
        key,
        "main",
        title=f"Evaluation results on {dataset}",
        description=description,
        max_chars=max_chars,
    )
    try:
        blob = store.blobs.ingest_bytes(card)
        create_commit(
            store,
            bot,
            key,
            f"refs/pr/{num}",
            [AddFile(README, blob)],
            summary=f"Add verified evaluation results on {dataset}",
            description=f"Run {record['id']} (job {job_id}).",
        )
    except Exception:
        pulls.discard(store, key, num)
        raise
    pulls.note_commit(store, key, num)
    try:
        _superseded(store, bot, key, job, num)
    except WorkbenchError as exc:  # the new one is open: an old one left open is no failure
        log.warning("could not close the results pull requests superseded by #%s: %s", num, exc)
    with store.write() as s:  # last: a job that shows its pull request is done with it
        row = s.get(EvalJob, job_id)
        if row is not None:
            row.pull_request = num
            add_event(s, job_id, "pull_request", num=num)
    return num
