"""HF protocol: identity, repo create/delete/move/settings, repo info and lists (docs/hf-protocol.md)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from workbench.errors import Conflict, InvalidRequest
from workbench.hub import wire
from workbench.hub.deps import Caller, JsonBody, Position, State, base_url, field, repo_key, seg
from workbench.hub.repo_info import repo_info_at
from workbench.hub.routes import buckets
from workbench.names import (
    PLURAL_TYPES,
    TYPE_PLURALS,
    URL_PREFIX,
    split_repo_id,
    validate_repo_type,
)
from workbench.store.access import Principal, require_write_scope, require_write_token, writable_repo
from workbench.store.accounts import get_account
from workbench.store.gating import downloadable_repo
from workbench.store.orgs import current_token, profile
from workbench.store.repos import (
    RepoKey,
    create_repo,
    delete_repo,
    list_repos,
    move_repo,
    update_settings,
)
from workbench.store.storage import namespace_storage

router = APIRouter(tags=["repos"])


@router.get("/api/whoami-v2", summary="Who the token belongs to")
def whoami(state: State, caller: Caller) -> dict[str, Any]:
    if caller.anonymous and caller.repo_ids is None:  # a job's read token is someone: "job-N"
        require_write_scope(caller)
    with state.store.read() as s:
        me = profile(s, caller)
        token = access_token(s, caller)
    return {
        "type": "user",
        "id": str(caller.user_id),
        "name": caller.name,
        "isAdmin": caller.is_admin,
        **me,
        "auth": {"type": "access_token", "accessToken": token},
    }


# What a limited token may do inside its limits, in the public hub's permission names.
PERMISSIONS = {
    "read": ["repo.content.read"],
    "write": ["repo.content.read", "repo.write", "discussion.write"],
}


def access_token(s: Session, caller: Principal) -> dict[str, Any]:
    """``auth.accessToken`` of whoami, as the public hub answers it: ``role`` read, write or
    fineGrained (a limited token, whose ``fineGrained.scoped`` lists its repos and
    namespaces as entities with their permissions)."""
    info = current_token(s, caller)
    if info is None:  # a JupyterHub token
        return {"displayName": "token", "role": caller.scope}
    listed = info.to_dict()  # the times as the token listing shows them
    out: dict[str, Any] = {
        "displayName": info.name,
        "role": caller.scope if info.limits is None else "fineGrained",
        "createdAt": listed["createdAt"],
    }
    if info.expires_at is not None:
        out["expiresAt"] = listed["expiresAt"]
    if info.limits is not None:
        scoped = []
        for lim in info.limits:
            if lim.type is None:
                account = get_account(s, lim.namespace)
                entity = {"type": account.kind if account is not None else "user", "name": lim.namespace}
            else:
                entity = {"type": lim.type, "name": f"{lim.namespace}/{lim.name}"}
            scoped.append({"entity": entity, "permissions": PERMISSIONS[info.scope]})
        out["fineGrained"] = {"global": [], "scoped": scoped, "canReadGatedRepos": True}
    return out


@router.get("/api/settings/repositories", summary="The caller's repos with their storage")
@router.get(
    "/api/organizations/{namespace}/settings/repositories",
    summary="An organization's repos with their storage",
)
def repo_storage(state: State, caller: Caller, namespace: str | None = None) -> list[dict[str, Any]]:
    """``HfApi.list_user_repos`` (``hf repos ls``)."""
    with state.store.read() as s:
        rows = namespace_storage(state.store, s, caller, seg(namespace) if namespace else None)
    return [
        {
            "id": r.id,
            "type": r.type,
            "updatedAt": wire.iso(r.updated_at),
            "visibility": "private" if r.private else "public",
            "storage": r.storage,
            "storagePercent": round(r.share, 2),
        }
        for r in rows
    ]


@router.get("/api/agent-harnesses", summary="Agent registry (empty: no telemetry here)")
def agent_harnesses() -> dict[str, Any]:
    return {"standardEnvVars": [], "harnesses": {}}


@router.post("/api/repos/create", summary="Create a repository")
def create(request: Request, state: State, caller: Caller, data: JsonBody) -> dict[str, Any]:
    name = field(data, "name", str, required=True)
    org = field(data, "organization", str)
    repo_type = validate_repo_type(field(data, "type", str))
    visibility = field(data, "visibility", str)
    if visibility not in (None, "public", "private", "protected"):
        raise InvalidRequest("visibility must be 'public' or 'private'.", code="InvalidField")
    # neither: the namespace's default (an organization may make repos private by default)
    private = visibility in ("private", "protected") if visibility else field(data, "private", bool)
    if "/" in name:
        org, name = split_repo_id(name)
    namespace = org or caller.name or ""
    require_write_scope(caller, namespace)
    try:
        with state.store.write() as s:
            repo = create_repo(
                state.store,
                s,
                caller,
                repo_type,
                namespace,
                name,
                private=private,
                sdk=field(data, "sdk", str),
            )
            url = wire.repo_url(base_url(request), repo)
    except Conflict as exc:
        if exc.code == "RepoExists":  # the HF client reads `url` from the 409 body (exist_ok)
            exc.details["url"] = (
                f"{base_url(request)}/{URL_PREFIX[exc.details['repo_type']]}{exc.details['repo_id']}"
            )
        raise
    return {"url": url, "name": f"{repo.namespace}/{repo.name}", "id": f"{repo.type}-{repo.id}"}


def _key_from_body(data: dict[str, Any], caller_name: str | None) -> RepoKey:
    name = field(data, "name", str, required=True)
    org = field(data, "organization", str) or caller_name or ""
    repo_type = validate_repo_type(field(data, "type", str))
    if "/" in name:
        org, name = split_repo_id(name)
    ns, nm = split_repo_id(f"{org}/{name}")
    return RepoKey(repo_type, ns, nm)


@router.delete("/api/repos/delete", summary="Delete a repository")
def delete(request: Request, state: State, caller: Caller, data: JsonBody) -> dict[str, Any]:
    require_write_token(caller)
    key = _key_from_body(data, caller.name)
    with state.store.write() as s:
        delete_repo(state.store, s, caller, key)
    return {"deleted": key.id}


@router.post("/api/repos/move", summary="Rename or transfer a repository")
def move(request: Request, state: State, caller: Caller, data: JsonBody) -> dict[str, Any]:
    if data.get("type") == "bucket":  # huggingface_hub's move_bucket
        return buckets.move(state, caller, data)
    src_ns, src_name = split_repo_id(field(data, "fromRepo", str, required=True))
    dst_ns, dst_name = split_repo_id(field(data, "toRepo", str, required=True))
    repo_type = validate_repo_type(field(data, "type", str))
    with state.store.write() as s:
        repo = move_repo(state.store, s, caller, RepoKey(repo_type, src_ns, src_name), dst_ns, dst_name)
        url = wire.repo_url(base_url(request), repo)
    return {"url": url}


@router.put("/api/{repo_type}/{namespace}/{name}/settings", summary="Change visibility or gating")
def settings(
    repo_type: str, namespace: str, name: str, request: Request, state: State, caller: Caller, data: JsonBody
) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    visibility = field(data, "visibility", str)
    private = field(data, "private", bool)
    if visibility is not None:
        if visibility not in ("public", "private", "protected"):
            raise InvalidRequest("visibility must be 'public' or 'private'.", code="InvalidField")
        private = visibility != "public"
    gated = data.get("gated")
    approvals = field(data, "requiredApprovals", int)
    dismiss = field(data, "dismissStaleApprovals", bool)
    with state.store.write() as s:
        repo = update_settings(
            state.store,
            s,
            caller,
            key,
            private=private,
            gated=gated,
            required_approvals=approvals,
            dismiss_stale_approvals=dismiss,
        )
        return {
            "private": repo.private,
            "gated": repo.gated or False,
            "requiredApprovals": repo.required_approvals,
            "dismissStaleApprovals": repo.dismiss_stale_approvals,
        }


@router.get("/api/{repo_type}/{namespace}/{name}/auth-check", summary="May the caller read the repo?")
@router.get("/api/{repo_type}/{namespace}/{name}/auth-check/write", summary="May the caller write?")
def auth_check(
    repo_type: str, namespace: str, name: str, request: Request, state: State, caller: Caller
) -> dict[str, Any]:
    """``HfApi.auth_check``: 200 when the caller may read (write), else the error that says why."""
    key = repo_key(repo_type, namespace, name)
    # reading a gated repo's files needs an accepted request: the client raises GatedRepoError
    check = writable_repo if request.url.path.endswith("/write") else downloadable_repo
    with state.store.read() as s:
        check(state.store, s, caller, key.as_tuple())
    return {"authorized": True}


@router.get("/api/{repo_type}/{namespace}/{name}", summary="Repository info at main")
def info(
    repo_type: str,
    namespace: str,
    name: str,
    request: Request,
    state: State,
    caller: Caller,
    blobs: bool = False,
) -> dict[str, Any]:
    return repo_info_at(state.store, caller, repo_key(repo_type, namespace, name), None, blobs=blobs)


@router.get(
    "/api/{repo_type}/{namespace}/{name}/revision/{revision:path}", summary="Repository info at a revision"
)
def info_at(
    repo_type: str,
    namespace: str,
    name: str,
    revision: str,
    request: Request,
    state: State,
    caller: Caller,
    blobs: bool = False,
) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    return repo_info_at(state.store, caller, key, seg(revision), blobs=blobs)


@router.get("/api/{repo_type}", summary="List repositories (search, author, filter, sort)")
def list_endpoint(
    repo_type: str,
    request: Request,
    response: Response,
    state: State,
    caller: Caller,
    search: list[str] = Query([]),
    author: str | None = None,
    filter: list[str] = Query([]),
    sort: str | None = None,
    direction: int = -1,
    limit: int | None = Query(None, ge=1),
    full: bool = False,
    cardData: bool = False,  # noqa: N803
    cursor: Position = 0,
) -> list[dict[str, Any]]:
    singular = PLURAL_TYPES.get(repo_type)
    if singular is None:
        raise InvalidRequest(
            f"Unknown listing {repo_type!r}: use models, datasets, spaces or papers.", code="InvalidRepoType"
        )
    page = state.settings.list_page_size
    want = min(limit, page) if limit else page
    with state.store.read() as s:
        repos = list_repos(
            s,
            caller,
            repo_type=singular,
            search=search,
            author=author,
            filters=filter,
            sort=sort,
            direction=direction,
            offset=cursor,
            limit=want + 1,
        )
        more = len(repos) > want and (limit is None or limit > page)
        repos = repos[:want]
        out = []
        for repo in repos:
            item = wire.repo_info(repo, sha=None, tree=None, full=full or cardData)
            out.append(item)
    if more:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
        params.append(("cursor", str(cursor + want)))
        if limit:
            params = [(k, v) if k != "limit" else (k, str(limit - want)) for k, v in params]
        url = f"{base_url(request)}/api/{TYPE_PLURALS[singular]}?{urlencode(params)}"
        response.headers["Link"] = f'<{url}>; rel="next"'
    return out
