"""HubClient's use of ``hf_xet``: Xet tokens from the hub, uploads and downloads through Xet.

The chunking, deduplication and the CAS protocol are all ``hf_xet``'s; this module does what
``huggingface_hub`` does around it (``_commit_api._upload_xet_files``, ``file_download.xet_get``):
it asks the hub for a Xet token of one repo (:func:`token`), seeds ``hf_xet`` with it and lets
``hf_xet`` refresh it from the same hub route during long transfers. The hub token goes only
to that route, on the hub it belongs to (:meth:`~workbench.client.http.HubHTTP.prepare`); the
CAS, at the URL the hub names, gets the Xet token alone.

Xet is used when ``hf_xet`` (with its ``XetSession`` API) is importable and
``HF_HUB_DISABLE_XET`` is not set (:func:`enabled`), and the hub has the token route
(:func:`token` is ``None`` for an older hub: git-LFS and plain downloads then).

>>> tok = token(client, "me/tiny", "model", "write", "main")       # doctest: +SKIP
>>> upload(tok, files, on_progress=print)                           # doctest: +SKIP
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote

from workbench.client.local_files import LocalFile
from workbench.errors import (
    AuthenticationError,
    IntegrityError,
    NotFound,
    WorkbenchError,
)

if TYPE_CHECKING:
    from workbench.client.hub_client import HubClient

DISABLE_ENV = "HF_HUB_DISABLE_XET"
_TRUE = frozenset({"1", "ON", "YES", "TRUE"})  # huggingface_hub's reading of the variable

PATHS_INFO_BATCH = 1000  # paths per paths-info call (the hub reads at most that many)
_XET_HASH = re.compile(r"^[0-9a-f]{64}$")

#: ``(bytes processed, bytes sent or received)`` since the previous call.
Progress = Callable[[int, int], None]


@functools.cache
def _importable() -> bool:
    try:
        import hf_xet
    except ImportError:
        return False
    return hasattr(hf_xet, "XetSession")  # older hf_xet releases lack the session API


def enabled() -> bool:
    """Whether transfers may go through Xet: ``hf_xet`` importable, ``HF_HUB_DISABLE_XET`` unset."""
    if (os.environ.get(DISABLE_ENV) or "").strip().upper() in _TRUE:
        return False
    return _importable()


@dataclass(frozen=True)
class XetToken:
    """A Xet token of one repo, with the hub route that renews it."""

    cas_url: str
    access_token: str
    expires: int
    refresh_url: str  # absolute, on the client's hub
    refresh_headers: dict[str, str]  # the hub token, for that route only
    cas_headers: dict[str, str]  # what every CAS request carries besides the Xet token

    def session_options(self, on_progress: Progress) -> dict[str, Any]:
        """The arguments of ``hf_xet``'s upload commits and download groups: the CAS, the
        token and how to renew it, the progress callback."""
        return {
            "endpoint": self.cas_url,
            "token": self.access_token,
            "token_expiry_unix_secs": self.expires,
            "token_refresh_url": self.refresh_url,
            "token_refresh_headers": self.refresh_headers,
            "custom_headers": self.cas_headers,
            "progress_callback": _Reporter(on_progress),
        }


def token(client: HubClient, repo_id: str, repo_type: str, scope: str, revision: str) -> XetToken | None:
    """A Xet ``read`` or ``write`` token for ``repo_id`` at ``revision`` from the client's hub;
    ``None`` when the hub has no Xet token route (a hub older than Xet answers 404)."""
    path = client.api_path(repo_id, repo_type, f"xet-{scope}-token", quote(revision, safe=""))
    try:
        body = client.request("GET", path).json()
    except NotFound:
        return None
    try:
        cas_url, access, expires = str(body["casUrl"]), str(body["accessToken"]), int(body["exp"])
    except (KeyError, TypeError, ValueError):
        raise WorkbenchError(
            f"The hub's Xet {scope} token answer lacks casUrl, accessToken or exp.", code="XetTokenMalformed"
        ) from None
    refresh_url, refresh_headers = client.prepare(path, True, {"User-Agent": client.user_agent})
    return XetToken(
        cas_url.rstrip("/"),
        access,
        expires,
        refresh_url,
        refresh_headers,
        {"User-Agent": client.user_agent},
    )


def download_plan(
    client: HubClient,
    repo_id: str,
    repo_type: str,
    sha: str,
    filenames: Sequence[str],
    entries: dict[str, dict[str, Any]],
) -> tuple[XetToken, dict[str, dict[str, Any]]] | None:
    """The files of commit ``sha`` to rebuild through Xet (path to listing entry, with its
    ``xetHash``, ``size`` and ``lfs.oid``) and the read token for them; ``None`` when none is
    (Xet not :func:`enabled`, no Xet file among them, or a hub without Xet). ``entries``: the
    listing when the caller has one; else paths-info is asked, and fills it."""
    if not filenames or not enabled():
        return None
    if not entries:
        url = client.api_path(repo_id, repo_type, "paths-info", sha)
        try:
            for i in range(0, len(filenames), PATHS_INFO_BATCH):
                body = {"paths": list(filenames[i : i + PATHS_INFO_BATCH]), "expand": False}
                answer = client.request("POST", url, json=body).json()
                entries.update((e["path"], e) for e in answer if isinstance(e, dict) and "path" in e)
        except WorkbenchError as exc:
            if exc.status in (404, 405, 501):  # a server without paths-info: no Xet to use
                return None
            raise
        except (ValueError, TypeError):  # not the JSON list paths-info answers
            return None
    xet_entries = {
        name: e
        for name in dict.fromkeys(filenames)
        if (e := entries.get(name))
        and e.get("type", "file") == "file"
        and _XET_HASH.match(e.get("xetHash") or "")
    }
    if not xet_entries:
        return None
    tok = token(client, repo_id, repo_type, "read", sha)
    return None if tok is None else (tok, xet_entries)


class _Session:
    """The process's ``hf_xet.XetSession`` (its runtime and connection pool), made on first
    use and made again in a forked child or after an interrupted transfer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._session: Any = None
        self._pid = 0

    def get(self) -> Any:
        with self._lock:
            if self._session is None or self._pid != os.getpid():
                import hf_xet

                self._session, self._pid = hf_xet.XetSession(), os.getpid()
            return self._session

    def abort(self) -> None:
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            try:
                session.sigint_abort()
            except Exception:  # the session is dropped either way
                pass


_SESSION = _Session()


class _Reporter:
    """Turns ``hf_xet``'s cumulative progress reports into increments for ``on_progress``."""

    def __init__(self, on_progress: Progress) -> None:
        self._on_progress = on_progress
        self._lock = threading.Lock()
        self.processed = 0
        self.transferred = 0

    def __call__(self, group: Any, _items: Any = None) -> None:
        with self._lock:
            processed = max(0, int(group.total_bytes_completed) - self.processed)
            transferred = max(0, int(group.total_transfer_bytes_completed) - self.transferred)
            self.processed += processed
            self.transferred += transferred
        if processed or transferred:
            self._on_progress(processed, transferred)


@contextmanager
def _transfer(what: str) -> Iterator[Any]:
    """The session, for one transfer; ``hf_xet``'s errors become Workbench's, and an
    interrupt stops its threads too."""
    import hf_xet

    try:
        yield _SESSION.get()
    except KeyboardInterrupt:
        _SESSION.abort()
        raise
    except WorkbenchError:
        raise
    except hf_xet.XetAuthenticationError as exc:
        raise AuthenticationError(f"The hub's Xet storage refused the {what}: {exc}") from exc
    except hf_xet.XetObjectNotFoundError as exc:
        raise NotFound(
            f"The hub's Xet storage lacks what the {what} needs: {exc}", code="XetObjectMissing"
        ) from exc
    except Exception as exc:  # hf_xet raises RuntimeError, OSError, ValueError, ...
        raise WorkbenchError(f"The Xet {what} failed: {exc}", code="XetTransferFailed") from exc


def upload(tok: XetToken, files: Sequence[LocalFile], *, on_progress: Progress) -> int:
    """Upload ``files`` (from disk or memory) to the CAS with ``hf_xet``; fill the ``sha256``
    of those without one (``hf_xet`` computes it while chunking) and return how many were
    already on the hub in full (nothing of theirs sent)."""
    import hf_xet

    handles: list[tuple[LocalFile, Any]] = []
    with _transfer("upload") as session:
        with session.new_upload_commit(**tok.session_options(on_progress)) as commit:
            for f in files:
                sha256 = f.sha256 or hf_xet.COMPUTE_SHA256
                if isinstance(f.source, bytes):
                    handles.append((f, commit.start_upload_bytes(f.source, sha256=sha256)))
                else:
                    handles.append((f, commit.start_upload_file(str(f.source), sha256=sha256)))
        results = [(f, h.result()) for f, h in handles]
    deduplicated = 0
    for f, result in results:
        info = result.xet_info
        if int(info.file_size) != f.size:
            raise IntegrityError(
                f"{f.path} changed while it was being uploaded ({f.size} then {info.file_size} "
                "bytes); upload it again once it no longer changes."
            )
        f.sha256 = f.sha256 or str(info.sha256)
        if f.size and int(result.dedup_metrics.new_bytes) == 0:
            deduplicated += 1
    return deduplicated


class XetDownload(NamedTuple):
    """One file to rebuild: its Xet hash, size, and where to write it."""

    xet_hash: str
    size: int
    dest: Path


def download(tok: XetToken, items: Sequence[XetDownload], *, on_progress: Progress) -> None:
    """Rebuild ``items`` from the CAS with ``hf_xet``, each written to its ``dest``."""
    import hf_xet

    with _transfer("download") as session:
        with session.new_file_download_group(**tok.session_options(on_progress)) as group:
            for item in items:
                group.start_download_file(hf_xet.XetFileInfo(item.xet_hash, item.size), str(item.dest))
