"""git-LFS batch API with basic and multipart uploads (docs/hf-protocol.md, "git-LFS").

Upload URLs are signed (the client sends their PUTs without a token). Multipart parts may
land on any hub process; ``workbench.store.multipart`` keeps them where all of them see it.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from workbench.errors import InvalidRequest, NotFound
from workbench.hub.deps import Caller, JsonBody, State, base_url, field, read_body, web_key
from workbench.names import validate_sha256
from workbench.store import models as m
from workbench.store.access import writable_repo
from workbench.store.multipart import PartStaging
from workbench.store.storage import check_quota
from workbench.store.store import insert_missing, utcnow

router = APIRouter(tags=["lfs"])
LFS_JSON = "application/vnd.git-lfs+json"
URL_TTL = 24 * 3600


def _record_blob(state: State, sha256: str, size: int) -> None:
    with state.store.write() as s:
        if s.get(m.Blob, sha256) is None:
            insert_missing(s, m.Blob, sha256=sha256, size=size, git_oid=None, created_at=utcnow())


def _has_blob(state: State, sha256: str, size: int) -> bool:
    with state.store.read() as s:
        row = s.get(m.Blob, sha256)
    return row is not None and row.size == size and state.store.blobs.exists(sha256)


def _batch(
    request: Request,
    state: State,
    caller: Caller,
    prefix: str | None,
    namespace: str,
    name_git: str,
    data: dict[str, Any],
) -> JSONResponse:
    if not name_git.endswith(".git"):
        raise NotFound("Not a git-LFS endpoint.", code="NotFound")
    key = web_key(prefix, namespace, name_git[:-4])
    if field(data, "operation", str, required=True) != "upload":
        raise InvalidRequest(
            "Only the 'upload' operation is supported; download files through /resolve.",
            code="UnsupportedOperation",
        )
    transfers = field(data, "transfers", list, default=["basic"])
    objects = field(data, "objects", list, required=True)
    with state.store.read() as s:
        repo = writable_repo(state.store, s, caller, key.as_tuple())
        owner = repo.namespace
    base = base_url(request)
    chunk = state.settings.multipart_chunk_bytes
    expires = int(time.time()) + URL_TTL
    out: list[dict[str, Any]] = []
    for obj in objects:
        if not isinstance(obj, dict):
            raise InvalidRequest("Each LFS object must be {oid, size}.", code="InvalidField")
        oid = validate_sha256(field(obj, "oid", str, required=True))
        size = field(obj, "size", int, required=True)
        if size < 0:
            raise InvalidRequest("LFS object size must be >= 0.", code="InvalidField")
        if size > state.settings.max_body_bytes:
            out.append(
                {
                    "oid": oid,
                    "size": size,
                    "error": {
                        "code": 413,
                        "message": f"Object larger than the {state.settings.max_body_bytes} "
                        "bytes this hub accepts.",
                    },
                }
            )
            continue
        if _has_blob(state, oid, size):
            out.append({"oid": oid, "size": size})
            continue
        sig = state.signer.sign("lfs", oid, size, expires=expires)
        q = f"size={size}&expires={expires}&sig={sig}"
        verify = {"href": f"{base}/api/lfs/verify", "header": {}}
        if size > chunk and "multipart" in transfers:
            parts = -(-size // chunk)
            header: dict[str, Any] = {"chunk_size": str(chunk)}
            for n in range(1, parts + 1):
                header[str(n)] = f"{base}/api/lfs/part/{oid}/{n}?{q}"
            actions = {
                "upload": {"href": f"{base}/api/lfs/complete/{oid}?{q}", "header": header},
                "verify": verify,
            }
        else:
            actions = {"upload": {"href": f"{base}/api/lfs/upload/{oid}?{q}"}, "verify": verify}
        out.append({"oid": oid, "size": size, "authenticated": True, "actions": actions})
    new_bytes = sum(o["size"] for o in out if "actions" in o)
    with state.store.read() as s:  # refuse before the bytes travel (the commit checks again)
        check_quota(state.store, s, owner, new_bytes)
    transfer = "multipart" if "multipart" in transfers else "basic"
    return JSONResponse({"transfer": transfer, "objects": out, "hash_algo": "sha256"}, media_type=LFS_JSON)


for _prefix in ("datasets", "spaces", "papers"):

    def _make(prefix: str):  # type: ignore[no-untyped-def]
        def handler(
            namespace: str, name_git: str, request: Request, state: State, caller: Caller, data: JsonBody
        ) -> JSONResponse:
            return _batch(request, state, caller, prefix, namespace, name_git, data)

        handler.__name__ = f"lfs_batch_{prefix}"
        return handler

    router.add_api_route(
        f"/{_prefix}/{{namespace}}/{{name_git}}/info/lfs/objects/batch",
        _make(_prefix),
        methods=["POST"],
        response_class=JSONResponse,
        summary=f"git-LFS batch API ({_prefix[:-1]} repos)",
    )


@router.post(
    "/{namespace}/{name_git}/info/lfs/objects/batch",
    summary="git-LFS batch API (models)",
    response_class=JSONResponse,
)
def lfs_batch(
    namespace: str, name_git: str, request: Request, state: State, caller: Caller, data: JsonBody
) -> JSONResponse:
    return _batch(request, state, caller, None, namespace, name_git, data)


@router.put("/api/lfs/upload/{oid}", summary="Upload one LFS object (signed URL, no token)")
async def upload(
    oid: str,
    request: Request,
    state: State,
    size: int = Query(..., ge=0),
    expires: int = Query(...),
    sig: str = Query(...),
) -> dict[str, Any]:
    validate_sha256(oid)
    state.signer.check("lfs", oid, size, expires=expires, signature=sig)
    if not await anyio.to_thread.run_sync(state.store.blobs.exists, oid):
        await state.store.blobs.ingest_stream(request.stream(), expected_sha256=oid, expected_size=size)
    else:
        async for _ in request.stream():
            pass
    await anyio.to_thread.run_sync(_record_blob, state, oid, size)
    return {"oid": oid, "size": size}


@router.put("/api/lfs/part/{oid}/{part}", summary="Upload one part of a multipart LFS object")
async def upload_part(
    oid: str,
    part: int,
    request: Request,
    state: State,
    size: int = Query(..., ge=0),
    expires: int = Query(...),
    sig: str = Query(...),
) -> Response:
    validate_sha256(oid)
    state.signer.check("lfs", oid, size, expires=expires, signature=sig)
    staging = PartStaging(state.store.blobs, oid, size=size, chunk=state.settings.multipart_chunk_bytes)
    received = await staging.receive(part, request.stream())
    etag = f'"{oid[:16]}-{part}-{received}"'
    return Response(status_code=200, headers={"ETag": etag})


def _complete(state: State, oid: str, size: int) -> None:
    PartStaging(state.store.blobs, oid, size=size, chunk=state.settings.multipart_chunk_bytes).complete()
    _record_blob(state, oid, size)


@router.post("/api/lfs/complete/{oid}", summary="Complete a multipart LFS upload")
async def complete(
    oid: str,
    request: Request,
    state: State,
    size: int = Query(..., ge=0),
    expires: int = Query(...),
    sig: str = Query(...),
) -> JSONResponse:
    validate_sha256(oid)
    state.signer.check("lfs", oid, size, expires=expires, signature=sig)
    await read_body(request, state.settings.max_json_bytes)
    await anyio.to_thread.run_sync(_complete, state, oid, size)
    return JSONResponse({"oid": oid, "size": size}, media_type=LFS_JSON)


@router.post("/api/lfs/verify", summary="Check that an LFS object was stored")
def verify(request: Request, state: State, caller: Caller, data: JsonBody) -> JSONResponse:
    oid = validate_sha256(field(data, "oid", str, required=True))
    size = field(data, "size", int, required=True)
    if not _has_blob(state, oid, size):
        raise NotFound(
            f"LFS object {oid} ({size} bytes) is not stored; upload it again.", code="LfsObjectMissing"
        )
    return JSONResponse({"oid": oid, "size": size}, media_type=LFS_JSON)
