"""``HubClient``: repos, files, history and refs of a Workbench hub over HTTP.

Errors come back as the classes of :mod:`workbench.errors`, chosen by the hub's
``X-Error-Code`` header, so ``except RepoNotFound`` works the same on both sides.
Transfers (upload, download) live in :mod:`workbench.client.transfer`.

>>> hub = HubClient("http://127.0.0.1:8765", token="wb_...")     # doctest: +SKIP
>>> hub.create_repo("me/tiny", exist_ok=True)                      # doctest: +SKIP
'http://127.0.0.1:8765/me/tiny'
>>> hub.upload("me/tiny", ["config.json", "weights/"], message="First weights")  # doctest: +SKIP
{'commitOid': '3f2a...', 'commitUrl': 'http://127.0.0.1:8765/me/tiny/commit/3f2a...', ...}
>>> hub.download("me/tiny", local_dir="tiny")                     # doctest: +SKIP
[PosixPath('tiny/config.json'), PosixPath('tiny/weights/model.safetensors')]
"""

from __future__ import annotations

import json
import logging
import os
import platform
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpcore
import httpx

from workbench.client import transfer
from workbench.config import UserConfig
from workbench.errors import (
    Conflict,
    HubConnectionError,
    HubTimeout,
    HubUnreachable,
    InvalidRequest,
    RepoNotFound,
    WorkbenchError,
    error_class_for,
)
from workbench.version import __version__

log = logging.getLogger(__name__)

REPO_TYPES = ("model", "dataset", "space", "paper")
_PLURAL = {"model": "models", "dataset": "datasets", "space": "spaces", "paper": "papers"}
_WEB_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/", "paper": "papers/"}
# Metadata calls are quick; transfers may legitimately wait minutes for a hashing server.
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)


_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")


RECV_BYTES = 1024 * 1024


class _LargeReads(httpcore.NetworkBackend):
    """httpcore's network backend, whose streams read up to :data:`RECV_BYTES` per call.

    httpcore asks its stream for 64 KiB at a time; a 62 MB download is then ~950 trips
    through httpcore and h11 in Python, which took 0.13-0.22 s over loopback here against
    0.06-0.08 s with 1 MiB reads (``curl``: 0.06 s). h11 takes whatever a read returns, and a
    socket's ``recv`` returns what has arrived, so only the number of trips changes; a TLS
    socket returns one record (16 KiB) per read whatever is asked.
    """

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        return _LargeReadStream(
            self._inner.connect_tcp(
                host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
            )
        )

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        return _LargeReadStream(
            self._inner.connect_unix_socket(path, timeout=timeout, socket_options=socket_options)
        )

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _LargeReadStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max(max_bytes, RECV_BYTES), timeout=timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout=timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _LargeReadStream(
            self._inner.start_tls(ssl_context, server_hostname=server_hostname, timeout=timeout)
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


def _transport(**options: Any) -> httpx.HTTPTransport:
    """``httpx.HTTPTransport(**options)`` whose connections read with :class:`_LargeReads`.

    httpx builds its ``httpcore.ConnectionPool`` without a way to pass a network backend, so
    the pool's is wrapped; should a later httpx keep it elsewhere, this is a plain transport.
    """
    transport = httpx.HTTPTransport(**options)
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if type(pool) is httpcore.ConnectionPool and isinstance(backend, httpcore.NetworkBackend):
        pool._network_backend = _LargeReads(backend)
    return transport


class _LazyTLS(httpx.BaseTransport):
    """The transport for https:// URLs, made on first use. Building it loads the CA bundle into
    an SSL context (20-60 ms here), which every process talking to a plain-http hub (the
    default, on loopback) paid at its first ``HubClient`` although it never used it."""

    def __init__(self) -> None:
        self._inner: httpx.HTTPTransport | None = None
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._inner is None:
            with self._lock:
                if self._inner is None:
                    self._inner = _transport()
        return self._inner.handle_request(request)

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()


def _proxied() -> bool:
    return any(os.environ.get(v) or os.environ.get(v.upper()) for v in _PROXY_VARIABLES)


def _http_client(agent: str) -> httpx.Client:
    """An ``httpx.Client``; without proxy settings in the environment (which httpx turns into
    transports of its own) plain http goes through a transport with no SSL context and https
    through :class:`_LazyTLS`."""
    if _proxied():
        return httpx.Client(timeout=DEFAULT_TIMEOUT, headers={"User-Agent": agent})
    return httpx.Client(
        timeout=DEFAULT_TIMEOUT,
        headers={"User-Agent": agent},
        transport=_LazyTLS(),
        mounts={"http://": _transport(verify=False)},
    )


def error_from_response(resp: httpx.Response) -> WorkbenchError:
    """The typed error for a non-2xx response (``X-Error-Code`` first, then the status)."""
    code = resp.headers.get("X-Error-Code") or None
    message = None
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            message = err.get("message") if isinstance(err.get("message"), str) else None
            code = code or (err.get("code") if isinstance(err.get("code"), str) else None)
        elif isinstance(err, str):
            message = err
    if not message:
        message = resp.headers.get("X-Error-Message") or (
            f"{resp.status_code} {resp.reason_phrase} from {resp.request.method} {resp.url}"
        )
    cls = error_class_for(code, resp.status_code)
    exc = cls(message, code=code) if code else cls(message)
    if exc.status != resp.status_code:
        exc.status = resp.status_code
    return exc


class HubClient:
    """A connection to one hub; use it as a context manager or call ``close()``."""

    def __init__(self, url: str | None = None, token: str | None = None, *, progress: bool = True) -> None:
        #: A saved token goes only to the hub it was saved for (:meth:`UserConfig.resolve`).
        self.url, self.token = UserConfig.load().resolve(url, token)
        self.progress = progress
        #: What the last upload or download moved: bytes_uploaded, files_skipped, ...
        self.last_transfer_stats: dict[str, int] = {}
        self.user_agent = f"workbench/{__version__}; python/{platform.python_version()}"
        #: Download files from a plain-http hub with ``http.client`` (see
        #: ``transfer._fetch_direct``); off where a proxy is configured.
        self.direct_downloads = not _proxied()
        self._http = _http_client(self.user_agent)

    def __repr__(self) -> str:
        return f"HubClient({self.url!r})"

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    # -- HTTP ---------------------------------------------------------------------------------

    def _prepare(self, url: str, auth: bool, headers: Mapping[str, str] | None) -> tuple[str, dict[str, str]]:
        full = url if url.startswith(("http://", "https://")) else self.url + url
        out = dict(headers or {})
        if auth and self.token:
            out["Authorization"] = f"Bearer {self.token}"
        return full, out

    def _transport_error(self, exc: httpx.TransportError, url: str) -> WorkbenchError:
        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
            return self.connection_error("connect", exc, url)
        if isinstance(exc, httpx.TimeoutException):
            return self.connection_error("timeout", exc, url)
        return self.connection_error("other", exc, url)

    def connection_error(self, stage: str, exc: BaseException, url: str) -> WorkbenchError:
        """The error for a failed connection: ``stage`` is ``connect`` (the hub could not be
        reached: :class:`HubUnreachable`), ``timeout`` (it did not answer in time:
        :class:`HubTimeout`) or anything else (it broke off: :class:`HubConnectionError`)."""
        if stage == "connect":
            return HubUnreachable(
                f"Cannot reach the hub at {self.url} ({exc}). Start it with "
                "`workbench hub serve`, or point WORKBENCH_HUB_URL (or "
                "`workbench login --url`) at a running hub."
            )
        if stage == "timeout":
            return HubTimeout(f"The hub at {self.url} did not answer in time ({url}).")
        return HubConnectionError(f"The connection to the hub at {self.url} failed during {url}: {exc!r}.")

    def request(
        self,
        method: str,
        url: str,
        *,
        auth: bool = True,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one request (``url`` absolute or a path on the hub); raise typed errors."""
        full, hdrs = self._prepare(url, auth, headers)
        try:
            resp = self._http.request(method, full, headers=hdrs, **kwargs)
        except httpx.TransportError as exc:
            raise self._transport_error(exc, url) from exc
        if resp.is_error:
            raise error_from_response(resp)
        return resp

    def get_json(self, url: str) -> Any:
        """GET ``url`` (absolute or a path on the hub) and decode its JSON body, with the
        errors of :meth:`request`.

        On a plain-http hub without proxies through ``http.client``, a connection of its own:
        for a repo info that is ~0.7 ms less client CPU than ``httpx``, which a cached
        ``wb.load_dataset`` spends beside its read (fresh processes, medians: 21.3 -> 20.5
        ms, local ``datasets`` 20.2). Anything else, or an encoded answer, goes through
        :meth:`request`.
        """
        import http.client

        if not (self.direct_downloads and self._prepare(url, False, None)[0].startswith("http://")):
            return self.request("GET", url).json()
        conn, resp, full = transfer.direct_get(self, url, DEFAULT_TIMEOUT)
        try:
            body = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            raise self.connection_error(
                "timeout" if isinstance(exc, TimeoutError) else "request", exc, url
            ) from exc
        finally:
            resp.close()
            conn.close()
        if resp.getheader("Content-Encoding", "identity") != "identity":
            return self.request("GET", url).json()
        if resp.status == 200:
            return json.loads(body)
        answer = httpx.Response(
            resp.status, headers=resp.getheaders(), content=body, request=httpx.Request("GET", full)
        )
        if answer.is_error:
            raise error_from_response(answer)
        return answer.json()

    @contextmanager
    def stream(
        self,
        method: str,
        url: str,
        *,
        auth: bool = True,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> Iterator[httpx.Response]:
        """Like :meth:`request`, but the body is read by the caller, piece by piece."""
        full, hdrs = self._prepare(url, auth, headers)
        try:
            with self._http.stream(method, full, headers=hdrs, **kwargs) as resp:
                if resp.is_error:
                    resp.read()
                    raise error_from_response(resp)
                yield resp
        except httpx.TransportError as exc:
            raise self._transport_error(exc, url) from exc

    def _paginate(
        self, url: str, params: Mapping[str, Any] | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """GET a list endpoint and follow its ``Link: <...>; rel="next"`` headers."""
        items: list[dict[str, Any]] = []
        next_url: str | None = url
        while next_url and (limit is None or len(items) < limit):
            resp = self.request("GET", next_url, params=params)
            items.extend(resp.json())
            params = None  # the next link carries the query
            next_url = resp.links.get("next", {}).get("url")
        return items if limit is None else items[:limit]

    # -- URL shapes ---------------------------------------------------------------------------

    @staticmethod
    def _check_type(repo_type: str) -> str:
        if repo_type not in REPO_TYPES:
            raise InvalidRequest(
                f"Invalid repo type {repo_type!r}: use one of {', '.join(REPO_TYPES)}.",
                code="InvalidRepoType",
            )
        return repo_type

    @classmethod
    def _split(cls, repo_id: str, repo_type: str) -> tuple[str, str]:
        cls._check_type(repo_type)
        parts = repo_id.split("/") if isinstance(repo_id, str) else []
        if len(parts) != 2 or not all(parts):
            raise InvalidRequest(
                f"Invalid repo id {repo_id!r}: expected 'namespace/name'.", code="InvalidRepoId"
            )
        return parts[0], parts[1]

    def api_path(self, repo_id: str, repo_type: str, *rest: str) -> str:
        """``/api/{types}/{ns}/{name}[/rest...]`` (``rest`` already encoded)."""
        ns, name = self._split(repo_id, repo_type)
        base = f"/api/{_PLURAL[repo_type]}/{quote(ns, safe='')}/{quote(name, safe='')}"
        return "/".join((base, *rest))

    def web_path(self, repo_id: str, repo_type: str, *rest: str) -> str:
        """``/{prefix}{ns}/{name}[/rest...]``: git-LFS and /resolve URLs."""
        ns, name = self._split(repo_id, repo_type)
        base = f"/{_WEB_PREFIX[repo_type]}{quote(ns, safe='')}/{quote(name, safe='')}"
        return "/".join((base, *rest))

    def repo_url(self, repo_id: str, *, type: str = "model") -> str:
        """The web URL of a repo, as the hub returns it."""
        return self.url + self.web_path(repo_id, type)

    # -- identity and repos -------------------------------------------------------------------

    def whoami(self) -> dict[str, Any]:
        """Who the token belongs to: ``{"name", "orgs", "isAdmin", ...}``."""
        result: dict[str, Any] = self.request("GET", "/api/whoami-v2").json()
        return result

    def create_repo(
        self, repo_id: str, *, type: str = "model", private: bool = False, exist_ok: bool = False
    ) -> str:
        """Create a repo and return its URL (an existing one is fine with ``exist_ok``)."""
        ns, name = self._split(repo_id, type)
        body = {
            "name": name,
            "organization": ns,
            "type": type,
            "visibility": "private" if private else "public",
        }
        try:
            url: str = self.request("POST", "/api/repos/create", json=body).json()["url"]
        except Conflict:
            if not exist_ok:
                raise
            return self.repo_url(repo_id, type=type)
        return url

    def delete_repo(self, repo_id: str, *, type: str = "model", missing_ok: bool = False) -> None:
        """Delete a repo with all its history (a missing one is fine with ``missing_ok``)."""
        ns, name = self._split(repo_id, type)
        try:
            self.request("DELETE", "/api/repos/delete", json={"name": name, "organization": ns, "type": type})
        except RepoNotFound:
            if not missing_ok:
                raise

    def repo_info(
        self, repo_id: str, *, type: str = "model", revision: str | None = None, files_metadata: bool = False
    ) -> dict[str, Any]:
        """Repo info at a revision (``sha`` is its commit; ``siblings`` lists the files)."""
        path = (
            self.api_path(repo_id, type)
            if revision is None
            else self.api_path(repo_id, type, "revision", quote(revision, safe=""))
        )
        if files_metadata:
            return self.request("GET", path, params={"blobs": "true"}).json()  # type: ignore[no-any-return]
        result: dict[str, Any] = self.get_json(path)
        return result

    def list_repos(
        self,
        *,
        type: str = "model",
        search: str | None = None,
        author: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Repos visible to the caller (all pages, or at most ``limit``)."""
        self._check_type(type)
        params = {
            k: v for k, v in (("search", search), ("author", author), ("limit", limit)) if v is not None
        }
        return self._paginate(f"/api/{_PLURAL[type]}", params, limit)

    # -- files and history --------------------------------------------------------------------

    def list_files(
        self, repo_id: str, *, type: str = "model", revision: str = "main"
    ) -> list[dict[str, Any]]:
        """Every file at a revision: ``{"path", "size", "oid", "lfs"?}`` (folders left out)."""
        path = self.api_path(repo_id, type, "tree", quote(revision, safe=""))
        entries = self._paginate(path, {"recursive": "true", "expand": "false"})
        return [e for e in entries if e.get("type") == "file"]

    def log(
        self, repo_id: str, *, type: str = "model", revision: str = "main", limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Commits reachable from ``revision``, newest first: ``{"id", "title", "date", ...}``."""
        path = self.api_path(repo_id, type, "commits", quote(revision, safe=""))
        params = {"limit": min(limit, 1000)} if limit else None
        return self._paginate(path, params, limit)

    def compare(self, repo_id: str, base: str, head: str, *, type: str = "model") -> dict[str, Any]:
        """Files added, removed or modified from ``base`` to ``head``."""
        path = self.api_path(repo_id, type, "compare", quote(base, safe=""), quote(head, safe=""))
        result: dict[str, Any] = self.request("GET", path).json()
        return result

    def upload(
        self,
        repo_id: str,
        paths: Sequence[str | Path] | Mapping[str, str | Path | bytes] | str | Path,
        *,
        type: str = "model",
        revision: str = "main",
        message: str | None = None,
        description: str = "",
        parent_commit: str | None = None,
    ) -> dict[str, Any]:
        """Commit local files and folders (or ``{path_in_repo: path | bytes}``) in one commit."""
        self._split(repo_id, type)
        return transfer.upload(
            self,
            repo_id,
            paths,
            repo_type=type,
            revision=revision,
            message=message,
            description=description,
            parent_commit=parent_commit,
        )

    def delete_files(
        self,
        repo_id: str,
        paths: Sequence[str],
        *,
        type: str = "model",
        revision: str = "main",
        message: str | None = None,
        parent_commit: str | None = None,
    ) -> dict[str, Any]:
        """Delete files (and folders: paths ending in ``/``) in one commit."""
        if isinstance(paths, str):
            paths = [paths]
        lines: list[dict[str, Any]] = [
            {
                "key": "header",
                "value": transfer.commit_header(
                    message or f"Delete {', '.join(paths[:3])}{' ...' if len(paths) > 3 else ''}",
                    "",
                    parent_commit,
                ),
            }
        ]
        for p in paths:
            key = "deletedFolder" if p.endswith("/") else "deletedFile"
            lines.append({"key": key, "value": {"path": p}})
        body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
        path = self.api_path(repo_id, type, "commit", quote(revision, safe=""))
        result: dict[str, Any] = self.request(
            "POST", path, content=body, headers={"Content-Type": "application/x-ndjson"}
        ).json()
        return result

    def download(
        self,
        repo_id: str,
        filenames: Sequence[str] | None = None,
        *,
        type: str = "model",
        revision: str = "main",
        local_dir: str | Path,
        defer_check: bool = False,
    ) -> list[Path]:
        """Download files (all if ``None``) of one commit into ``local_dir``; return their paths.

        Each LFS file's SHA-256 is checked as it is received, or with ``defer_check`` later,
        by ``transfer.check_deferred(path)`` (so that the caller can overlap the check with
        reading the file; until then ``transfer.unchecked(path)`` is true).
        """
        if isinstance(filenames, str):
            filenames = [filenames]
        return transfer.download(
            self,
            repo_id,
            filenames,
            repo_type=type,
            revision=revision,
            local_dir=Path(local_dir),
            defer_check=defer_check,
        )

    def download_file(
        self, repo_id: str, path: str, *, type: str = "model", revision: str = "main", local_dir: str | Path
    ) -> Path:
        """Download one file into ``local_dir`` and return its local path."""
        return self.download(repo_id, [path], type=type, revision=revision, local_dir=local_dir)[0]

    # -- refs ---------------------------------------------------------------------------------

    def create_branch(
        self, repo_id: str, branch: str, *, type: str = "model", revision: str | None = None
    ) -> dict[str, Any]:
        """Create ``branch`` at ``revision`` (default: main's head)."""
        path = self.api_path(repo_id, type, "branch", quote(branch, safe=""))
        body = {"startingPoint": revision} if revision else {}
        result: dict[str, Any] = self.request("POST", path, json=body).json()
        return result

    def create_tag(
        self,
        repo_id: str,
        tag: str,
        *,
        type: str = "model",
        revision: str = "main",
        message: str | None = None,
    ) -> dict[str, Any]:
        """Tag the commit ``revision`` points at."""
        path = self.api_path(repo_id, type, "tag", quote(revision, safe=""))
        body: dict[str, Any] = {"tag": tag}
        if message:
            body["message"] = message
        result: dict[str, Any] = self.request("POST", path, json=body).json()
        return result

    def list_refs(self, repo_id: str, *, type: str = "model") -> dict[str, Any]:
        """``{"branches": [...], "tags": [...], ...}``, items ``{name, ref, targetCommit}``."""
        result: dict[str, Any] = self.request("GET", self.api_path(repo_id, type, "refs")).json()
        return result

    def revision_sha(self, repo_id: str, *, type: str = "model", revision: str = "main") -> str:
        """The commit id a revision points at."""
        sha: str = self.repo_info(repo_id, type=type, revision=revision)["sha"]
        return sha

    # -- evaluation records (workbench.client.evals) ------------------------------------------

    def create_eval_run(self, record: dict[str, Any]) -> dict[str, Any]:
        """Store an evaluation run record; returns it with its ``id``."""
        from workbench.client import evals

        return evals.create_run(self, record)

    def eval_run(self, run_id: str) -> dict[str, Any]:
        """One evaluation run record."""
        from workbench.client import evals

        return evals.get_run(self, run_id)

    def eval_runs(self, **filters: Any) -> list[dict[str, Any]]:
        """Evaluation runs visible to the caller (``model``, ``dataset``, ``status``, ``split``)."""
        from workbench.client import evals

        return evals.list_runs(self, **filters)

    def eval_notebook(self, run_id: str) -> bytes:
        """The executed notebook of a run."""
        from workbench.client import evals

        return evals.run_notebook(self, run_id)

    def record_reproduction(
        self, run_id: str, *, status: str, differences: list[Any], run: str | None = None
    ) -> dict[str, Any]:
        """Mark a run reproduced, differs or failed (``run``: the re-run's record id)."""
        from workbench.client import evals

        return evals.record_reproduction(self, run_id, status=status, differences=differences, run=run)

    def leaderboard(self, dataset: str, *, metric: str, split: str | None = "test") -> dict[str, Any]:
        """The best run of each model on ``dataset`` for ``metric``."""
        from workbench.client import evals

        return evals.leaderboard(self, dataset, metric=metric, split=split)

    # -- discussions, anchored comments, inbox, likes (workbench.client.collab) ---------------

    def comment(self, repo_id: str, text: str, **options: Any) -> dict[str, Any]:
        """Comment (anchored with ``path``/``cell``/``commit``/``run``); see ``collab.comment``."""
        from workbench.client import collab

        return collab.comment(self, repo_id, text, **options)

    def discussions(self, repo_id: str, **options: Any) -> list[dict[str, Any]]:
        """Every discussion and pull request of a repo, newest first."""
        from workbench.client import collab

        return collab.discussions(self, repo_id, **options)

    def comments(self, repo_id: str, **options: Any) -> dict[str, Any]:
        """Anchored comments on a file (by notebook cell) or an evaluation run."""
        from workbench.client import collab

        return collab.comments(self, repo_id, **options)

    def inbox(self, *, all: bool = False) -> dict[str, Any]:
        """Your notifications (unread unless ``all``) and the unread count."""
        from workbench.client import collab

        return collab.inbox(self, all=all)

    def like(self, repo_id: str, *, type: str = "model", liked: bool = True) -> int:
        """Like (or unlike) a repo; returns its like count."""
        from workbench.client import collab

        return collab.like(self, repo_id, type=type, liked=liked)

    # -- organizations, tokens, audit log (workbench.client.teams) ----------------------------

    def org_members(self, org: str) -> list[dict[str, Any]]:
        """Members of an organization with their roles."""
        from workbench.client import teams

        return teams.org_members(self, org)

    def set_role(self, org: str, user: str, role: str) -> dict[str, Any]:
        """Add ``user`` to ``org`` with ``role`` (read, write, admin), or change it; org admins."""
        from workbench.client import teams

        return teams.set_role(self, org, user, role)

    def remove_member(self, org: str, user: str) -> None:
        from workbench.client import teams

        teams.remove_member(self, org, user)

    def tokens(self) -> list[dict[str, Any]]:
        """Your tokens (never their secrets)."""
        from workbench.client import teams

        return teams.tokens(self)

    def create_token(self, name: str, *, scope: str = "read") -> dict[str, Any]:
        """A new token for you; its secret is in ``["token"]``, shown only now."""
        from workbench.client import teams

        return teams.create_token(self, name, scope=scope)

    def revoke_token(self, token_id: int) -> None:
        from workbench.client import teams

        teams.revoke_token(self, token_id)

    def audit(self, **filters: Any) -> list[dict[str, Any]]:
        """Audit events (hub admins; org admins: their org), newest first."""
        from workbench.client import teams

        return teams.audit(self, **filters)

    def paper_bibtex(self, repo_id: str) -> str:
        """The BibTeX entry of a paper repo."""
        from workbench.client import teams

        return teams.paper_bibtex(self, repo_id)

    # -- search -------------------------------------------------------------------------------

    def search(self, query: str = "", **options: Any) -> list[dict[str, Any]]:
        """Ranked full-text search; options as :func:`workbench.client.search.search`."""
        from workbench.client.search import search

        return search(self, query, **options)
