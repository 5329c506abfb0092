"""What webhooks are told: the events, in the shape of the public hub's payloads (version 3).

Each function here is called in the transaction of the change it reports (a repo created,
moved or deleted, its settings changed, a ref moved, a discussion opened, a comment, a review,
an evaluation record) and costs one indexed look-up when no enabled webhook watches the repo,
and one row more when one does: whatever the number of webhooks, the request that made the
change does no more (the worker fans the event out and delivers,
:mod:`workbench.store.webhook_queue`).

The payload is a snapshot with URLs relative to the hub (the worker makes them absolute);
``webhook`` is added per delivery. Scopes, as on the public hub: ``repo`` (``create``,
``delete``, ``move`` with ``movedTo``), ``repo.content`` (commits, branches, tags; with
``updatedRefs``), ``repo.config`` (settings; with ``updatedConfig``), ``discussion`` and
``discussion.comment``. Workbench extensions: ``discussion.review`` (a review submitted) and
``discussion.review.comment`` (a review comment on the diff, a reply, a thread resolved or
reopened) in domain ``discussion``; domain ``eval`` with scope ``eval.record`` (an
evaluation record was created; the payload's ``repo`` is the model, ``eval`` says what was
measured).

>>> ref_moved(s, repo, "refs/heads/main", old_oid, new_oid)      # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from workbench.names import TYPE_PLURALS
from workbench.store import collab_models as c
from workbench.store import models as m
from workbench.store import review_models as r
from workbench.store.store import utcnow
from workbench.store.webhook_models import Webhook, WebhookEvent, WebhookWatch

#: The domains a webhook may watch: the public hub's two, and Workbench's ``eval``.
DOMAINS = ("repo", "discussion", "eval")
#: Repo types the payload model knows (papers are repos of Workbench's own).
REPO_TYPES = ("model", "dataset", "space")


def namespace_key(name: str) -> str:
    return f"ns:{name.lower()}"


def repo_key(repo_type: str, namespace: str, name: str) -> str:
    return f"{repo_type}:{namespace.lower()}/{name.lower()}"


def _keys(repo: m.Repo) -> list[str]:
    return [namespace_key(repo.namespace), repo_key(repo.type, repo.namespace, repo.name)]


def _watched(s: Session, keys: list[str]) -> bool:
    return (
        s.scalar(
            select(WebhookWatch.webhook_id)
            .join(Webhook, Webhook.id == WebhookWatch.webhook_id)
            .where(WebhookWatch.key.in_(keys), Webhook.disabled.is_(False))
            .limit(1)
        )
        is not None
    )


_INSERT_EVENT = insert(cast(Table, WebhookEvent.__table__))


def _emit(
    s: Session,
    repos: list[m.Repo],
    domain: str,
    payload: Callable[[], dict[str, Any]],
    *,
    also: tuple[list[str], int] | None = None,
) -> None:
    """Queue the event if an enabled webhook watches one of ``repos`` (or its namespace);
    ``payload`` is built only then. ``also``: more match keys, and the owner whose readers
    alone may hear of it too (a repo's new place when it moves)."""
    if any(r.type not in REPO_TYPES for r in repos):
        return
    more, more_owner = also or ([], None)
    keys = list(dict.fromkeys([*(k for r in repos for k in _keys(r)), *more]))
    if not _watched(s, keys):
        return
    private = {r.owner_id for r in repos if r.private}
    if private and more_owner is not None:
        private.add(more_owner)
    # A Core insert of a prepared statement: the row is never read back in this
    # transaction, so the ORM's unit of work would be part of every commit's cost for nothing.
    s.execute(
        _INSERT_EVENT,
        {
            "domain": domain,
            "keys": keys,
            "private_owners": sorted(private),
            "payload": payload(),
            "fanned_out": False,
            "created_at": utcnow(),
        },
    )


def _web_path(repo: m.Repo) -> str:
    prefix = "" if repo.type == "model" else f"/{TYPE_PLURALS[repo.type]}"
    return f"{prefix}/{repo.namespace}/{repo.name}"


def repo_doc(repo: m.Repo, *, head_sha: str | None = None) -> dict[str, Any]:
    """The payload's ``repo``. ``headSha`` is the public hub's key; ``head_sha`` the one
    huggingface_hub's ``WebhookPayload`` reads."""
    doc: dict[str, Any] = {
        "type": repo.type,
        "name": f"{repo.namespace}/{repo.name}",
        "id": f"{repo.type}-{repo.id}",
        "private": bool(repo.private),
        "url": {
            "web": _web_path(repo),
            "api": f"/api/{TYPE_PLURALS[repo.type]}/{repo.namespace}/{repo.name}",
        },
        "owner": {"id": str(repo.owner_id)},
    }
    if head_sha:
        doc["headSha"] = doc["head_sha"] = head_sha
    return doc


def _main_head(s: Session, repo: m.Repo) -> str | None:
    return s.scalar(
        select(m.Ref.commit_oid).where(m.Ref.repo_id == repo.id, m.Ref.kind == "branch", m.Ref.name == "main")
    )


def ref_moved(s: Session, repo: m.Repo, ref: str, old: str | None, new: str | None) -> None:
    """A ref of ``repo`` moved (a commit, a merge), was created (``old`` None) or deleted
    (``new`` None): ``repo.content``."""

    def payload() -> dict[str, Any]:
        head = new if ref == "refs/heads/main" else _main_head(s, repo)
        return {
            "event": {"action": "update", "scope": "repo.content"},
            "repo": repo_doc(repo, head_sha=head),
            "updatedRefs": [{"ref": ref, "oldSha": old, "newSha": new}],
        }

    _emit(s, [repo], "repo", payload)


def repo_created(s: Session, repo: m.Repo) -> None:
    """``repo`` was created (its ``main`` branch included): scope ``repo``, ``create``."""
    _emit(s, [repo], "repo", lambda: _repo_event(s, repo, "create"))


def repo_deleted(s: Session, repo: m.Repo) -> None:
    """``repo`` is about to be deleted (call before its rows go): ``repo``, ``delete``."""
    _emit(s, [repo], "repo", lambda: _repo_event(s, repo, "delete"))


def repo_moving(s: Session, repo: m.Repo, namespace: str, name: str, owner_id: int) -> None:
    """``repo`` is about to become ``namespace/name`` (owned by ``owner_id``): ``repo``,
    ``move``, with ``repo`` as it was and ``movedTo``. Webhooks watching either place hear
    of it; for a private repo, only those whose owner may read it in both."""

    def payload() -> dict[str, Any]:
        doc = _repo_event(s, repo, "move")
        doc["movedTo"] = {"name": f"{namespace}/{name}", "owner": {"id": str(owner_id)}}
        return doc

    new_keys = [namespace_key(namespace), repo_key(repo.type, namespace, name)]
    _emit(s, [repo], "repo", payload, also=(new_keys, owner_id))


def config_changed(s: Session, repo: m.Repo, updated: dict[str, Any]) -> None:
    """Settings of ``repo`` changed (``updated``: each changed setting's new value):
    ``repo.config``, ``update``, with ``updatedConfig``. A repo made private is told only
    to webhooks whose owner may read it now."""

    def payload() -> dict[str, Any]:
        doc = _repo_event(s, repo, "update", scope="repo.config")
        doc["updatedConfig"] = dict(updated)
        return doc

    _emit(s, [repo], "repo", payload)


def _repo_event(s: Session, repo: m.Repo, action: str, *, scope: str = "repo") -> dict[str, Any]:
    return {"event": {"action": action, "scope": scope}, "repo": repo_doc(repo, head_sha=_main_head(s, repo))}


def _discussion_doc(repo: m.Repo, d: c.Discussion) -> dict[str, Any]:
    api = f"/api/{TYPE_PLURALS[repo.type]}/{repo.namespace}/{repo.name}/discussions/{d.num}"
    doc: dict[str, Any] = {
        "id": str(d.id),
        "num": d.num,
        "author": {"id": str(d.author_id) if d.author_id is not None else d.author},
        "title": d.title,
        "isPullRequest": bool(d.is_pull_request),
        "status": d.status,
        "pinned": bool(d.pinned),
        "url": {"web": f"{_web_path(repo)}/discussions/{d.num}", "api": api},
    }
    if d.is_pull_request:
        doc["changes"] = {"base": f"refs/heads/{d.target_branch or 'main'}"}
        if d.merge_oid:
            doc["changes"]["mergeCommitId"] = d.merge_oid
    return doc


def _comment_doc(repo: m.Repo, d: c.Discussion, ev: c.DiscussionEvent) -> dict[str, Any]:
    return {
        "id": ev.public_id,
        "author": {"id": str(ev.author_id) if ev.author_id is not None else ev.author},
        "hidden": bool(ev.hidden),
        "content": None if ev.hidden else ev.content,
        "url": {"web": f"{_web_path(repo)}/discussions/{d.num}#{ev.public_id}"},
    }


def discussion_changed(
    s: Session, repo: m.Repo, d: c.Discussion, action: str, *, comment: c.DiscussionEvent | None = None
) -> None:
    """A discussion or pull request was opened (``create``, with its first comment if any)
    or changed status or title (``update``): scope ``discussion``."""

    def payload() -> dict[str, Any]:
        doc = {
            "event": {"action": action, "scope": "discussion"},
            "repo": repo_doc(repo),
            "discussion": _discussion_doc(repo, d),
        }
        if comment is not None:
            doc["comment"] = _comment_doc(repo, d, comment)
        return doc

    _emit(s, [repo], "discussion", payload)


def comment_changed(s: Session, repo: m.Repo, d: c.Discussion, ev: c.DiscussionEvent, action: str) -> None:
    """A comment was posted (``create``), edited or hidden (``update``): ``discussion.comment``."""

    def payload() -> dict[str, Any]:
        return {
            "event": {"action": action, "scope": "discussion.comment"},
            "repo": repo_doc(repo),
            "discussion": _discussion_doc(repo, d),
            "comment": _comment_doc(repo, d, ev),
        }

    _emit(s, [repo], "discussion", payload)


def _review_comment_doc(
    repo: m.Repo, d: c.Discussion, row: r.ReviewComment, thread: r.ReviewComment
) -> dict[str, Any]:
    return {
        "id": row.public_id,
        "author": {"id": str(row.author_id) if row.author_id is not None else row.author},
        "content": row.content,
        "threadId": thread.public_id,
        "anchor": thread.anchor(),
        "resolved": bool(thread.resolved),
        "url": {"web": f"{_web_path(repo)}/discussions/{d.num}#{row.public_id}"},
    }


def review_submitted(
    s: Session,
    repo: m.Repo,
    d: c.Discussion,
    review: r.Review,
    comment: c.DiscussionEvent,
    comments: list[r.ReviewComment],
) -> None:
    """A review of pull request ``d`` was submitted (``comment``: its entry in the
    discussion's thread; ``comments``: its anchored comments): ``discussion.review``,
    ``create`` (a Workbench extension)."""

    def payload() -> dict[str, Any]:
        return {
            "event": {"action": "create", "scope": "discussion.review"},
            "repo": repo_doc(repo),
            "discussion": _discussion_doc(repo, d),
            "review": {
                "id": review.public_id,
                "author": {"id": str(review.author_id) if review.author_id is not None else review.author},
                "state": review.state,
                "summary": review.summary,
                "commit": review.commit_oid,
                "comments": [_review_comment_doc(repo, d, row, row) for row in comments],
                "url": {"web": f"{_web_path(repo)}/discussions/{d.num}#{comment.public_id}"},
            },
            "comment": _comment_doc(repo, d, comment),
        }

    _emit(s, [repo], "discussion", payload)


def review_comment_changed(
    s: Session, repo: m.Repo, d: c.Discussion, row: r.ReviewComment, thread: r.ReviewComment, action: str
) -> None:
    """A review comment on the diff of ``d`` was posted (``create``: a new thread or a
    reply in ``thread``), or its thread resolved or reopened (``update``):
    ``discussion.review.comment`` (a Workbench extension), with ``reviewComment``."""

    def payload() -> dict[str, Any]:
        return {
            "event": {"action": action, "scope": "discussion.review.comment"},
            "repo": repo_doc(repo),
            "discussion": _discussion_doc(repo, d),
            "reviewComment": _review_comment_doc(repo, d, row, thread),
        }

    _emit(s, [repo], "discussion", payload)


def eval_recorded(s: Session, model: m.Repo, dataset: m.Repo, record: dict[str, Any]) -> None:
    """An evaluation record of ``model`` on ``dataset`` was created (domain ``eval``, a
    Workbench extension); sent to webhooks watching either repo or its namespace, whose
    owner may read both (as the record itself)."""

    def payload() -> dict[str, Any]:
        return {
            "event": {"action": "create", "scope": "eval.record"},
            "repo": repo_doc(model),
            "eval": {**record, "dataset": repo_doc(dataset)},
        }

    _emit(s, [model, dataset], "eval", payload)
