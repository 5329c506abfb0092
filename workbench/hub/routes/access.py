"""Workbench API: organizations and their members, the caller's tokens, users and everyone's
tokens for hub admins, the audit log.

Org members are managed by the org's admins (or hub admins); tokens by their owner, whose
secret is returned once, on creation; users and anyone's tokens by hub admins
(``/api/admin/...``); the audit log is read by hub admins (everything) and org admins (their
org's events).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Path, Query

from workbench.errors import InvalidRequest
from workbench.hub.deps import Caller, JsonBody, State, field, seg
from workbench.store import audit, orgs, users
from workbench.store.accounts import parse_limits
from workbench.store.store import utcnow

router = APIRouter(tags=["workbench"])
MAX_ID = 2**31 - 1  # ids are 32-bit integer columns on PostgreSQL; larger ones match nothing


@router.get("/api/organizations", summary="The caller's organizations and roles")
def list_organizations(state: State, caller: Caller) -> list[dict[str, Any]]:
    if caller.anonymous:
        return []
    with state.store.read() as s:
        return orgs.list_orgs(s, caller)


@router.post("/api/organizations", summary="Create an organization (the caller becomes admin)")
def create_organization(state: State, caller: Caller, data: JsonBody) -> dict[str, Any]:
    name = field(data, "name", str, required=True)
    with state.store.write() as s:
        org = orgs.create_org_as(s, caller, name, fullname=field(data, "fullname", str, default=""))
        return {"name": org.name, "fullname": org.fullname, "type": "org", "roleInOrg": "admin"}


@router.get("/api/organizations/{org}/members", summary="Members of an organization and their roles")
def list_members(org: str, state: State, caller: Caller) -> list[dict[str, str]]:
    with state.store.read() as s:
        return [m.to_dict() for m in orgs.list_members(s, caller, seg(org))]


@router.put("/api/organizations/{org}/members/{user}", summary="Add a member or change their role")
def set_member(org: str, user: str, state: State, caller: Caller, data: JsonBody) -> dict[str, str]:
    role = field(data, "role", str, required=True)
    with state.store.write() as s:
        return orgs.set_role(s, caller, seg(org), seg(user), role).to_dict()


@router.delete("/api/organizations/{org}/members/{user}", summary="Remove a member")
def remove_member(org: str, user: str, state: State, caller: Caller) -> dict[str, str]:
    with state.store.write() as s:
        orgs.remove_member(s, caller, seg(org), seg(user))
    return {"removed": seg(user)}


@router.get("/api/tokens", summary="The caller's tokens (never their secrets)")
def list_tokens(state: State, caller: Caller) -> list[dict[str, Any]]:
    with state.store.read() as s:
        return [t.to_dict() for t in orgs.list_tokens(s, caller)]


def token_expiry(data: dict[str, Any]) -> datetime | None:
    """A new token's expiry from ``expiresAt`` (ISO 8601, UTC unless it says otherwise) or
    ``expiresIn`` (seconds from now); neither: it never expires."""
    at, within = field(data, "expiresAt", str), field(data, "expiresIn", int)
    if at is not None and within is not None:
        raise InvalidRequest("Give expiresAt or expiresIn, not both.", code="InvalidExpiry")
    if within is not None:
        if within <= 0 or within > 100 * 365 * 86400:
            raise InvalidRequest("expiresIn must be a positive number of seconds.", code="InvalidExpiry")
        return utcnow() + timedelta(seconds=within)
    if at is None:
        return None
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        raise InvalidRequest(f"expiresAt {at!r} is not an ISO 8601 time.", code="InvalidExpiry") from None
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


def token_limits(data: dict[str, Any]) -> Any:
    entries = field(data, "limits", list)
    if entries is not None and not all(isinstance(e, dict) for e in entries):
        raise InvalidRequest("limits must be a list of objects.", code="InvalidTokenLimit")
    return parse_limits(entries)


@router.post("/api/tokens", summary="Create a token for the caller (its secret is shown once)")
def create_token(state: State, caller: Caller, data: JsonBody) -> dict[str, Any]:
    """Body: ``name``, ``scope`` (read, the default, or write), optional ``expiresAt`` or
    ``expiresIn`` and ``limits`` (a list of ``{"namespace"}`` and ``{"type", "namespace",
    "name"}``)."""
    name = field(data, "name", str, required=True)
    scope = field(data, "scope", str, default="read")
    expires, limits = token_expiry(data), token_limits(data)
    with state.store.write() as s:
        info, secret = orgs.create_token_as(s, caller, name, scope=scope, expires_at=expires, limits=limits)
    return {**info.to_dict(), "token": secret}


@router.delete("/api/tokens/{token_id}", summary="Revoke one of the caller's tokens")
def revoke_token(state: State, caller: Caller, token_id: int = Path(ge=1, le=MAX_ID)) -> dict[str, Any]:
    with state.store.write() as s:
        orgs.revoke_token_as(s, caller, token_id)
    return {"revoked": token_id}


@router.post("/api/admin/users", summary="Create a user (hub admins)")
def admin_create_user(state: State, caller: Caller, data: JsonBody) -> dict[str, Any]:
    name = field(data, "name", str, required=True)
    with state.store.write() as s:
        user = users.create_user_as(
            s,
            caller,
            name,
            admin=field(data, "isAdmin", bool, default=False),
            fullname=field(data, "fullname", str, default=""),
            email=field(data, "email", str),
        )
        return _user(user)


@router.patch("/api/admin/users/{name}", summary="Disable or enable a user (hub admins)")
def admin_update_user(name: str, state: State, caller: Caller, data: JsonBody) -> dict[str, Any]:
    """Body: ``{"disabled": true}`` (every token of theirs answers 401 at once) or ``false``."""
    disabled = field(data, "disabled", bool, required=True)
    with state.store.write() as s:
        return _user(users.set_disabled(s, caller, seg(name), disabled))


@router.delete("/api/admin/users/{name}", summary="Delete a user with their tokens (hub admins)")
def admin_delete_user(name: str, state: State, caller: Caller) -> dict[str, Any]:
    with state.store.write() as s:
        users.delete_user(s, caller, seg(name))
    return {"deleted": seg(name)}


@router.get("/api/admin/tokens", summary="Everyone's tokens, or one user's (hub admins)")
def admin_list_tokens(state: State, caller: Caller, user: str | None = None) -> list[dict[str, Any]]:
    with state.store.read() as s:
        return [t.to_dict() for t in users.all_tokens(s, caller, user)]


@router.delete("/api/admin/tokens/{token_id}", summary="Revoke anyone's token (hub admins)")
def admin_revoke_token(state: State, caller: Caller, token_id: int = Path(ge=1, le=MAX_ID)) -> dict[str, Any]:
    with state.store.write() as s:
        return {"revoked": token_id, "token": users.revoke_any_token(s, caller, token_id).to_dict()}


def _user(user: Any) -> dict[str, Any]:
    return {
        "name": user.name,
        "fullname": user.fullname,
        "email": user.email,
        "isAdmin": user.is_admin,
        "disabled": user.disabled,
        "type": "user",
    }


@router.get("/api/audit", summary="Audit log, newest first (hub admins; org admins: their org)")
def audit_log(
    state: State,
    caller: Caller,
    namespace: str | None = None,
    action: str | None = None,
    actor: str | None = None,
    repo: str | None = None,
    limit: int = Query(100, ge=1, le=audit.MAX_PAGE),
    before: int | None = Query(None, ge=1, le=MAX_ID),
) -> dict[str, Any]:
    with state.store.read() as s:
        events = audit.list_events(
            s, caller, namespace=namespace, action=action, actor=actor, repo=repo, limit=limit, before=before
        )
    return {"events": [e.to_dict() for e in events], "next": events[-1].id if len(events) == limit else None}
