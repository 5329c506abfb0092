"""Webhooks as the public hub has them: a user's hooks, what they watch, who may do what.

A webhook belongs to the user who made it; only that user sees, changes, disables or deletes
it (everyone else gets 404, as for a webhook that does not exist). It watches users,
organizations and repos: like on the public hub, any the caller may see (a private repo the
caller cannot read is a 404), so a team can react to another team's new model revisions.
Events of a private repo go only to webhooks whose owner may read the repo when the event
happens (:mod:`workbench.store.webhook_queue`). A webhook watching a repo follows it when it
is renamed or transferred (:func:`follow_move`). The URL must pass
:mod:`workbench.store.webhook_targets`.

>>> with store.write() as s:                                          # doctest: +SKIP
...     view = create_webhook(s, caller, data, allowed_hosts=frozenset())
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from workbench.errors import AuthenticationError, InvalidRequest, NotFound
from workbench.names import split_repo_id
from workbench.store import models as m
from workbench.store.access import Principal, readable_repo, require_write_scope
from workbench.store.store import Store, utcnow
from workbench.store.webhook_events import DOMAINS, REPO_TYPES, namespace_key, repo_key
from workbench.store.webhook_models import Webhook, WebhookWatch
from workbench.store.webhook_targets import check_url

MAX_WATCHED = 100
MAX_SECRET_CHARS = 400
MAX_WEBHOOKS_PER_USER = 200
NAMESPACE_TYPES = ("user", "org")


@dataclass(frozen=True)
class WebhookView:
    """A webhook as its owner sees it (the HF clients' ``WebhookInfo``)."""

    id: str
    url: str
    watched: list[dict[str, str]]
    domains: list[str]
    secret: str | None
    disabled: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Webhook) -> WebhookView:
        return cls(
            row.public_id,
            row.url,
            list(row.watched),
            list(row.domains),
            row.secret,
            row.disabled,
            row.created_at,
            row.updated_at,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "job": None,
            "watched": self.watched,
            "domains": self.domains,
            "secret": self.secret,
            "disabled": self.disabled,
            "createdAt": self.created_at.isoformat(timespec="milliseconds") + "Z",
            "updatedAt": self.updated_at.isoformat(timespec="milliseconds") + "Z",
        }


def _require_user(p: Principal) -> int:
    if p.user_id is None:
        raise AuthenticationError(
            "Webhooks belong to a user: pass `Authorization: Bearer <token>`.", code="TokenRequired"
        )
    return p.user_id


def _watched_item(store: Store, s: Session, p: Principal, item: object) -> tuple[dict[str, str], str]:
    """One watched item, checked: its canonical form and its match key."""
    if (
        not isinstance(item, dict)
        or not isinstance(item.get("type"), str)
        or not isinstance(item.get("name"), str)
    ):
        raise InvalidRequest(
            'Each watched item is {"type": "user"|"org"|"model"|"dataset"|"space", "name": ...}.',
            code="InvalidWatchedItem",
        )
    kind, name = item["type"], item["name"].strip()
    if kind in NAMESPACE_TYPES:
        account = s.scalar(select(m.Account).where(func.lower(m.Account.name) == name.lower()))
        if account is None or account.kind != kind:
            raise NotFound(f"No {kind} named {name!r} to watch.", code="NamespaceNotFound")
        return {"type": kind, "name": account.name}, namespace_key(account.name)
    if kind in REPO_TYPES:
        ns, nm = split_repo_id(name)
        repo = readable_repo(store, s, p, (kind, ns, nm))
        return {"type": kind, "name": f"{repo.namespace}/{repo.name}"}, repo_key(
            kind, repo.namespace, repo.name
        )
    raise InvalidRequest(
        f"Cannot watch a {kind!r}: watch a user, an org, a model, a dataset or a space.",
        code="InvalidWatchedItem",
    )


def _watched(store: Store, s: Session, p: Principal, items: object) -> tuple[list[dict[str, str]], list[str]]:
    if not isinstance(items, list) or not items:
        raise InvalidRequest("A webhook watches at least one user, org or repo.", code="InvalidWatchedItem")
    if len(items) > MAX_WATCHED:
        raise InvalidRequest(f"A webhook watches at most {MAX_WATCHED} items.", code="InvalidWatchedItem")
    checked = dict(_watched_item(store, s, p, item)[::-1] for item in items)  # key -> item, deduplicated
    return list(checked.values()), list(checked)


def _domains(domains: object) -> list[str]:
    if domains is None:
        return ["repo", "discussion"]  # the public hub's default
    if (
        not isinstance(domains, list)
        or not domains
        or not all(isinstance(d, str) and d in DOMAINS for d in domains)
    ):
        raise InvalidRequest(
            f"domains: a non-empty list of {', '.join(map(repr, DOMAINS))}.", code="InvalidDomain"
        )
    return list(dict.fromkeys(domains))


def _secret(secret: object) -> str | None:
    if secret is None or secret == "":
        return None
    if not isinstance(secret, str) or len(secret) > MAX_SECRET_CHARS:
        raise InvalidRequest(
            f"secret: a string of at most {MAX_SECRET_CHARS} characters.", code="InvalidField"
        )
    return secret


def _no_jobs(data: dict[str, Any]) -> None:
    if data.get("jobSourceId") is not None or data.get("secrets") is not None:
        raise InvalidRequest(
            "Webhooks that start Jobs are not supported by Workbench; give a `url`.",
            code="UnsupportedOperation",
        )


def _set_watches(s: Session, hook: Webhook, keys: list[str]) -> None:
    s.execute(delete(WebhookWatch).where(WebhookWatch.webhook_id == hook.id))
    s.add_all(WebhookWatch(webhook_id=hook.id, key=k) for k in keys)


def create_webhook(
    store: Store, s: Session, p: Principal, data: dict[str, Any], *, allowed_hosts: frozenset[str]
) -> WebhookView:
    """Create a webhook from the HF clients' body (``url``, ``watched``, ``domains``, ``secret``)."""
    require_write_scope(p)
    owner = _require_user(p)
    _no_jobs(data)
    url = check_url(data.get("url"), allowed_hosts=allowed_hosts)
    watched, keys = _watched(store, s, p, data.get("watched"))
    count = s.scalar(select(func.count()).select_from(Webhook).where(Webhook.owner_id == owner)) or 0
    if count >= MAX_WEBHOOKS_PER_USER:
        raise InvalidRequest(
            f"You have {count} webhooks, the most one user may have; delete one first.",
            code="TooManyWebhooks",
        )
    now = utcnow()
    hook = Webhook(
        public_id=secrets.token_hex(12),
        owner_id=owner,
        url=url,
        secret=_secret(data.get("secret")),
        domains=_domains(data.get("domains")),
        watched=watched,
        disabled=False,
        created_at=now,
        updated_at=now,
    )
    s.add(hook)
    s.flush()
    _set_watches(s, hook, keys)
    return WebhookView.of(hook)


def owned_webhook(s: Session, p: Principal, webhook_id: str) -> Webhook:
    """The caller's webhook ``webhook_id``; 404 for anyone else's (or none)."""
    owner = _require_user(p)
    hook = s.scalar(select(Webhook).where(Webhook.public_id == webhook_id.lower()))
    if hook is None or hook.owner_id != owner:
        raise NotFound(f"Webhook {webhook_id!r} not found.", code="WebhookNotFound")
    return hook


def get_webhook(s: Session, p: Principal, webhook_id: str) -> WebhookView:
    return WebhookView.of(owned_webhook(s, p, webhook_id))


def list_webhooks(s: Session, p: Principal) -> list[WebhookView]:
    owner = _require_user(p)
    rows = s.scalars(select(Webhook).where(Webhook.owner_id == owner).order_by(Webhook.id))
    return [WebhookView.of(r) for r in rows]


def update_webhook(
    store: Store,
    s: Session,
    p: Principal,
    webhook_id: str,
    data: dict[str, Any],
    *,
    allowed_hosts: frozenset[str],
) -> WebhookView:
    """Change what ``data`` names. An empty ``watched`` list keeps the watched items: the HF
    client sends one whenever the caller leaves ``watched`` out."""
    require_write_scope(p)
    hook = owned_webhook(s, p, webhook_id)
    _no_jobs(data)
    if data.get("url") is not None:
        hook.url = check_url(data["url"], allowed_hosts=allowed_hosts)
    if data.get("watched"):
        hook.watched, keys = _watched(store, s, p, data["watched"])
        _set_watches(s, hook, keys)
    if data.get("domains") is not None:
        hook.domains = _domains(data["domains"])
    if "secret" in data:
        hook.secret = _secret(data["secret"])
    hook.updated_at = utcnow()
    return WebhookView.of(hook)


def set_disabled(s: Session, p: Principal, webhook_id: str, disabled: bool) -> WebhookView:
    require_write_scope(p)
    hook = owned_webhook(s, p, webhook_id)
    hook.disabled, hook.updated_at = disabled, utcnow()
    return WebhookView.of(hook)


def delete_webhook(s: Session, p: Principal, webhook_id: str) -> None:
    require_write_scope(p)
    s.delete(owned_webhook(s, p, webhook_id))


def _item_key(item: dict[str, str]) -> str:
    if item["type"] in NAMESPACE_TYPES:
        return namespace_key(item["name"])
    return repo_key(item["type"], *split_repo_id(item["name"]))


def follow_move(s: Session, repo_type: str, old: tuple[str, str], new: tuple[str, str]) -> None:
    """Webhooks watching repo ``old`` (namespace, name) watch it at ``new`` once it moved, so
    that a rename does not silence them."""
    old_key, new_key = repo_key(repo_type, *old), repo_key(repo_type, *new)
    if old_key == new_key:
        return
    hook_ids = list(s.scalars(select(WebhookWatch.webhook_id).where(WebhookWatch.key == old_key)))
    if not hook_ids:
        return
    s.execute(
        delete(WebhookWatch).where(
            WebhookWatch.key.in_([old_key, new_key]), WebhookWatch.webhook_id.in_(hook_ids)
        )
    )
    s.add_all(WebhookWatch(webhook_id=i, key=new_key) for i in hook_ids)
    moved = {"type": repo_type, "name": f"{new[0]}/{new[1]}"}
    for hook in s.scalars(select(Webhook).where(Webhook.id.in_(hook_ids))):
        items: dict[str, dict[str, str]] = {}
        for item in hook.watched:
            item = moved if _item_key(item) == old_key else item
            items.setdefault(_item_key(item), item)
        hook.watched = list(items.values())
