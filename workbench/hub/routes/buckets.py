"""HF protocol: storage buckets (``/api/buckets/...``) and their file downloads (``/buckets/.../resolve``).

What ``huggingface_hub``'s bucket API, ``hf buckets``, ``hf sync`` and ``hf://buckets/``
paths of HfFileSystem send (docs/hub.md, "Buckets"). File content travels through the Xet
CAS: the client uploads with the token of ``/api/buckets/{ns}/{name}/xet-write-token`` (see
:mod:`workbench.hub.routes.xet`), then names the uploaded Xet files in a batch.

>>> POST /api/buckets/alice/checkpoints  {"visibility": "private"}      # doctest: +SKIP
{"url": "http://hub/buckets/alice/checkpoints", ...}
"""

from __future__ import annotations

import json
import mimetypes
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import anyio
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from workbench.errors import Conflict, EntryNotFound, InvalidRequest, RepoNotFound
from workbench.hub import wire
from workbench.hub.deps import Caller, OptionalJsonBody, Position, State, base_url, field, read_body, seg
from workbench.hub.routes.files import parse_range, stream_xet
from workbench.store import bucket_files as files
from workbench.store import buckets
from workbench.store.access import Principal
from workbench.xet.hashing import hex_to_hash

router = APIRouter(tags=["buckets"])


def _bucket_url(request: Request, namespace: str, name: str) -> str:
    return f"{base_url(request)}/buckets/{namespace}/{name}"


def _info_out(b: buckets.BucketSummary) -> dict[str, Any]:
    return {
        "id": b.id,
        "private": b.private,
        "createdAt": wire.iso(b.created_at),
        "size": b.size,
        "totalFiles": b.total_files,
    }


def _ms_iso(ms: int) -> str | None:
    return wire.iso(datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None))


def _entry_out(e: files.FileInfo | files.FolderInfo) -> dict[str, Any]:
    if isinstance(e, files.FolderInfo):
        return {"type": "directory", "path": e.path, "uploadedAt": wire.iso(e.uploaded_at)}
    out: dict[str, Any] = {
        "type": "file",
        "path": e.path,
        "size": e.size,
        "xetHash": e.xet_hash,
        "mtime": _ms_iso(e.mtime),
        "uploadedAt": wire.iso(e.uploaded_at),
    }
    if e.content_type:
        out["contentType"] = e.content_type
    return out


def _next_link(request: Request, response: Response, cursor: int, page: int, total: int) -> None:
    if cursor + page < total:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
        params.append(("cursor", str(cursor + page)))
        url = f"{base_url(request)}{request.url.path}?{urlencode(params)}"
        response.headers["Link"] = f'<{url}>; rel="next"'


# -- buckets --------------------------------------------------------------------------------


@router.post("/api/buckets/{namespace}/{name}", summary="Create a storage bucket")
def create(
    request: Request, state: State, caller: Caller, namespace: str, name: str, data: OptionalJsonBody
) -> dict[str, Any]:
    visibility = field(data, "visibility", str)
    if visibility not in (None, "public", "private"):
        raise InvalidRequest("visibility must be 'public' or 'private'.", code="InvalidField")
    private = visibility == "private" if visibility else bool(field(data, "private", bool, default=False))
    ns = buckets.own_namespace(caller, seg(namespace))
    try:
        with state.store.write() as s:
            bucket = buckets.create_bucket(s, caller, ns, seg(name), private=private)
            out = {"url": _bucket_url(request, bucket.namespace, bucket.name), "id": f"{ns}/{bucket.name}"}
    except Conflict as exc:
        if exc.code == "RepoExists":  # the HF client reads `url` from the 409 body (exist_ok)
            exc.details["url"] = f"{base_url(request)}/buckets/{exc.details['bucket_id']}"
        raise
    return out


@router.get("/api/buckets/{namespace}/{name}", summary="A storage bucket's visibility, size and file count")
def info(state: State, caller: Caller, namespace: str, name: str) -> dict[str, Any]:
    with state.store.read() as s:
        bucket = buckets.readable_bucket(s, caller, seg(namespace), seg(name))
        return _info_out(buckets.summary(s, bucket))


@router.get("/api/buckets/{namespace}", summary="List the storage buckets of a user or organization")
def list_endpoint(
    request: Request,
    response: Response,
    state: State,
    caller: Caller,
    namespace: str,
    search: str | None = None,
    cursor: Position = 0,
) -> list[dict[str, Any]]:
    page = state.settings.list_page_size
    with state.store.read() as s:
        found = buckets.list_buckets(s, caller, seg(namespace), search=search, offset=cursor, limit=page + 1)
    _next_link(request, response, cursor, page, cursor + len(found))
    return [_info_out(b) for b in found[:page]]


@router.delete("/api/buckets/{namespace}/{name}", summary="Delete a storage bucket and its files")
def delete(state: State, caller: Caller, namespace: str, name: str) -> dict[str, Any]:
    with state.store.write() as s:
        buckets.delete_bucket(s, caller, seg(namespace), seg(name))
    return {"deleted": f"{seg(namespace)}/{seg(name)}"}


@router.delete("/api/buckets/{name}", summary="(A bucket id needs its namespace: always 404)")
def delete_without_namespace(name: str) -> None:
    raise RepoNotFound(f"Bucket {seg(name)!r} not found: a bucket id is 'namespace/name'.")


@router.put("/api/buckets/{namespace}/{name}/settings", summary="Make a storage bucket private or public")
def settings(
    state: State, caller: Caller, namespace: str, name: str, data: OptionalJsonBody
) -> dict[str, Any]:
    private = field(data, "private", bool, required=True)
    with state.store.write() as s:
        bucket = buckets.update_bucket(s, caller, seg(namespace), seg(name), private=private)
        return {"private": bucket.private}


def move(state: State, caller: Principal, data: dict[str, Any]) -> dict[str, Any]:
    """``POST /api/repos/move`` with ``type: bucket`` (routed here by the repos module)."""
    src = field(data, "fromRepo", str, required=True).split("/")
    dest = field(data, "toRepo", str, required=True).split("/")
    if len(src) != 2 or len(dest) != 2:
        raise InvalidRequest("fromRepo and toRepo are 'namespace/name' bucket ids.", code="InvalidRepoName")
    with state.store.write() as s:
        bucket = buckets.move_bucket(s, caller, (src[0], src[1]), (dest[0], dest[1]))
        return {"url": f"buckets/{bucket.namespace}/{bucket.name}"}


# -- files ----------------------------------------------------------------------------------


def _tree(
    request: Request, response: Response, state: State, caller: Principal, ns: str, name: str, prefix: str
) -> list[dict[str, Any]]:
    # As the public hub: every file below, unless ``recursive=false`` asks for one level
    # (files and folders).
    recursive = request.query_params.get("recursive", "true").lower() in ("1", "true")
    cursor = request.query_params.get("cursor", "0")
    if not cursor.isdigit():
        raise InvalidRequest("cursor must be a whole number.", code="InvalidParameter")
    start, page = int(cursor), state.settings.tree_page_size
    with state.store.read() as s:
        bucket = buckets.readable_bucket(s, caller, seg(ns), seg(name))
        entries = files.listing(s, bucket, seg(prefix).strip("/"), recursive=recursive)
    _next_link(request, response, start, page, len(entries))
    return [_entry_out(e) for e in entries[start : start + page]]


@router.get("/api/buckets/{namespace}/{name}/tree", summary="List a storage bucket's files")
def tree_root(
    request: Request, response: Response, state: State, caller: Caller, namespace: str, name: str
) -> list[dict[str, Any]]:
    return _tree(request, response, state, caller, namespace, name, "")


@router.get("/api/buckets/{namespace}/{name}/tree/{prefix:path}", summary="List the files under a folder")
def tree_prefix(
    request: Request, response: Response, state: State, caller: Caller, namespace: str, name: str, prefix: str
) -> list[dict[str, Any]]:
    return _tree(request, response, state, caller, namespace, name, prefix)


@router.post("/api/buckets/{namespace}/{name}/paths-info", summary="Info about given file paths")
def paths_info(state: State, caller: Caller, namespace: str, name: str, data: OptionalJsonBody) -> list[Any]:
    paths = data.get("paths", [])
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths) or len(paths) > 1000:
        raise InvalidRequest(
            "paths must be a list of at most 1000 file paths (strings).", code="MalformedBody"
        )
    with state.store.read() as s:
        bucket = buckets.readable_bucket(s, caller, seg(namespace), seg(name))
        return [_entry_out(e) for e in files.paths_info(s, bucket, paths)]


def _text(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidRequest(
            f"Each {item.get('type')} operation needs {key!r} (a string).", code="MalformedBody"
        )
    return value


def _xet_hash(item: dict[str, Any]) -> str:
    value = _text(item, "xetHash")
    try:
        hex_to_hash(value)
    except InvalidRequest:
        raise InvalidRequest(
            f"xetHash {value!r} is not a Xet hash (64 hex digits).", code="InvalidOid"
        ) from None
    return value


def _mtime(item: dict[str, Any]) -> int:
    value = item.get("mtime", 0)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidRequest("mtime is milliseconds since the epoch (a whole number).", code="MalformedBody")
    return value


def parse_operations(body: bytes) -> list[files.Operation]:
    """The operations of a batch body (JSON lines); 400 ``MalformedBody`` on anything else."""
    ops: list[files.Operation] = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise InvalidRequest(f"Line {number} of the batch is not JSON.", code="MalformedBody") from None
        if not isinstance(item, dict):
            raise InvalidRequest(f"Line {number} of the batch is not a JSON object.", code="MalformedBody")
        kind = item.get("type")
        if kind == "addFile":
            content_type = item.get("contentType")
            ops.append(
                files.AddFile(
                    _text(item, "path"),
                    _xet_hash(item),
                    _mtime(item),
                    content_type[:200]
                    if isinstance(content_type, str) and content_type.isprintable()
                    else None,
                )
            )
        elif kind == "copyFile":
            ops.append(
                files.CopyFile(
                    _text(item, "path"),
                    _xet_hash(item),
                    _mtime(item),
                    _text(item, "sourceRepoType"),
                    _text(item, "sourceRepoId"),
                )
            )
        elif kind == "deleteFile":
            ops.append(files.DeleteFile(_text(item, "path")))
        else:
            raise InvalidRequest(
                f"Line {number}: type must be addFile, copyFile or deleteFile, not {kind!r}.",
                code="MalformedBody",
            )
    return ops


@router.post("/api/buckets/{namespace}/{name}/batch", summary="Add, copy and delete files (JSON lines)")
async def batch(request: Request, state: State, caller: Caller, namespace: str, name: str) -> JSONResponse:
    ops = parse_operations(await read_body(request, state.settings.max_json_bytes))

    def apply() -> files.BatchResult:
        with state.store.write() as s:
            bucket = buckets.writable_bucket(s, caller, seg(namespace), seg(name))
            return files.apply_batch(state.store, s, caller, bucket, ops)

    result = await anyio.to_thread.run_sync(apply)
    # As the public hub: 200 lists the operations that failed, 422 when every one did.
    status = 422 if result.failed and not result.applied else 200
    return JSONResponse({"failed": result.failed}, status_code=status)


def _resolve(
    request: Request, state: State, caller: Principal, namespace: str, name: str, path: str
) -> Response:
    ns, nm, path = seg(namespace), seg(name), seg(path)
    with state.store.read() as s:
        bucket = buckets.readable_bucket(s, caller, ns, nm)
        entry = files.file_at(s, bucket, path)
    if entry is None:
        raise EntryNotFound(f"{path} does not exist in bucket {ns}/{nm}.")
    refresh = f"{base_url(request)}/api/buckets/{bucket.namespace}/{bucket.name}/xet-read-token"
    headers = {
        "ETag": f'"{entry.xet_hash}"',
        "Accept-Ranges": "bytes",
        "Content-Disposition": f"inline; filename*=UTF-8''{quote(path.rsplit('/', 1)[-1], safe='')}",
        "X-Linked-Size": str(entry.size),
        "X-Xet-Hash": entry.xet_hash,
        "X-Xet-Refresh-Route": refresh,
        "Link": f'<{refresh}>; rel="xet-auth"',
    }
    media = entry.content_type or mimetypes.guess_type(path)[0] or "application/octet-stream"
    if request.method == "HEAD":
        headers["Content-Length"] = str(entry.size)
        return Response(status_code=200, headers=headers, media_type=media)
    byte_range = parse_range(request.headers.get("range"), entry.size)
    start, length, status = 0, entry.size, 200
    if byte_range is not None:
        start, end = byte_range
        length, status = end - start + 1, 206
        headers["Content-Range"] = f"bytes {start}-{end}/{entry.size}"
    headers["Content-Length"] = str(length)
    body = stream_xet(state, entry.xet_hash, start, length)
    return StreamingResponse(body, status_code=status, headers=headers, media_type=media)


@router.get(
    "/buckets/{namespace}/{name}/resolve/{path:path}", summary="Download a bucket file (Range supported)"
)
def resolve(request: Request, state: State, caller: Caller, namespace: str, name: str, path: str) -> Response:
    return _resolve(request, state, caller, namespace, name, path)


@router.head("/buckets/{namespace}/{name}/resolve/{path:path}", summary="A bucket file's size and Xet hash")
def resolve_head(
    request: Request, state: State, caller: Caller, namespace: str, name: str, path: str
) -> Response:
    return _resolve(request, state, caller, namespace, name, path)
