"""Webhook deliveries as a queue in the metadata store: fan-out, claims, outcomes, the log.

An event (:mod:`workbench.store.webhook_events`) becomes one delivery per enabled webhook that
watches it, watches its domain, existed when it happened, and whose owner may read every
private repo in it (:func:`fan_out`). A worker claims a due delivery with a compare-and-swap
and holds it under a lease (:func:`claim`), so that several hub processes share the queue
and a worker that dies leaves its delivery to another. An attempt that fails for a reason worth retrying (a
timeout, a refused connection, 5xx, 408, 429) is tried again after :data:`RETRY_DELAYS`, up
to :data:`MAX_ATTEMPTS` times (:func:`record`). Each webhook keeps its last
:data:`KEEP_DELIVERIES` deliveries, each with the log of its attempts, readable by its owner
and replayable (:func:`list_deliveries`, :func:`replay`).

>>> with store.write() as s:                                   # doctest: +SKIP
...     record(s, finished); fan_out(s); jobs = claim(s, limit=32, lease_seconds=120)
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, or_, select, update
from sqlalchemy.orm import Session

from workbench.errors import NotFound
from workbench.store import models as m
from workbench.store.access import Principal, can_read, require_write_scope
from workbench.store.accounts import principal_for
from workbench.store.store import utcnow
from workbench.store.webhook_models import Webhook, WebhookDelivery, WebhookEvent, WebhookWatch
from workbench.store.webhooks import owned_webhook

MAX_ATTEMPTS = 3
RETRY_DELAYS = (1.0, 10.0)  # seconds before the second and the third attempt
KEEP_DELIVERIES = 100
PAYLOAD_VERSION = 3
MAX_ERROR_CHARS = 1000


@dataclass(frozen=True)
class DeliveryJob:
    """A claimed delivery: where to send what."""

    id: int
    public_id: str
    url: str
    secret: str | None
    payload: dict[str, Any]
    attempt: int


@dataclass(frozen=True)
class Attempt:
    """One attempt's outcome: the receiver's status (None: no answer), how long, what failed,
    and whether trying again may help."""

    status: int | None
    duration_ms: int
    error: str | None = None
    retry: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _pending(hook_id: int, event_id: int, now: datetime, *, replay_of: str | None = None) -> WebhookDelivery:
    return WebhookDelivery(
        public_id=secrets.token_hex(12),
        webhook_id=hook_id,
        event_id=event_id,
        replay_of=replay_of,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        attempts_log=[],
        created_at=now,
        updated_at=now,
    )


def _may_read(
    s: Session, owner_id: int, private_owners: list[int], cache: dict[int, Principal | None]
) -> bool:
    if not private_owners:
        return True
    if owner_id not in cache:
        account = s.get(m.Account, owner_id)
        cache[owner_id] = principal_for(s, account, None) if account is not None else None
    p = cache[owner_id]
    return p is not None and all(can_read(p, m.Repo(private=True, owner_id=o)) for o in private_owners)


def fan_out(s: Session, *, limit: int = 200) -> int:
    """Turn up to ``limit`` new events into deliveries; the number of events taken. An
    event no webhook takes is deleted at once."""
    events = s.scalars(
        select(WebhookEvent)
        .where(WebhookEvent.fanned_out.is_(False))
        .order_by(WebhookEvent.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not events:
        return 0
    s.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id.in_([ev.id for ev in events]))
        .values(fanned_out=True)
        .execution_options(synchronize_session=False)
    )
    keys = {k for ev in events for k in ev.keys}
    watching: dict[str, set[int]] = {}
    for hook_id, key in s.execute(
        select(WebhookWatch.webhook_id, WebhookWatch.key).where(WebhookWatch.key.in_(keys))
    ):
        watching.setdefault(key, set()).add(hook_id)
    ids = set().union(*watching.values()) if watching else set()
    hooks = {
        h.id: h for h in s.scalars(select(Webhook).where(Webhook.id.in_(ids), Webhook.disabled.is_(False)))
    }
    now, readers, unused = utcnow(), {}, []  # type: ignore[var-annotated]
    for ev in events:
        taken = 0
        for hook_id in sorted(set().union(*(watching.get(k, set()) for k in ev.keys))):
            hook = hooks.get(hook_id)
            if (
                hook
                and hook.created_at <= ev.created_at  # not what happened before it existed
                and ev.domain in hook.domains
                and _may_read(s, hook.owner_id, ev.private_owners, readers)
            ):
                s.add(_pending(hook.id, ev.id, now))
                taken += 1
        if not taken:
            unused.append(ev.id)
    if unused:
        s.execute(delete(WebhookEvent).where(WebhookEvent.id.in_(unused)))
    return len(events)


def prune(s: Session) -> None:
    """Keep each webhook's last :data:`KEEP_DELIVERIES` deliveries, and the events they
    send (run now and then: it reads every webhook's log)."""
    for hook_id in s.scalars(select(Webhook.id)):
        oldest_kept = s.scalar(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.webhook_id == hook_id)
            .order_by(WebhookDelivery.id.desc())
            .offset(KEEP_DELIVERIES - 1)
            .limit(1)
        )
        if oldest_kept is not None:
            s.execute(
                delete(WebhookDelivery).where(
                    WebhookDelivery.webhook_id == hook_id, WebhookDelivery.id < oldest_kept
                )
            )
    s.execute(
        delete(WebhookEvent).where(
            WebhookEvent.fanned_out.is_(True),
            ~exists().where(WebhookDelivery.event_id == WebhookEvent.id),
        )
    )


def _due(now: datetime) -> Any:
    return or_(
        and_(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now),
        and_(WebhookDelivery.status == "sending", WebhookDelivery.lease_until < now),
    )


def has_work(s: Session) -> bool:
    """Whether an event waits for fan-out or a delivery is due (a cheap look, no lock)."""
    now = utcnow()
    if s.scalar(select(WebhookEvent.id).where(WebhookEvent.fanned_out.is_(False)).limit(1)) is not None:
        return True
    return s.scalar(select(WebhookDelivery.id).where(_due(now)).limit(1)) is not None


def claim(s: Session, *, limit: int, lease_seconds: float) -> list[DeliveryJob]:
    """Take up to ``limit`` of the oldest due deliveries (or ones whose worker's lease
    expired), in the caller's transaction."""
    now = utcnow()
    rows = s.scalars(
        select(WebhookDelivery)
        .where(_due(now))
        .order_by(WebhookDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return []
    hooks = {h.id: h for h in s.scalars(select(Webhook).where(Webhook.id.in_({r.webhook_id for r in rows})))}
    events = {
        e.id: e
        for e in s.scalars(select(WebhookEvent).where(WebhookEvent.id.in_({r.event_id for r in rows})))
    }
    jobs, taken = [], []
    for row in rows:
        hook = hooks.get(row.webhook_id)
        if hook is None or hook.disabled or row.attempts >= MAX_ATTEMPTS:
            gone = hook is None or hook.disabled
            row.status = "skipped" if gone else "failed"
            row.error = (
                "The webhook was disabled before this delivery was sent."
                if gone
                else f"The worker sending this delivery stopped {row.attempts} times; giving up."
            )
            row.lease_until, row.updated_at = None, now
            continue
        payload = {
            **events[row.event_id].payload,
            "webhook": {"id": hook.public_id, "version": PAYLOAD_VERSION},
        }
        jobs.append(DeliveryJob(row.id, row.public_id, hook.url, hook.secret, payload, row.attempts + 1))
        taken.append(row.id)
    if taken:  # the rows are ours: locked (PostgreSQL), or under SQLite's one writer
        s.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(taken))
            .values(
                status="sending",
                attempts=WebhookDelivery.attempts + 1,
                lease_until=now + timedelta(seconds=lease_seconds),
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
    return jobs


def record(s: Session, outcomes: list[tuple[DeliveryJob, Attempt]]) -> list[str]:
    """Write attempts' outcomes in the caller's transaction; each delivery's new status
    (``pending``: it will be tried again; ``gone``: pruned, or taken over after our lease)."""
    now = utcnow()
    rows = {
        r.id: r
        for r in s.scalars(select(WebhookDelivery).where(WebhookDelivery.id.in_([j.id for j, _ in outcomes])))
    }
    statuses = []
    for job, attempt in outcomes:
        row = rows.get(job.id)
        if row is None or row.status != "sending" or row.attempts != job.attempt:
            statuses.append("gone")
            continue
        error = attempt.error[:MAX_ERROR_CHARS] if attempt.error else None
        if attempt.ok:
            status, next_at = "succeeded", None
        elif attempt.retry and job.attempt < MAX_ATTEMPTS:
            status, next_at = "pending", now + timedelta(seconds=RETRY_DELAYS[job.attempt - 1])
        else:
            status, next_at = "failed", None
        entry = {
            "at": now.isoformat(timespec="milliseconds") + "Z",
            "status": attempt.status,
            "durationMs": attempt.duration_ms,
            "error": error,
        }
        row.attempts_log = [*row.attempts_log, entry]
        row.status, row.next_attempt_at, row.lease_until, row.updated_at = status, next_at, None, now
        row.response_status, row.duration_ms, row.error = attempt.status, attempt.duration_ms, error
        statuses.append(status)
    return statuses


# -- the log and replays (the webhook's owner) ---------------------------------------------


@dataclass(frozen=True)
class DeliveryView:
    id: str
    status: str
    attempts: int
    response_status: int | None
    duration_ms: int | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    replay_of: str | None
    event: dict[str, Any]
    attempts_log: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "attempts": self.attempts,
            "responseStatus": self.response_status,
            "durationMs": self.duration_ms,
            "error": self.error,
            "createdAt": self.created_at.isoformat(timespec="milliseconds") + "Z",
            "updatedAt": self.updated_at.isoformat(timespec="milliseconds") + "Z",
            "replayOf": self.replay_of,
            "event": self.event,
            "attemptsLog": self.attempts_log,
        }


def _view(row: WebhookDelivery, event: WebhookEvent) -> DeliveryView:
    summary = {**event.payload["event"], "repo": event.payload["repo"]["name"]}
    return DeliveryView(
        row.public_id,
        row.status,
        row.attempts,
        row.response_status,
        row.duration_ms,
        row.error,
        row.created_at,
        row.updated_at,
        row.replay_of,
        summary,
        list(row.attempts_log),
    )


def list_deliveries(
    s: Session, p: Principal, webhook_id: str, *, limit: int = KEEP_DELIVERIES
) -> list[DeliveryView]:
    """The webhook's last deliveries, newest first (its owner only)."""
    hook = owned_webhook(s, p, webhook_id)
    rows = s.execute(
        select(WebhookDelivery, WebhookEvent)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.webhook_id == hook.id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    ).all()
    return [_view(row, event) for row, event in rows]


def replay(s: Session, p: Principal, webhook_id: str, delivery_id: str) -> DeliveryView:
    """Send a delivery's event again, as a new delivery (with the webhook's current URL and
    secret), whatever became of the first."""
    require_write_scope(p)
    hook = owned_webhook(s, p, webhook_id)
    row = s.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.public_id == delivery_id.lower(), WebhookDelivery.webhook_id == hook.id
        )
    )
    if row is None:
        raise NotFound(
            f"Delivery {delivery_id!r} of webhook {webhook_id!r} not found.", code="DeliveryNotFound"
        )
    again = _pending(hook.id, row.event_id, utcnow(), replay_of=row.public_id)
    s.add(again)
    s.flush()
    event = s.get(WebhookEvent, row.event_id)
    assert event is not None
    return _view(again, event)
