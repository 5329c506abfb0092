"""HF protocol: access requests to gated repos (``HfApi.*_access_request``, ``grant_access``).

The requests of a gated repo are listed and decided by its writers through the public hub's
``/api/{t}/{repo}/user-access-request/...`` endpoints; a user asks for access with
``POST /{[datasets/|spaces/|papers/]}{repo}/ask-access``, the public hub's form endpoint,
sending the answers to the card's ``extra_gated_fields`` as a form or a JSON object. Who may
download what is decided in :mod:`workbench.store.gating`.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request

from workbench.errors import InvalidRequest
from workbench.hub.deps import Caller, JsonBody, RawBody, State, field, repo_key, web_key
from workbench.store import gating

router = APIRouter(tags=["gating"])
BASE = "/api/{repo_type}/{namespace}/{name}/user-access-request"


@router.get(BASE + "/{status}", summary="A gated repo's access requests: pending, accepted or rejected")
def list_requests(
    repo_type: str, namespace: str, name: str, status: str, state: State, caller: Caller
) -> list[dict[str, Any]]:
    key = repo_key(repo_type, namespace, name)
    with state.store.read() as s:
        return [r.to_dict() for r in gating.list_requests(state.store, s, caller, key.as_tuple(), status)]


@router.get("/api/access-requests", summary="Pending access requests of every gated repo the caller decides")
def pending_requests(state: State, caller: Caller) -> list[dict[str, Any]]:
    """A Workbench extension: the requests waiting on the caller, across repos, each with its repo."""
    with state.store.read() as s:
        return [
            {**view.to_dict(), "repo": {"type": repo.type, "id": f"{repo.namespace}/{repo.name}"}}
            for repo, view in gating.pending_to_decide(s, caller)
        ]


@router.post(BASE + "/handle", summary="Accept, reject or cancel (back to pending) an access request")
def handle(
    repo_type: str, namespace: str, name: str, state: State, caller: Caller, data: JsonBody
) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    with state.store.write() as s:
        return gating.decide(
            state.store,
            s,
            caller,
            key.as_tuple(),
            status=field(data, "status", str, required=True),
            user=field(data, "user", str),
            request_id=field(data, "requestId", str),
            reason=field(data, "rejectionReason", str),
        ).to_dict()


@router.post(BASE + "/grant", summary="Give a user access to a gated repo without a request")
def grant(
    repo_type: str, namespace: str, name: str, state: State, caller: Caller, data: JsonBody
) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    user = field(data, "user", str, required=True)
    with state.store.write() as s:
        return gating.grant(state.store, s, caller, key.as_tuple(), user).to_dict()


def _answers(request: Request, body: bytes) -> dict[str, Any]:
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(body.decode("utf-8", "replace")))
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidRequest(
            "Send the access form's answers as a JSON object or a form.", code="InvalidJson"
        ) from None
    if not isinstance(data, dict):
        raise InvalidRequest("Send the access form's answers as a JSON object.", code="InvalidJson")
    return data


def _ask_handler(prefix: str | None):  # type: ignore[no-untyped-def]
    def handler(
        namespace: str, name: str, request: Request, state: State, caller: Caller, body: RawBody
    ) -> dict[str, Any]:
        key = web_key(prefix, namespace, name)
        answers = _answers(request, body)
        with state.store.write() as s:
            return gating.request_access(state.store, s, caller, key.as_tuple(), answers).to_dict()

    return handler


for _prefix in ("datasets", "spaces", "papers", None):
    router.add_api_route(
        f"/{_prefix + '/' if _prefix else ''}{{namespace}}/{{name}}/ask-access",
        _ask_handler(_prefix),
        methods=["POST"],
        name=f"ask_access_{_prefix or 'model'}",
        summary=f"Ask for access to a gated {_prefix[:-1] if _prefix else 'model'} repo (the card's form)",
    )
