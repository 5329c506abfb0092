"""What a branch's new head sets off, in the transaction that moves the branch.

Every way a branch moves (a commit, a pull request's merge) calls :func:`branch_moved`, so
that a new head of ``main`` never goes without what follows from it: the card metadata read
from ``README.md``, a paper's PDF text (:mod:`workbench.store.paper_text`), the repo's search
document (:mod:`workbench.store.search_index`), and for a dataset the job that converts the
commit to Parquet for the viewer (:mod:`workbench.viewer.jobs`). Every branch's move is a
``repo.content`` event for the webhooks watching the repo (:mod:`workbench.store.webhook_events`).
A dataset's card keeps its evaluation suite (a suite added or changed queues its runs of
the models it applies to), and a model's new head queues the runs of the suites that apply
to it (:mod:`workbench.store.eval_suites`).

>>> branch_moved(store, s, repo, old_tree, new_tree, oid, main=True, now=utcnow(),
...              ref="refs/heads/main", old_oid=parent)                       # doctest: +SKIP
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from workbench.repocard import README
from workbench.store import eval_suites, jobs
from workbench.store import models as m
from workbench.store.access import Principal
from workbench.store.paper_text import refresh_pdf_text
from workbench.store.readme import card_at
from workbench.store.search_index import reindex_repo
from workbench.store.store import Store
from workbench.store.trees import Tree
from workbench.store.webhook_events import ref_moved

CONVERSION_JOB = "parquet"  # the viewer's conversion (workbench.viewer.jobs)


def branch_moved(
    store: Store,
    s: Session,
    repo: m.Repo,
    old: Tree,
    new: Tree,
    oid: str,
    *,
    main: bool,
    now: datetime,
    ref: str | None = None,
    old_oid: str | None = None,
    actor: Principal | None = None,
) -> None:
    """The branch ``ref`` (``refs/heads/x`` or ``refs/pr/N``; default: ``refs/heads/main``
    when ``main``) of ``repo`` moved from commit ``old_oid`` with tree ``old`` to commit
    ``oid`` with tree ``new``; ``main``: the branch is ``main``; ``actor``: who moved it (a
    commit or a merge; a model's push runs are theirs)."""
    repo.last_modified = now
    ref = ref or ("refs/heads/main" if main else None)
    if ref is not None:
        ref_moved(s, repo, ref, old_oid, oid)
    if main:
        if repo.type == "dataset":
            jobs.add(s, CONVERSION_JOB, repo.id, oid)
        readme_changed = new.get(README) != old.get(README)
        old_card = repo.card_data
        if readme_changed:
            try:
                repo.card_data = card_at(store, new)
            except OSError:
                repo.card_data = None
            if repo.type == "dataset":
                eval_suites.dataset_card_changed(store, s, repo, new, oid, repo.card_data, actor=actor)
        if repo.type == "model":
            eval_suites.model_pushed(store, s, repo, old, new, oid, old_card=old_card, actor=actor)
        if refresh_pdf_text(s, store, repo, new) or readme_changed:
            reindex_repo(s, store, repo, tree=new)
    store.trees.put(new)
