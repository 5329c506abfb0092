"""Xet: the hub's token endpoints and the CAS service the stock client (hf_xet) talks to.

The token endpoints answer the JSON body hf_xet reads (``casUrl``, ``accessToken``, ``exp``)
and the ``X-Xet-*`` headers huggingface_hub reads; the CAS is this same hub (``casUrl`` is
its base URL). CAS requests carry the Xet token, not the hub token. Only the v1 routes
exist: hf_xet tries ``/v2/...`` and the xorb-grant flow first and falls back on a 404.

>>> GET /api/models/me/demo/xet-write-token/main            # doctest: +SKIP
{"casUrl": "http://hub", "accessToken": "xet1....", "exp": 1765000000}
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from workbench.errors import InvalidRequest, NotFound
from workbench.hub import xet_tokens
from workbench.hub.deps import (
    Caller,
    JsonBody,
    State,
    base_url,
    bearer_token,
    field,
    read_body,
    repo_key,
    seg,
    spool_body,
)
from workbench.names import split_repo_id, validate_repo_type, validate_sha256
from workbench.store import buckets, xet_cas, xet_dedup
from workbench.store.access import readable_repo, require_write_scope, writable_repo
from workbench.store.gating import downloadable_repo
from workbench.store.repos import RepoKey
from workbench.xet.hashing import hex_to_hash
from workbench.xet.shard import MAX_SHARD_SIZE, parse_shard
from workbench.xet.xorb import MAX_XORB_BODY

router = APIRouter(tags=["xet"])

_PREFIX = "default"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_STREAM_CHUNK = 1024 * 1024


def _token_response(
    state: State, request: Request, scope: str, repo_id: int | None, *, bucket_id: int | None = None
) -> JSONResponse:
    expires = int(time.time()) + xet_tokens.TOKEN_TTL
    token = xet_tokens.issue(state.signer, scope, repo_id, expires=expires, bucket_id=bucket_id)
    cas_url = base_url(request)
    return JSONResponse(
        {"casUrl": cas_url, "accessToken": token, "exp": expires},
        headers={
            "X-Xet-Cas-Url": cas_url,
            "X-Xet-Access-Token": token,
            "X-Xet-Token-Expiration": str(expires),
        },
    )


@router.get(
    "/api/{plural}/{namespace}/{name}/xet-{scope}-token/{revision:path}",
    summary="A short-lived Xet token to read (download) or write (upload) this repo's CAS files",
)
def xet_token(
    request: Request,
    state: State,
    caller: Caller,
    plural: str,
    namespace: str,
    name: str,
    scope: str,
    revision: str,
) -> JSONResponse:
    if scope not in ("read", "write"):
        raise NotFound(f"No Xet token of kind {scope!r}: ask for xet-read-token or xet-write-token.")
    key = repo_key(plural, namespace, name)
    # A pull request may be opened by anyone who can read the repo (with a write-scoped
    # token); the stock client asks for its Xet write token with ?create_pr=1.
    create_pr = request.query_params.get("create_pr") in ("1", "true")
    check_access = (
        downloadable_repo  # a gated repo's files need an accepted access request
        if scope == "read"
        else readable_repo
        if create_pr
        else writable_repo
    )
    with state.store.read() as s:
        repo_id = check_access(state.store, s, caller, key.as_tuple()).id
    if scope == "write" and create_pr:
        require_write_scope(caller, key.as_tuple())
    return _token_response(state, request, scope, repo_id)


@router.get(
    "/api/buckets/{namespace}/{name}/xet-{scope}-token",
    summary="A short-lived Xet token to read (download) or write (upload) a storage bucket's files",
)
def bucket_xet_token(
    request: Request, state: State, caller: Caller, namespace: str, name: str, scope: str
) -> JSONResponse:
    if scope not in ("read", "write"):
        raise NotFound(f"No Xet token of kind {scope!r}: ask for xet-read-token or xet-write-token.")
    check_access = buckets.writable_bucket if scope == "write" else buckets.readable_bucket
    with state.store.read() as s:
        bucket_id = check_access(s, caller, seg(namespace), seg(name)).id
    return _token_response(state, request, scope, None, bucket_id=bucket_id)


@router.post(
    "/api/{plural}/{namespace}/{name}/lfs-files/duplicate",
    summary="Let another repo commit Xet files of this one (cross-repo copies)",
)
def duplicate(
    state: State, caller: Caller, plural: str, namespace: str, name: str, data: JsonBody
) -> dict[str, Any]:
    target = field(data, "target", dict, required=True)
    target_key = RepoKey(
        validate_repo_type(field(target, "type", str)),
        *split_repo_id(field(target, "name", str, required=True)),
    )
    pairs = []
    for item in field(data, "files", list, required=True):
        if not isinstance(item, dict):
            raise InvalidRequest("files holds objects {xetHash, sha256, filename}.", code="MalformedBody")
        xet_hash = field(item, "xetHash", str, required=True)
        hex_to_hash(xet_hash)
        pairs.append((xet_hash, validate_sha256(field(item, "sha256", str, required=True))))
    with state.store.write() as s:
        source = readable_repo(state.store, s, caller, repo_key(plural, namespace, name).as_tuple())
        dest = writable_repo(state.store, s, caller, target_key.as_tuple())
        return {"failed": xet_cas.share_with_repo(state.store, s, source, dest, pairs)}


def _grant(request: Request, state: State) -> xet_tokens.XetGrant:
    return xet_tokens.check(state.signer, bearer_token(request))


def _prefix(prefix: str) -> None:
    if prefix != _PREFIX:
        raise NotFound(f"Unknown CAS prefix {prefix!r}; only {_PREFIX!r} exists.", code="NotFound")


@router.post("/v1/xorbs/{prefix}/{xorb_hash}", summary="Upload a xorb (verified before it is kept)")
async def upload_xorb(request: Request, state: State, prefix: str, xorb_hash: str) -> JSONResponse:
    xet_tokens.require_write(_grant(request, state))
    _prefix(prefix)
    expected = hex_to_hash(xorb_hash)
    # Spooled to a file: hf_xet sends several xorbs of up to 64 MiB at once.
    path = await spool_body(request, state.store, MAX_XORB_BODY)
    try:
        if await anyio.to_thread.run_sync(xet_cas.has_xorb, state.store, xorb_hash):
            return JSONResponse({"was_inserted": False})
        inserted = await anyio.to_thread.run_sync(xet_cas.register_xorb, state.store, path, expected)
    finally:
        path.unlink(missing_ok=True)
    return JSONResponse({"was_inserted": inserted})


@router.post("/v1/shards", summary="Register the files of a shard (every xorb must be uploaded)")
async def upload_shard(request: Request, state: State) -> JSONResponse:
    grant = _grant(request, state)
    xet_tokens.require_write(grant)
    body = await read_body(request, MAX_SHARD_SIZE)

    def check_and_register() -> bool:
        return xet_cas.register_shard(
            state.store, parse_shard(body), body, repo_id=grant.repo_id, bucket_id=grant.bucket_id
        )

    created = await anyio.to_thread.run_sync(check_and_register)
    return JSONResponse({"result": 1 if created else 0})


@router.get("/v1/chunks/{prefix}/{chunk_hash}", summary="Global deduplication query")
def query_chunk(request: Request, state: State, prefix: str, chunk_hash: str) -> Response:
    # Asked while uploading, so with a write token; the answer names xorbs of any repo, but
    # only with keyed chunk hashes (see workbench.store.xet_dedup), which give nothing away.
    xet_tokens.require_write(_grant(request, state))
    _prefix(prefix)
    hex_to_hash(chunk_hash)
    now = int(time.time())
    answer = xet_dedup.dedup_answer(
        state.store, chunk_hash, key=xet_dedup.answer_key(state.signer.key, now), now=now
    )
    if answer is None:
        raise NotFound(f"chunk {chunk_hash} is not known to the global deduplication index")
    return Response(answer, media_type="application/octet-stream")


def _parse_range(header: str | None) -> tuple[int, int | None] | None:
    if header is None:
        return None
    match = _RANGE.match(header.strip())
    if match is None or not (match.group(1) or match.group(2)):
        raise InvalidRequest(f"Unsupported Range header {header!r}", code="InvalidRange")
    if not match.group(1):  # a suffix range is not something hf_xet sends
        raise InvalidRequest("Suffix ranges are not supported here", code="InvalidRange")
    return int(match.group(1)), int(match.group(2)) if match.group(2) else None


def _fetch_url(request: Request, state: State, xorb_hash: str) -> str:
    if state.settings.storage_redirects:
        # A xorb's records are one blob, byte for byte what the fetch ranges index: hf_xet
        # sends its Range straight to the storage's presigned URL and the hub serves nothing.
        blob = xet_cas.xorb_blob(state.store, xorb_hash, 0, 0)
        url = state.store.blobs.presigned_url(blob, expires=xet_tokens.URL_TTL)
        if url is not None:
            return url
    expires = int(time.time()) + xet_tokens.URL_TTL
    sig = state.signer.sign("xorb", xorb_hash, expires=expires)
    return f"{base_url(request)}/v1/xorb-data/{xorb_hash}?expires={expires}&sig={sig}"


@router.get("/v1/reconstructions/{file_id}", summary="How to rebuild a file (or a byte range)")
def reconstruction(request: Request, state: State, file_id: str) -> JSONResponse:
    grant = _grant(request, state)
    hex_to_hash(file_id)
    result = xet_cas.reconstruct(
        state.store,
        file_id,
        repo_id=grant.repo_id,
        bucket_id=grant.bucket_id,
        byte_range=_parse_range(request.headers.get("range")),
    )
    terms: list[dict[str, Any]] = []
    spans: dict[str, list[list[int]]] = {}
    xorbs = {}
    for term in result.terms:
        terms.append(
            {
                "hash": term.xorb.hash,
                "unpacked_length": term.size,
                "range": {"start": term.start, "end": term.end},
            }
        )
        xorbs[term.xorb.hash] = term.xorb
        spans.setdefault(term.xorb.hash, []).append([term.start, term.end])
    # hf_xet takes the first fetch entry that starts a term's range as the whole source of
    # that term, so overlapping chunk ranges of one xorb are merged: each term then lies
    # inside exactly one entry.
    fetch_info: dict[str, list[dict[str, Any]]] = {}
    for xorb_hash, ranges in spans.items():
        merged: list[list[int]] = []
        for start, end in sorted(ranges):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        url = _fetch_url(request, state, xorb_hash)
        entries = fetch_info[xorb_hash] = []
        for start, end in merged:
            first, last = xorbs[xorb_hash].byte_range(start, end)
            entries.append(
                {
                    "range": {"start": start, "end": end},
                    "url": url,
                    "url_range": {"start": first, "end": last},
                }
            )
    return JSONResponse(
        {
            "offset_into_first_range": result.offset_into_first_range,
            "terms": terms,
            "fetch_info": fetch_info,
        }
    )


@router.get("/v1/xorb-data/{xorb_hash}", summary="Bytes of a stored xorb (signed URL, Range)")
async def xorb_data(
    request: Request,
    state: State,
    xorb_hash: str,
    expires: int = Query(...),
    sig: str = Query(...),
) -> Response:
    state.signer.check("xorb", xorb_hash, expires=expires, signature=sig)
    first, last = _parse_range(request.headers.get("range")) or (0, None)
    if last is None:
        raise InvalidRequest("Fetch xorb bytes with a closed Range header", code="InvalidRange")
    blob = await anyio.to_thread.run_sync(xet_cas.xorb_blob, state.store, xorb_hash, first, last)
    return StreamingResponse(
        _stream_blob(state, blob, first, last - first + 1),
        status_code=206,
        media_type="application/octet-stream",
        headers={"Content-Range": f"bytes {first}-{last}/*", "Content-Length": str(last - first + 1)},
    )


async def _stream_blob(state: State, sha256: str, start: int, length: int) -> AsyncIterator[bytes]:
    # A fetch may span a whole 64 MiB xorb; it goes out a MiB at a time, never whole in memory.
    f = await anyio.to_thread.run_sync(state.store.blobs.open, sha256)
    try:
        await anyio.to_thread.run_sync(f.seek, start)
        while length > 0:
            data = await anyio.to_thread.run_sync(f.read, min(_STREAM_CHUNK, length))
            if not data:
                break
            length -= len(data)
            yield data
    finally:
        await anyio.to_thread.run_sync(f.close)


@router.post("/v1/telemetry", status_code=204, summary="Accept and drop hf_xet's transfer telemetry")
def telemetry() -> Response:
    # hf_xet posts transfer statistics after each session; the hub keeps none of them.
    return Response(status_code=204)
