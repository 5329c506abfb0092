"""Dependencies shared by the routes: the hub state, the caller, repo keys, request bodies."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import Depends, Query, Request
from sqlalchemy.exc import OperationalError

from workbench.config import HubSettings
from workbench.errors import AuthenticationError, InvalidRequest, PayloadTooLarge
from workbench.hub.downloads import DownloadCounter
from workbench.hub.jupyterhub_auth import JupyterHubAuth, is_jupyterhub_token
from workbench.hub.signing import Signer
from workbench.names import PLURAL_TYPES, split_repo_id, validate_repo_type
from workbench.store.access import Principal
from workbench.store.accounts import authenticate_use, record_use
from workbench.store.repos import RepoKey
from workbench.store.runners import is_job_token, is_runner_token, job_principal, refuse_runner_token
from workbench.store.store import Store

log = logging.getLogger(__name__)


@dataclass
class HubState:
    settings: HubSettings
    store: Store
    signer: Signer
    downloads: DownloadCounter | None = None  # counted by /resolve, written in batches
    jupyterhub: JupyterHubAuth | None = None  # built from the settings when they name a JupyterHub

    def __post_init__(self) -> None:
        if self.jupyterhub is None:
            self.jupyterhub = JupyterHubAuth.from_settings(self.settings)


async def get_state(request: Request) -> HubState:
    return request.app.state.hub  # type: ignore[no-any-return]


State = Annotated[HubState, Depends(get_state)]

# A position in a listing (cursor, offset). Bounded so that a huge number is a 400 naming the
# parameter rather than an integer the database cannot hold.
MAX_POSITION = 2**31 - 1
Position = Annotated[int, Query(ge=0, le=MAX_POSITION, description="Index of the first item.")]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


def get_principal(request: Request, state: State) -> Principal:
    token = bearer_token(request)
    if token is None and not state.settings.anonymous_read:
        raise AuthenticationError(
            "This hub requires a token for every request: pass "
            "`Authorization: Bearer <token>` (see `workbench login`).",
            code="TokenRequired",
        )
    if is_runner_token(token):
        refuse_runner_token()
    if token is not None and is_job_token(token):
        with state.store.read() as s:
            return job_principal(s, token)
    if token is not None and state.jupyterhub is not None and is_jupyterhub_token(token):
        return state.jupyterhub.principal(state.store, token)
    with state.store.read() as s:
        principal, used = authenticate_use(s, token)
    if used is not None:  # at most once per TOKEN_USE_RESOLUTION per token
        try:
            with state.store.write() as s:
                record_use(s, used)
        except OperationalError:  # a busy database: the request goes on, the next records
            log.warning("could not record the use of token %d", used, exc_info=True)
    return principal


Caller = Annotated[Principal, Depends(get_principal)]


def base_url(request: Request) -> str:
    """Public base URL for URLs the clients parse (docs/hf-protocol.md, "returned URLs")."""
    configured = request.app.state.hub.settings.public_url
    if configured:
        return configured.rstrip("/")
    return str(request.base_url).rstrip("/")


def seg(value: str) -> str:
    """Decode one path parameter (the raw-path middleware keeps '%2F' inside segments)."""
    return unquote(value)


def repo_key(plural: str, namespace: str, name: str) -> RepoKey:
    repo_type = PLURAL_TYPES.get(plural)
    if repo_type is None:
        raise InvalidRequest(
            f"Unknown repo type {plural!r}: use models, datasets, spaces or papers.", code="InvalidRepoType"
        )
    ns, nm = split_repo_id(f"{seg(namespace)}/{seg(name)}")
    return RepoKey(repo_type, ns, nm)


def web_key(prefix: str | None, namespace: str, name: str) -> RepoKey:
    repo_type = validate_repo_type(
        {"datasets": "dataset", "spaces": "space", "papers": "paper"}.get(prefix or "", "model")
    )
    ns, nm = split_repo_id(f"{seg(namespace)}/{seg(name)}")
    return RepoKey(repo_type, ns, nm)


def _refuse_declared(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(
            f"Request body of {declared} bytes exceeds the {limit} bytes allowed for this endpoint."
        )


async def read_body(request: Request, limit: int) -> bytes:
    _refuse_declared(request, limit)
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > limit:
            raise PayloadTooLarge(f"Request body exceeds the {limit} bytes allowed for this endpoint.")
    return bytes(chunks)


async def spool_body(request: Request, store: Store, limit: int) -> Path:
    """The request body in a temporary file of the blob store (the caller removes it); 413
    past ``limit`` bytes. For bodies too large to hold in memory.

    >>> path = await spool_body(request, state.store, MAX_XORB_BODY)  # doctest: +SKIP
    """
    _refuse_declared(request, limit)
    return await store.blobs.spool_stream(request.stream(), limit=limit)


async def read_json(request: Request, state: HubState, *, optional: bool = False) -> dict[str, Any]:
    body = await read_body(request, state.settings.max_json_bytes)
    if not body.strip():
        if optional:
            return {}
        raise InvalidRequest("Empty request body: send a JSON object.", code="InvalidJson")
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"Request body is not valid JSON: {exc}.", code="InvalidJson") from None
    if not isinstance(data, dict):
        raise InvalidRequest("Request body must be a JSON object.", code="InvalidJson")
    return data


def field(
    data: dict[str, Any],
    key: str,
    kind: type | tuple[type, ...],
    *,
    required: bool = False,
    default: Any = None,
) -> Any:
    value = data.get(key, default)
    if value is None:
        if required:
            raise InvalidRequest(f"Missing field {key!r}.", code="MissingField")
        return default
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InvalidRequest(f"Field {key!r} has the wrong type.", code="InvalidField")
    return value


async def _json_body(request: Request, state: State) -> dict[str, Any]:
    return await read_json(request, state)


async def _optional_json_body(request: Request, state: State) -> dict[str, Any]:
    return await read_json(request, state, optional=True)


async def _raw_body(request: Request, state: State) -> bytes:
    return await read_body(request, state.settings.max_json_bytes)


# Read in the event loop by the dependency, so the (sync) route runs in the thread pool and
# its database work never blocks the loop.
JsonBody = Annotated[dict[str, Any], Depends(_json_body)]
OptionalJsonBody = Annotated[dict[str, Any], Depends(_optional_json_body)]
RawBody = Annotated[bytes, Depends(_raw_body)]
