"""HF protocol: tree listings, paths-info and file downloads with Range (§3 #10, #11, #25, #26)."""

from __future__ import annotations

import mimetypes
import re
from collections.abc import AsyncIterator
from typing import IO, Any
from urllib.parse import parse_qs, urlencode

import anyio
from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from workbench.errors import EntryNotFound, InvalidRequest, RangeNotSatisfiable
from workbench.hub import wire
from workbench.hub.deps import Caller, Position, RawBody, State, base_url, repo_key, seg, web_key
from workbench.names import TYPE_PLURALS, validate_path
from workbench.store import xet_cas
from workbench.store.access import readable_repo
from workbench.store.commits import checkout, last_commits
from workbench.store.gating import downloadable_repo
from workbench.store.trees import TreeEntry

router = APIRouter(tags=["files"])
# Each open download holds about two chunks. The chunk size is shared out of READ_BUDGET among
# the downloads streaming at the moment: a few at once read 2 MiB at a time (fewer thread
# hops and writes), many read 512 KiB each, so that the hub's memory stays what a fixed
# 512 KiB would take (bench/README.md, transfer and load_dataset).
READ_CHUNK = 512 * 1024  # the least a download reads at a time
READ_CHUNK_MAX = 2 * 1024 * 1024
READ_BUDGET = 8 * 1024 * 1024
_streaming = 0  # downloads in _stream now (changed on the event loop only)
REDIRECT_SECONDS = 600  # how long a presigned URL of storage_redirects stays valid
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _tree(
    state: State,
    caller: Caller,
    repo_type: str,
    namespace: str,
    name: str,
    revision: str,
    path: str,
    request: Request,
    response: Response,
    recursive: bool,
    expand: bool,
    cursor: int,
) -> list[dict[str, Any]]:
    key = repo_key(repo_type, namespace, name)
    rev = seg(revision)
    path = seg(path).strip("/")
    if path:
        validate_path(path)
    store = state.store
    with store.read() as s:
        repo = readable_repo(store, s, caller, key.as_tuple())
        resolved, _commit, tree = checkout(store, s, repo, rev)
        if path and tree.get(path) is not None:
            items: list[tuple[str, TreeEntry | None]] = [(path, tree.get(path))]
        elif path and not tree.is_dir(path):
            raise EntryNotFound(f"{path!r} does not exist at revision {rev!r}.", repo_commit=resolved.oid)
        else:
            items = tree.listing(path, recursive=recursive)
        page = 50 if expand else state.settings.tree_page_size
        chunk = items[cursor : cursor + page]
        lasts = last_commits(store, s, repo, resolved.oid, [p for p, _ in chunk]) if expand else {}
        out = [wire.tree_entry(p, e, tree, lasts.get(p)) for p, e in chunk]
    if cursor + page < len(items):
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
        params.append(("cursor", str(cursor + page)))
        url = f"{base_url(request)}{request.url.path}?{urlencode(params)}"
        response.headers["Link"] = f'<{url}>; rel="next"'
    return out


@router.get("/api/{repo_type}/{namespace}/{name}/tree/{revision}", summary="List files at a revision")
def tree_root(
    repo_type: str,
    namespace: str,
    name: str,
    revision: str,
    request: Request,
    response: Response,
    state: State,
    caller: Caller,
    recursive: bool = False,
    expand: bool = False,
    cursor: Position = 0,
) -> list[dict[str, Any]]:
    return _tree(
        state, caller, repo_type, namespace, name, revision, "", request, response, recursive, expand, cursor
    )


@router.get(
    "/api/{repo_type}/{namespace}/{name}/tree/{revision}/{path:path}",
    summary="List files under a folder at a revision",
)
def tree_path(
    repo_type: str,
    namespace: str,
    name: str,
    revision: str,
    path: str,
    request: Request,
    response: Response,
    state: State,
    caller: Caller,
    recursive: bool = False,
    expand: bool = False,
    cursor: Position = 0,
) -> list[dict[str, Any]]:
    return _tree(
        state,
        caller,
        repo_type,
        namespace,
        name,
        revision,
        path,
        request,
        response,
        recursive,
        expand,
        cursor,
    )


@router.post(
    "/api/{repo_type}/{namespace}/{name}/paths-info/{revision}",
    summary="Info about given paths at a revision",
)
def paths_info(
    repo_type: str,
    namespace: str,
    name: str,
    revision: str,
    request: Request,
    state: State,
    caller: Caller,
    body: RawBody,
) -> list[dict[str, Any]]:
    key = repo_key(repo_type, namespace, name)
    if request.headers.get("content-type", "").startswith("application/json"):
        import json

        try:
            data = json.loads(body or b"{}")
        except ValueError:
            raise InvalidRequest(
                "The paths-info body is not valid JSON: send "
                '{"paths": ["a.txt", ...], "expand": false} or a form.',
                code="MalformedBody",
            ) from None
        if not isinstance(data, dict):
            raise InvalidRequest(
                'The paths-info body must be a JSON object {"paths": [...]}.', code="MalformedBody"
            )
        paths = data.get("paths", [])
        expand = bool(data.get("expand"))
    else:
        form = parse_qs(body.decode("utf-8", "replace"))
        paths = form.get("paths", [])
        expand = form.get("expand", ["false"])[0].lower() in ("1", "true")
    if isinstance(paths, str):
        paths = [paths]
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise InvalidRequest("paths must be a list of file or folder paths (strings).", code="MalformedBody")
    paths = [p.strip("/") for p in paths][:1000]
    store = state.store
    with store.read() as s:
        repo = readable_repo(store, s, caller, key.as_tuple())
        resolved, _commit, tree = checkout(store, s, repo, seg(revision))
        found = [(p, tree.get(p)) for p in paths if tree.get(p) is not None or (p and tree.is_dir(p))]
        lasts = last_commits(store, s, repo, resolved.oid, [p for p, _ in found]) if expand else {}
        return [wire.tree_entry(p, e, tree, lasts.get(p)) for p, e in found]


# -- downloads -----------------------------------------------------------------------------


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match:
        return None  # multi-range or malformed: ignore and send everything (RFC 9110)
    start_s, end_s = match.groups()
    if not start_s and not end_s:
        return None
    if not start_s:
        length = int(end_s)
        if length == 0:
            raise RangeNotSatisfiable(f"Range {header!r} selects nothing of {size} bytes.", size=size)
        return max(0, size - length), size - 1
    start = int(start_s)
    end = min(int(end_s), size - 1) if end_s else size - 1
    if start >= size or (end_s and int(end_s) < start):
        raise RangeNotSatisfiable(f"Range {header!r} is outside the file's {size} bytes.", size=size)
    return start, end


def read_chunk(streaming: int) -> int:
    """Bytes one of ``streaming`` concurrent downloads reads at a time."""
    return max(READ_CHUNK, min(READ_CHUNK_MAX, READ_BUDGET // max(1, streaming)))


async def _stream(f: IO[bytes], start: int, length: int) -> AsyncIterator[bytes]:
    """``length`` bytes of an open blob from ``start``; the caller opened it before answering,
    so that storage that does not answer is a 503, not a body cut off after a 200."""
    global _streaming
    _streaming += 1
    try:
        if start:
            await anyio.to_thread.run_sync(f.seek, start)
        left = length
        while left > 0:
            data = await anyio.to_thread.run_sync(f.read, min(read_chunk(_streaming), left))
            if not data:
                break
            left -= len(data)
            yield data
    finally:
        _streaming -= 1
        await anyio.to_thread.run_sync(f.close)


def _blob_stored(state: State, sha256: str) -> bool:
    """Whether the blob store holds these bytes whole (a Xet file may also have come by git-LFS)."""
    return state.store.blobs.exists(sha256)


async def stream_xet(state: State, file_hash: str, start: int, length: int) -> AsyncIterator[bytes]:
    """A Xet file's bytes, rebuilt from its xorbs batch by batch for clients without Xet."""
    if length <= 0:
        return
    parts = xet_cas.iter_file_bytes(state.store, file_hash, start, start + length - 1)
    done = b""  # the iterator never yields empty parts
    try:
        while part := await anyio.to_thread.run_sync(next, parts, done):
            yield part
    finally:
        await anyio.to_thread.run_sync(parts.close)


def _storage_url(state: State, entry: TreeEntry) -> str | None:
    """A presigned storage URL of an LFS file's bytes when ``storage_redirects`` is on and the
    store has them whole (a file that only came through Xet is rebuilt by the hub)."""
    if not (state.settings.storage_redirects and entry.lfs):
        return None
    if entry.xet_hash and not _blob_stored(state, entry.sha256):
        return None
    return state.store.blobs.presigned_url(entry.sha256, expires=REDIRECT_SECONDS)


def _resolve(
    request: Request,
    state: State,
    caller: Caller,
    prefix: str | None,
    namespace: str,
    name: str,
    revision: str,
    path: str,
) -> Response:
    key = web_key(prefix, namespace, name)
    rev = seg(revision)
    path = validate_path(seg(path))
    store = state.store
    with store.read() as s:
        repo = downloadable_repo(store, s, caller, key.as_tuple())
        resolved, _commit, tree = checkout(store, s, repo, rev)
        entry = tree.get(path)
        xet_hash = None
        if entry is not None and entry.lfs:
            # A file stored whole may have a Xet version too (workbench hub xet-migrate).
            xet_hash = entry.xet_hash or xet_cas.xet_version(s, entry.sha256, repo.id)
    if entry is None:
        raise EntryNotFound(f"{path} does not exist at revision {rev}.", repo_commit=resolved.oid)
    etag = f'"{entry.sha256 if entry.lfs else entry.git_oid}"'
    headers = {
        "X-Repo-Commit": resolved.oid,
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Content-Disposition": f"inline; filename*=UTF-8''{_quote(path.rsplit('/', 1)[-1])}",
    }
    if entry.lfs:
        headers["X-Linked-Etag"] = f'"{entry.sha256}"'
        headers["X-Linked-Size"] = str(entry.size)
    if xet_hash:
        # What makes a client with hf_xet download through Xet: the file's Xet hash, and where
        # to get a read token for this repo at this commit (header and Link rel, as the
        # public hub sends both).
        refresh = f"{base_url(request)}/api/{TYPE_PLURALS[key.type]}/{key.id}/xet-read-token/{resolved.oid}"
        headers["X-Xet-Hash"] = xet_hash
        headers["X-Xet-Refresh-Route"] = refresh
        headers["Link"] = f'<{refresh}>; rel="xet-auth"'
    media = mimetypes.guess_type(path)[0] or "application/octet-stream"
    if request.method == "HEAD":
        headers["Content-Length"] = str(entry.size)
        return Response(status_code=200, headers=headers, media_type=media)
    byte_range = parse_range(request.headers.get("range"), entry.size)
    if request.headers.get("if-range") and request.headers["if-range"].strip("W/") != etag:
        byte_range = None
    if byte_range is None:
        start, length, status = 0, entry.size, 200
    else:
        start, end = byte_range
        length, status = end - start + 1, 206
        headers["Content-Range"] = f"bytes {start}-{end}/{entry.size}"
    headers["Content-Length"] = str(length)
    if (
        state.downloads is not None and start == 0 and request.headers.get("x-hf-download-counter") == "1"
    ):  # not when resuming
        state.downloads.add(repo.id)  # in memory; written in batches (hub/downloads.py)
    location = _storage_url(state, entry)
    if location is not None:
        # As the public hub sends LFS files to its CDN: the client repeats its Range there.
        for name in ("Content-Length", "Content-Range"):
            headers.pop(name, None)
        return Response(status_code=302, headers={**headers, "Location": location})
    body = (
        stream_xet(state, entry.xet_hash, start, length)
        if entry.xet_hash and not _blob_stored(state, entry.sha256)
        else _stream(state.store.blobs.open(entry.sha256), start, length)
    )
    return StreamingResponse(body, status_code=status, headers=headers, media_type=media)


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


def _resolve_handler(prefix: str | None):  # type: ignore[no-untyped-def]
    def handler(
        namespace: str, name: str, revision: str, path: str, request: Request, state: State, caller: Caller
    ) -> Response:
        return _resolve(request, state, caller, prefix, namespace, name, revision, path)

    return handler


# Prefixed repo types first: `/datasets/...` must not be read as a model namespace. GET and
# HEAD are separate routes so each has its own OpenAPI operation id.
for _prefix in ("datasets", "spaces", "papers", None):
    _what = f"a {_prefix[:-1]}" if _prefix else "a model"
    _path = f"/{_prefix}/" if _prefix else "/"
    for _method in ("GET", "HEAD"):
        router.add_api_route(
            f"{_path}{{namespace}}/{{name}}/resolve/{{revision}}/{{path:path}}",
            _resolve_handler(_prefix),
            methods=[_method],
            response_class=Response,
            name=f"resolve_{_prefix or 'model'}_{_method.lower()}",
            summary=(
                f"Download a file of {_what} repo (Range supported)"
                if _method == "GET"
                else f"Metadata of a file of {_what} repo (ETag, X-Repo-Commit, size)"
            ),
        )
