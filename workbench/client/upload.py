"""Uploads for :class:`~workbench.client.HubClient`: one commit of local files.

Ask ``preupload`` which files are LFS (it needs only paths, sizes and 512-byte samples),
then hash each file with the one digest it needs: SHA-256 for LFS files (the LFS id, also
compared with the preupload ``oid``), the git blob SHA-1 for regular files the hub already
holds at that path, nothing for new regular files. Unchanged files are skipped. LFS files
go through Xet, as with ``huggingface_hub``, when :func:`xet_transfer.enabled` and the hub
gives a Xet write token: ``hf_xet`` chunks, deduplicates and uploads them, and computes the
SHA-256 of new files as it reads them (so those are not hashed here). Otherwise LFS objects
the hub lacks go through the git-LFS batch API (single PUT or multipart, streamed from
disk). Then one NDJSON commit is streamed, naming every LFS file by SHA-256 and size either
way. Memory stays bounded by a few chunks whatever the file sizes.

>>> upload.upload(client, "me/tiny", ["weights/"], repo_type="model", revision="main",
...               message=None, description="", parent_commit=None)   # doctest: +SKIP
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from workbench.client import xet_transfer
from workbench.client.http import TRANSFER_TIMEOUT
from workbench.client.local_files import LocalFile, PathsArg, collect_files
from workbench.client.progress import progress_bar
from workbench.errors import InvalidRequest, WorkbenchError, error_class_for

if TYPE_CHECKING:
    from workbench.client.hub_client import HubClient

LFS_JSON = "application/vnd.git-lfs+json"
BATCH = 256  # files per preupload call and objects per LFS batch call (the Hub's limits)
B64_CHUNK = 3 * 1024 * 1024  # a multiple of 3: base64 pieces concatenate without padding


def commit_header(summary: str, description: str, parent_commit: str | None) -> dict[str, Any]:
    """The ``header`` line of an NDJSON commit."""
    header: dict[str, Any] = {"summary": summary, "description": description}
    if parent_commit:
        header["parentCommit"] = parent_commit
    return header


def _batches(items: Sequence[Any], size: int = BATCH) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def upload(
    client: HubClient,
    repo_id: str,
    paths: PathsArg,
    *,
    repo_type: str,
    revision: str,
    message: str | None,
    description: str,
    parent_commit: str | None,
) -> dict[str, Any]:
    stats = client.last_transfer_stats = dict.fromkeys(
        (
            "files",
            "files_skipped",
            "files_uploaded",
            "bytes_uploaded",
            "lfs_deduplicated",
            "lfs_parts",
            "xet_files",
        ),
        0,
    )
    files = collect_files(paths)
    if not files:
        raise InvalidRequest(f"Nothing to upload in {paths!r}.", code="NothingToUpload")
    stats["files"] = len(files)
    for f in files:
        f.read_sample()

    todo = _changed(client, _preupload(client, repo_id, files, repo_type, revision))
    stats["files_skipped"] = len(files) - len(todo)
    rev = quote(revision, safe="")
    if not todo:
        sha = client.revision_sha(repo_id, type=repo_type, revision=revision)
        return {
            "commitOid": sha,
            "commitUrl": f"{client.repo_url(repo_id, type=repo_type)}/commit/{sha}",
            "pullRequestUrl": None,
            "noop": True,
        }

    lfs_files = [f for f in todo if f.lfs]
    inline = [f for f in todo if not f.lfs]
    xet = None
    if lfs_files and xet_transfer.enabled():
        xet = xet_transfer.token(client, repo_id, repo_type, "write", revision)
    to_send: list[tuple[LocalFile, dict[str, Any]]] = []
    if xet is None:
        # The git-LFS batch names objects by SHA-256; through Xet, hf_xet computes it.
        _hash(client, [f for f in lfs_files if not f.sha256])
        lfs = {f.sha256: f for f in lfs_files}  # one transfer per content
        plans = _lfs_batch(client, repo_id, list(lfs.values()), repo_type, revision)
        to_send = [(lfs[obj["oid"]], obj) for obj in plans if obj.get("actions", {}).get("upload")]
        stats["lfs_deduplicated"] = len(plans) - len(to_send)
        send_total = sum(f.size for f, _ in to_send) + sum(f.size for f in inline)
    else:
        send_total = sum(f.size for f in todo)
    with progress_bar(client.progress, send_total, "Uploading") as bar:

        def sent(n: int) -> None:
            stats["bytes_uploaded"] += n
            bar.update(n)

        if xet is not None:

            def xet_progress(processed: int, transferred: int) -> None:
                stats["bytes_uploaded"] += transferred
                bar.update(processed)

            stats["lfs_deduplicated"] = xet_transfer.upload(xet, lfs_files, on_progress=xet_progress)
            stats["xet_files"] = len(lfs_files)
        for f, obj in to_send:
            stats["lfs_parts"] += _send_lfs(client, f, obj, sent)
        summary = message or _default_message(todo)
        body = _commit_body(commit_header(summary, description, parent_commit), todo, sent)
        result: dict[str, Any] = client.request(
            "POST",
            client.api_path(repo_id, repo_type, "commit", rev),
            content=body,
            headers={"Content-Type": "application/x-ndjson"},
            timeout=TRANSFER_TIMEOUT,
        ).json()
    stats["files_uploaded"] = len(todo)
    return result


def _default_message(files: Sequence[LocalFile]) -> str:
    if len(files) == 1:
        return f"Upload {files[0].path}"
    return f"Upload {len(files)} files"


def _preupload(
    client: HubClient, repo_id: str, files: list[LocalFile], repo_type: str, revision: str
) -> list[tuple[LocalFile, str | None]]:
    """Mark LFS files; return the files to consider, each with the ``oid`` of the file
    already at its path (``None`` where there is none)."""
    url = client.api_path(repo_id, repo_type, "preupload", quote(revision, safe=""))
    answers: dict[str, dict[str, Any]] = {}
    for batch in _batches(files):
        body = {
            "files": [
                {"path": f.path, "size": f.size, "sample": base64.b64encode(f.sample).decode()} for f in batch
            ]
        }
        resp = client.request("POST", url, json=body, headers={"X-Workbench-Lfs": "1"})
        for item in resp.json().get("files", []):
            answers[item.get("path")] = item
    kept: list[tuple[LocalFile, str | None]] = []
    for f in files:
        answer = answers.get(f.path, {})
        if answer.get("shouldIgnore"):
            continue
        f.lfs = answer.get("uploadMode") == "lfs" and f.size > 0
        kept.append((f, answer.get("oid") or None))
    return kept


def _changed(client: HubClient, kept: list[tuple[LocalFile, str | None]]) -> list[LocalFile]:
    """The files not already at their path with the same content: a file the hub holds at
    its path is hashed with the digest its ``oid`` is (SHA-256 for LFS, git SHA-1 for regular
    files); new files are not hashed here."""
    _hash(client, [f for f, oid in kept if oid])
    return [f for f, oid in kept if not oid or oid != (f.sha256 if f.lfs else f.git_oid)]


def _hash(client: HubClient, files: list[LocalFile]) -> None:
    """Fill each file's one digest: SHA-256 for LFS files, git SHA-1 for regular ones."""
    with progress_bar(client.progress, sum(f.size for f in files), "Hashing") as bar:
        for f in files:
            f.hash(on_chunk=bar.update, sha256=f.lfs, git=not f.lfs)


def _lfs_batch(
    client: HubClient, repo_id: str, files: list[LocalFile], repo_type: str, revision: str
) -> list[dict[str, Any]]:
    url = client.web_path(repo_id, repo_type) + ".git/info/lfs/objects/batch"
    out: list[dict[str, Any]] = []
    for batch in _batches(files):
        body = {
            "operation": "upload",
            "transfers": ["basic", "multipart"],
            "objects": [{"oid": f.sha256, "size": f.size} for f in batch],
            "hash_algo": "sha256",
            "ref": {"name": revision},
        }
        resp = client.request(
            "POST",
            url,
            content=json.dumps(body).encode(),
            headers={"Content-Type": LFS_JSON, "Accept": LFS_JSON},
        )
        for obj in resp.json().get("objects", []):
            err = obj.get("error")
            if err:
                status = err.get("code") if isinstance(err.get("code"), int) else 500
                raise error_class_for(None, status)(
                    f"The hub refused LFS object {obj.get('oid')}: {err.get('message')}"
                )
            out.append(obj)
    known = {f.sha256 for f in files}
    if {o.get("oid") for o in out} != known:
        raise WorkbenchError(
            "The LFS batch answer does not list the objects asked for.", code="LfsBatchMismatch"
        )
    return out


def _send_lfs(client: HubClient, f: LocalFile, obj: dict[str, Any], sent: Callable[[int], None]) -> int:
    """PUT one object (whole, or part by part), complete and verify it; return the part count.

    docs/hf-protocol.md, "git-LFS": the PUTs and the completion carry no token (the URLs are signed).
    """
    actions = obj["actions"]
    upload_action = actions["upload"]
    header = dict(upload_action.get("header") or {})
    parts: list[dict[str, Any]] = []
    if "chunk_size" in header:
        chunk_size = int(header.pop("chunk_size"))
        count = -(-f.size // chunk_size)
        for n in range(1, count + 1):
            part_url = header.get(str(n))
            if not part_url:
                raise WorkbenchError(
                    f"The multipart plan for {f.path} lacks part {n}.", code="LfsBatchMismatch"
                )
            start = (n - 1) * chunk_size
            length = min(chunk_size, f.size - start)
            resp = client.request(
                "PUT",
                part_url,
                auth=False,
                timeout=TRANSFER_TIMEOUT,
                content=f.chunks(start, length, on_chunk=sent),
                headers={"Content-Length": str(length)},
            )
            etag = resp.headers.get("ETag")
            if not etag:
                raise WorkbenchError(
                    f"Part {n} of {f.path} was stored without an ETag.", code="LfsPartWithoutEtag"
                )
            parts.append({"partNumber": n, "etag": etag})
        client.request(
            "POST",
            upload_action["href"],
            auth=False,
            content=json.dumps({"oid": f.sha256, "parts": parts}).encode(),
            headers={"Content-Type": LFS_JSON, "Accept": LFS_JSON},
        )
    else:
        headers = {k: str(v) for k, v in header.items()}
        headers["Content-Length"] = str(f.size)
        client.request(
            "PUT",
            upload_action["href"],
            auth=False,
            timeout=TRANSFER_TIMEOUT,
            content=f.chunks(on_chunk=sent),
            headers=headers,
        )
    verify = actions.get("verify")
    if verify and verify.get("href"):
        headers = {k: str(v) for k, v in (verify.get("header") or {}).items()}
        headers.update({"Content-Type": LFS_JSON, "Accept": LFS_JSON})
        client.request(
            "POST",
            verify["href"],
            headers=headers,
            content=json.dumps({"oid": f.sha256, "size": f.size}).encode(),
        )
    return len(parts)


def _b64(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """Base64 of a stream of pieces, without holding more than one piece."""
    rest = b""
    for piece in pieces:
        data = rest + piece
        cut = len(data) - len(data) % 3
        rest = data[cut:]
        if cut:
            yield base64.b64encode(data[:cut])
    if rest:
        yield base64.b64encode(rest)


def _commit_body(
    header: dict[str, Any], files: list[LocalFile], sent: Callable[[int], None]
) -> Iterator[bytes]:
    """The NDJSON commit (docs/hf-protocol.md, "The commit body"), generated as it is sent."""
    yield json.dumps({"key": "header", "value": header}).encode() + b"\n"
    for f in files:
        if f.lfs:
            value = {"path": f.path, "algo": "sha256", "oid": f.sha256, "size": f.size}
            yield json.dumps({"key": "lfsFile", "value": value}).encode() + b"\n"
            continue
        # "content" first: the hub streams a long line's content straight to its blob store.
        yield b'{"key":"file","value":{"content":"'
        yield from _b64(f.chunks(chunk_size=B64_CHUNK, on_chunk=sent))
        yield b'","path":' + json.dumps(f.path).encode() + b',"encoding":"base64"}}\n'
