"""HF protocol: webhooks (``HfApi.create_webhook``, ``list_webhooks``, ``get_webhook``,
``update_webhook``, ``enable_webhook``, ``disable_webhook``, ``delete_webhook``), in the JSON
shapes the Hugging Face clients parse; and, Workbench's own, each webhook's delivery log and
replays.

Who may do what, and what a webhook may watch, is :mod:`workbench.store.webhooks`; where it
may send, :mod:`workbench.store.webhook_targets`; the deliveries,
:mod:`workbench.store.webhook_queue`. Nothing is sent from here: deliveries go out from the
hub's job process.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from workbench.hub.deps import Caller, JsonBody, State, seg
from workbench.store import webhook_queue, webhooks
from workbench.store.webhook_targets import allowed_hosts

router = APIRouter(tags=["webhooks"])
BASE = "/api/settings/webhooks"


def _hosts(state: State) -> frozenset[str]:
    return allowed_hosts(state.settings.webhook_allowed_hosts)


@router.get(BASE, summary="The caller's webhooks")
def list_webhooks(state: State, caller: Caller) -> list[dict[str, Any]]:
    with state.store.read() as s:
        return [w.to_dict() for w in webhooks.list_webhooks(s, caller)]


@router.post(BASE, summary="Create a webhook")
def create_webhook(state: State, caller: Caller, data: JsonBody) -> dict[str, Any]:
    with state.store.write() as s:
        view = webhooks.create_webhook(state.store, s, caller, data, allowed_hosts=_hosts(state))
    return {"webhook": view.to_dict()}


@router.get(BASE + "/{webhook_id}", summary="One of the caller's webhooks")
def get_webhook(webhook_id: str, state: State, caller: Caller) -> dict[str, Any]:
    with state.store.read() as s:
        return {"webhook": webhooks.get_webhook(s, caller, seg(webhook_id)).to_dict()}


@router.post(BASE + "/{webhook_id}", summary="Change a webhook's URL, watched items, domains or secret")
def update_webhook(webhook_id: str, state: State, caller: Caller, data: JsonBody) -> dict[str, Any]:
    with state.store.write() as s:
        view = webhooks.update_webhook(
            state.store, s, caller, seg(webhook_id), data, allowed_hosts=_hosts(state)
        )
    return {"webhook": view.to_dict()}


@router.post(BASE + "/{webhook_id}/enable", summary="Enable a webhook")
def enable_webhook(webhook_id: str, state: State, caller: Caller) -> dict[str, Any]:
    with state.store.write() as s:
        return {"webhook": webhooks.set_disabled(s, caller, seg(webhook_id), False).to_dict()}


@router.post(BASE + "/{webhook_id}/disable", summary="Disable a webhook (it sends nothing)")
def disable_webhook(webhook_id: str, state: State, caller: Caller) -> dict[str, Any]:
    with state.store.write() as s:
        return {"webhook": webhooks.set_disabled(s, caller, seg(webhook_id), True).to_dict()}


@router.delete(BASE + "/{webhook_id}", summary="Delete a webhook and its delivery log")
def delete_webhook(webhook_id: str, state: State, caller: Caller) -> dict[str, Any]:
    with state.store.write() as s:
        webhooks.delete_webhook(s, caller, seg(webhook_id))
    return {"deleted": seg(webhook_id)}


@router.get(
    BASE + "/{webhook_id}/deliveries",
    tags=["workbench"],
    summary="A webhook's last deliveries, newest first, with each attempt (Workbench)",
)
def list_deliveries(
    webhook_id: str,
    state: State,
    caller: Caller,
    limit: int = Query(webhook_queue.KEEP_DELIVERIES, ge=1, le=webhook_queue.KEEP_DELIVERIES),
) -> list[dict[str, Any]]:
    with state.store.read() as s:
        return [d.to_dict() for d in webhook_queue.list_deliveries(s, caller, seg(webhook_id), limit=limit)]


@router.post(
    BASE + "/{webhook_id}/deliveries/{delivery_id}/replay",
    tags=["workbench"],
    summary="Send a delivery's event again, as a new delivery (Workbench)",
)
def replay_delivery(webhook_id: str, delivery_id: str, state: State, caller: Caller) -> dict[str, Any]:
    with state.store.write() as s:
        return webhook_queue.replay(s, caller, seg(webhook_id), seg(delivery_id)).to_dict()
