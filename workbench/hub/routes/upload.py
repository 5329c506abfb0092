"""HF protocol: validate-yaml, preupload and the NDJSON commit (§3 #18-#20, §6).

Preupload decides each file's upload mode as the public hub does (``upload_mode = auto``):
``lfs`` for files the repo's ``.gitattributes`` puts in LFS, weight and data formats, binary
content and files from ``lfs_threshold_bytes`` on; ``regular`` (inline in the commit) for
the rest. A stock client then sends ``lfs`` files through Xet when ``hf_xet`` is installed,
through git-LFS otherwise; both land here as ``lfsFile`` lines. See docs/xet.md. Files the
repo's ``.gitignore`` (or the commit's) ignores are marked ``shouldIgnore``, and the client
leaves them out (``workbench.hub.gitignore``).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from workbench.errors import InvalidRequest, WorkbenchError
from workbench.hub import wire
from workbench.hub.deps import Caller, JsonBody, State, base_url, field, read_body, repo_key, seg
from workbench.hub.gitignore import GITIGNORE, ignores
from workbench.hub.ndjson import Line, parse_commit_body
from workbench.names import URL_PREFIX, validate_path, validate_sha256
from workbench.repocard import card_problems
from workbench.store import contents, pulls
from workbench.store import models as m
from workbench.store.access import require_read, require_write_scope, require_write_token
from workbench.store.blobs import BlobInfo
from workbench.store.commits import (
    AddFile,
    AddLfsObject,
    DeleteFile,
    DeleteFolder,
    Operation,
    checkout,
    create_commit,
)
from workbench.store.discussions import require_comment
from workbench.store.pr_refs import pr_number, require_push
from workbench.store.refs import resolve_revision
from workbench.store.storage import check_quota
from workbench.store.trees import Tree

router = APIRouter(tags=["upload"])

LFS_SUFFIXES = (
    ".safetensors",
    ".bin",
    ".parquet",
    ".pt",
    ".pt2",
    ".pth",
    ".ckpt",
    ".h5",
    ".onnx",
    ".arrow",
    ".npy",
    ".npz",
    ".zip",
    ".gz",
    ".tar",
    ".zst",
    ".7z",
    ".pdf",
    ".png",
    ".jpg",
    ".jpeg",
    ".wav",
    ".mp3",
    ".msgpack",
    ".tflite",
    ".pkl",
    ".joblib",
)


def wants_lfs_storage(
    path: str, size: int, threshold: int, sample: bytes = b"", patterns: Sequence[LfsPattern] = ()
) -> bool:
    """Whether a file belongs in LFS: large, a weight or data format, binary, or named so by
    the repo's ``.gitattributes`` (``patterns``, from :func:`lfs_patterns`). Empty files never:
    the public hub keeps them as regular files whatever their name."""
    if size == 0:
        return False
    if size >= threshold or path.lower().endswith(LFS_SUFFIXES) or b"\x00" in sample:
        return True
    verdict = False
    for pattern in patterns:  # the last matching line wins, as in git
        if pattern.regex.fullmatch(path) or (
            "/" not in pattern.text and pattern.regex.fullmatch(path.rsplit("/", 1)[-1])
        ):
            verdict = pattern.lfs
    return verdict


@dataclass(frozen=True)
class LfsPattern:
    text: str
    regex: re.Pattern[str]
    lfs: bool  # filter=lfs sets it; -filter, !filter or another filter unset it


def _glob_regex(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("/.*")
            i += 3
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def lfs_patterns(text: str) -> list[LfsPattern]:
    """The lines of a ``.gitattributes`` that set or unset ``filter=lfs``.

    >>> [p.text for p in lfs_patterns("*.bin filter=lfs diff=lfs\\n# x\\ndocs/*.md -filter")]
    ['*.bin', 'docs/*.md']
    """
    out = []
    for line in text.splitlines():
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        attrs = [a for a in parts[1:] if a.lstrip("-!").split("=", 1)[0] == "filter"]
        if not attrs:
            continue
        lfs = attrs[-1] == "filter=lfs"
        text_ = parts[0].lstrip("/")
        out.append(LfsPattern(text_, _glob_regex(text_), lfs))
    return out


def _repo_text(state: State, tree: Tree, path: str) -> str:
    """A small text file of the tree (``.gitattributes``, ``.gitignore``); '' when absent."""
    entry = tree.get(path)
    if entry is None or entry.lfs or entry.size > 1024 * 1024:
        return ""
    try:
        return contents.read_bytes(state.store, entry).decode("utf-8", "replace")
    except OSError:
        return ""


@router.post("/api/validate-yaml", summary="Check a card's YAML front matter")
def validate_yaml(data: JsonBody) -> JSONResponse:
    """400 with ``errors`` for a card the hub refuses; 200 with ``warnings`` (shown by the HF
    clients) for one it accepts with remarks, such as a card without metadata."""
    errors, warnings = card_problems(field(data, "content", str, default=""))
    return JSONResponse(
        {"errors": [{"message": e} for e in errors], "warnings": [{"message": w} for w in warnings]},
        status_code=400 if errors else 200,
        headers={"X-Error-Code": "InvalidYaml", "X-Error-Message": wire.header_value(errors[0], 200)}
        if errors
        else None,
    )


@router.post(
    "/api/{repo_type}/{namespace}/{name}/preupload/{revision}",
    summary="Decide how each file will be uploaded",
)
def preupload(
    repo_type: str,
    namespace: str,
    name: str,
    revision: str,
    request: Request,
    state: State,
    caller: Caller,
    data: JsonBody,
) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    files = field(data, "files", list, required=True)
    settings = state.settings
    lfs_ok = settings.upload_mode != "regular"
    store = state.store
    with store.read() as s:
        repo = store.get_repo(s, *key.as_tuple())
        if request.query_params.get("create_pr") in ("1", "true"):
            require_read(caller, repo)  # the commit opens a pull request; checked there
            require_write_scope(caller, repo)
        else:
            require_push(s, caller, repo, seg(revision))
        resolved, _commit, tree = checkout(store, s, repo, seg(revision))
        patterns = lfs_patterns(_repo_text(state, tree, ".gitattributes")) if lfs_ok else []
        sent = data.get("gitIgnore")  # the .gitignore of this commit, where it has one
        rules = sent if isinstance(sent, str) else _repo_text(state, tree, GITIGNORE)
        ignore = ignores(rules)
        out = []
        added = 0  # what the files would add to the namespace's storage, for its quota
        for item in files:
            if not isinstance(item, dict):
                raise InvalidRequest(
                    "Each file must be an object with path, size and sample.", code="InvalidField"
                )
            path = validate_path(field(item, "path", str, required=True))
            size = field(item, "size", int, default=0)
            try:
                sample = base64.b64decode(field(item, "sample", str, default=""))
            except (binascii.Error, ValueError):
                sample = b""
            mode = (
                "lfs"
                if lfs_ok
                and size > 0
                and wants_lfs_storage(path, size, settings.lfs_threshold_bytes, sample, patterns)
                else "regular"
            )
            existing = tree.get(path)
            oid = None
            if existing is not None:
                if mode == "lfs":
                    oid = existing.sha256
                elif not existing.lfs:
                    oid = existing.git_oid
                else:
                    blob = s.get(m.Blob, existing.sha256)
                    oid = blob.git_oid if blob is not None else None
            out.append({"path": path, "uploadMode": mode, "shouldIgnore": ignore(path), "oid": oid})
            added += 0 if ignore(path) else size - (existing.size if existing is not None else 0)
        # refuse before the upload rather than at the commit (which checks again, exactly)
        check_quota(store, s, repo.namespace, added)
    return {"files": out, "commitOid": resolved.oid}


@router.post(
    "/api/{repo_type}/{namespace}/{name}/commit/{revision}", summary="Create a commit from an NDJSON body"
)
async def commit(
    repo_type: str, namespace: str, name: str, revision: str, request: Request, state: State, caller: Caller
) -> dict[str, Any]:
    key = repo_key(repo_type, namespace, name)
    rev = seg(revision)
    require_write_token(caller)  # the repo's own checks follow in precheck()
    create_pr = request.query_params.get("create_pr") in ("1", "true")
    store = state.store
    settings = state.settings

    def precheck() -> None:  # fail fast, before reading a large body
        with store.read() as s:
            repo = store.get_repo(s, *key.as_tuple())
            if create_pr:
                require_read(caller, repo)
                require_comment(s, caller, repo)
            else:
                require_push(s, caller, repo, rev)
            resolve_revision(s, repo, rev)

    await anyio.to_thread.run_sync(precheck)

    header: dict[str, Any] | None = None
    ops: list[Operation] = []

    async def on_line(line: Line) -> None:
        nonlocal header
        if header is None:
            if line.key != "header":
                raise InvalidRequest(
                    'The first NDJSON line must be the header {"key": "header", "value": {"summary": ...}}.',
                    code="MalformedCommit",
                )
            header = line.value
            return
        value = line.value
        path = value.get("path")
        if not isinstance(path, str):
            raise InvalidRequest(f"Line {line.number}: missing 'path'.", code="MalformedCommit")
        validate_path(path.strip("/") if line.key == "deletedFolder" else path)
        if line.key == "file":
            blob = line.blob or await _inline_blob(state, line)
            lfs = wants_lfs_storage(path, blob.size, settings.lfs_threshold_bytes)
            if blob.git_oid is None:
                # Streamed content had no known size up front; the git id (which stock
                # clients compare against to skip unchanged files) needs a second pass.
                blob = await anyio.to_thread.run_sync(_with_git_oid, state, blob)
            ops.append(AddFile(path, blob, lfs=lfs))
        elif line.key == "lfsFile":
            if value.get("algo", "sha256") != "sha256":
                raise InvalidRequest("Only sha256 LFS objects are supported.", code="MalformedCommit")
            size = value.get("size")
            if size is not None and (not isinstance(size, int) or size < 0):
                raise InvalidRequest(f"Line {line.number}: invalid size.", code="MalformedCommit")
            ops.append(AddLfsObject(path, validate_sha256(value.get("oid", "")), size))
        elif line.key == "deletedFile":
            ops.append(DeleteFile(path))
        elif line.key == "deletedFolder":
            ops.append(DeleteFolder(path))
        else:
            raise InvalidRequest(
                f"Line {line.number}: unknown key {line.key!r} (expected file, "
                "lfsFile, deletedFile or deletedFolder).",
                code="MalformedCommit",
            )

    await parse_commit_body(request.stream(), store.blobs, limit=settings.max_body_bytes, on_line=on_line)
    if header is None:
        raise InvalidRequest("Empty commit body: send a header line and operations.", code="MalformedCommit")
    summary = str(header["summary"]) if isinstance(header.get("summary"), str) else ""
    description = str(header["description"]) if isinstance(header.get("description"), str) else ""
    parent = header.get("parentCommit")
    if parent is not None and (not isinstance(parent, str) or not parent):
        raise InvalidRequest("parentCommit must be a commit id.", code="MalformedCommit")
    pr_num = pr_number(rev)
    if create_pr:
        pr_num = await anyio.to_thread.run_sync(
            lambda: pulls.open_for_commit(
                store,
                caller,
                key.as_tuple(),
                rev,
                title=summary,
                description=description,
                max_chars=settings.max_comment_chars,
            )
        )
    target = f"refs/pr/{pr_num}" if create_pr else rev
    try:
        result = await anyio.to_thread.run_sync(
            lambda: create_commit(
                store,
                caller,
                key.as_tuple(),
                target,
                ops,
                summary=summary,
                description=description,
                parent_commit=parent,
            )
        )
    except BaseException:
        if create_pr and pr_num is not None:  # the PR was opened for this commit only
            await anyio.to_thread.run_sync(pulls.discard, store, key.as_tuple(), pr_num)
        raise
    if pr_num is not None:
        await anyio.to_thread.run_sync(pulls.note_commit, store, key.as_tuple(), pr_num)
    repo_url = f"{base_url(request)}/{URL_PREFIX[key.type]}{key.id}"
    return {
        "commitOid": result.oid,
        "commitUrl": f"{repo_url}/commit/{result.oid}",
        "pullRequestUrl": f"{repo_url}/discussions/{pr_num}" if create_pr else None,
        "success": True,
        "commitMessage": summary,
    }


async def _inline_blob(state: State, line: Line) -> BlobInfo:
    content = line.value.get("content")
    if not isinstance(content, str):
        raise InvalidRequest(f"Line {line.number}: missing base64 'content'.", code="MalformedCommit")
    try:
        data = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest(
            f"Line {line.number}: content is not valid base64.", code="MalformedCommit"
        ) from None
    return await anyio.to_thread.run_sync(lambda: state.store.blobs.ingest_bytes(data))


def _with_git_oid(state: State, blob: BlobInfo) -> BlobInfo:
    import hashlib

    h = hashlib.sha1(b"blob %d\x00" % blob.size)
    with state.store.blobs.open(blob.sha256) as f:
        while chunk := f.read(4 * 1024 * 1024):
            h.update(chunk)
    return BlobInfo(blob.sha256, blob.size, h.hexdigest())


__all__ = ["WorkbenchError", "read_body", "require_read", "router", "wire"]
