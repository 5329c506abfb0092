"""Database rows of webhooks: the hooks, what they watch, the events and their deliveries.

Kept beside ``models.py`` (same ``Base``); the webhook migration creates them. The rules
live in :mod:`workbench.store.webhooks` (the hooks), :mod:`workbench.store.webhook_events`
(what an event is) and :mod:`workbench.store.webhook_queue` (fan-out and deliveries). Rows
never leave ``workbench.store``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from workbench.store.models import Base


class Webhook(Base):
    """A user's webhook: where to POST, which domains, the secret, whether it is disabled.

    ``public_id`` (24 hex digits) is the id the HF clients see.
    """

    __tablename__ = "webhooks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str | None] = mapped_column(String(400), nullable=True)
    domains: Mapped[list[str]] = mapped_column(JSON)
    # [{"type": "user"|"org"|"model"|"dataset"|"space", "name": ...}], as the client sent them
    watched: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class WebhookWatch(Base):
    """One watched item of a webhook as a match key: ``ns:<name>`` for a user or an
    organization, ``<type>:<ns>/<name>`` for a repo (what events carry, indexed)."""

    __tablename__ = "webhook_watches"
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)


class WebhookEvent(Base):
    """Something happened that webhooks may watch, written in the transaction that did it.

    A snapshot, not a reference (the repo may be gone by delivery time): the payload without
    its ``webhook`` part and with URLs relative to the hub, the domain, the match keys, and
    the owners of the private repos involved (a webhook's owner must be able to read all of
    them). ``fanned_out``: the worker made its deliveries.
    """

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_pending", "fanned_out", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    domain: Mapped[str] = mapped_column(String(16))
    keys: Mapped[list[str]] = mapped_column(JSON)
    private_owners: Mapped[list[int]] = mapped_column(JSON)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    fanned_out: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class WebhookDelivery(Base):
    """One event sent (or to be sent) to one webhook, with each attempt's outcome.

    ``status``: ``pending`` (due at ``next_attempt_at``), ``sending`` (a worker holds it until
    ``lease_until``), ``succeeded``, ``failed`` (out of attempts, or refused). ``attempts_log``:
    ``[{"at", "status", "durationMs", "error"}]``, oldest first.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_webhook", "webhook_id", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"), index=True)
    replay_of: Mapped[str | None] = mapped_column(String(24), nullable=True)
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts_log: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
