"""Workbench API: organizations and their members, the caller's tokens, the audit log.

Org members are managed by the org's admins (or hub admins); tokens by their owner, whose
secret is returned once, on creation; the audit log is read by hub admins (everything) and
org admins (their org's events).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query

from workbench.hub.deps import Caller, JsonBody, State, field, seg
from workbench.store import audit, orgs

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


@router.post("/api/tokens", summary="Create a token for the caller (its secret is shown once)")
def create_token(state: State, caller: Caller, data: JsonBody) -> dict[str, Any]:
    name = field(data, "name", str, required=True)
    scope = field(data, "scope", str, default="read")
    with state.store.write() as s:
        info, secret = orgs.create_token_as(s, caller, name, scope=scope)
    return {**info.to_dict(), "token": secret}


@router.delete("/api/tokens/{token_id}", summary="Revoke one of the caller's tokens")
def revoke_token(state: State, caller: Caller, token_id: int = Path(ge=1, le=MAX_ID)) -> dict[str, Any]:
    with state.store.write() as s:
        orgs.revoke_token_as(s, caller, token_id)
    return {"revoked": token_id}


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
