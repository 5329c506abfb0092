"""The HTTP layer of the client: one connection to a hub, typed errors, the fast paths.

:class:`HubHTTP` sends requests to one hub (a path on the hub or an absolute URL) with its
token and user agent, and turns every failure into a class of :mod:`workbench.errors`:
an error answer by its ``X-Error-Code`` (:func:`error_from_response`), a connection that
cannot be made as :class:`~workbench.errors.HubUnreachable`, one that does not answer as
:class:`~workbench.errors.HubTimeout`. :class:`~workbench.client.HubClient` builds the hub's
API on it; the uploader and the downloader use it for their transfers.

Throughput: plain-http connections read up to :data:`RECV_BYTES` per call, https transports
are built on first use, and small JSON answers and file bodies from a plain-http hub can go
through ``http.client`` directly (:meth:`HubHTTP.direct_get`).

>>> with HubHTTP("http://127.0.0.1:8765", "wb_...") as hub:        # doctest: +SKIP
...     hub.get_json("/api/whoami-v2")["name"]
'admin'
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import httpcore
import httpx

from workbench.errors import (
    HubConnectionError,
    HubTimeout,
    HubUnreachable,
    WorkbenchError,
    error_class_for,
)
from workbench.version import __version__

# Metadata calls are quick; transfers may legitimately wait minutes for a hashing server.
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
# No read timeout: a hub may take minutes to hash a large body before it answers.
TRANSFER_TIMEOUT = httpx.Timeout(60.0, connect=10.0, read=None, write=None)
RECV_BYTES = 1024 * 1024
# A 503 with Retry-After (a database restarting, storage away) is sent again this many
# times, waiting as asked but at most MAX_RETRY_WAIT seconds each time.
RETRIES_503 = 4
MAX_RETRY_WAIT = 10.0
ERROR_BODY_BYTES = 1024 * 1024  # of an error answer, read for its message
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")


class _LargeReads(httpcore.NetworkBackend):
    """httpcore's network backend, whose streams read up to :data:`RECV_BYTES` per call.

    httpcore asks its stream for 64 KiB at a time, so a large download makes one trip through
    httpcore and h11 in Python per 64 KiB, which costs more than the copy itself (figures:
    bench/README.md, "Client transport"). h11 takes whatever a read returns, and a socket's
    ``recv`` returns what has arrived, so only the number of trips changes; a TLS socket
    returns one record (16 KiB) per read whatever is asked.
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


class LazyTLS(httpx.BaseTransport):
    """The transport for https:// URLs, made on first use. Building it loads the CA bundle into
    an SSL context, a cost every process talking to a plain-http hub (the default, on
    loopback) would otherwise pay at its first ``HubClient`` without ever using it."""

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


def proxied() -> bool:
    """Whether the environment sets a proxy (httpx then builds transports of its own)."""
    return any(os.environ.get(v) or os.environ.get(v.upper()) for v in _PROXY_VARIABLES)


def http_client(agent: str) -> httpx.Client:
    """An ``httpx.Client``; without proxy settings in the environment (which httpx turns into
    transports of its own) plain http goes through a transport with no SSL context and https
    through :class:`LazyTLS`."""
    if proxied():
        return httpx.Client(timeout=DEFAULT_TIMEOUT, headers={"User-Agent": agent})
    return httpx.Client(
        timeout=DEFAULT_TIMEOUT,
        headers={"User-Agent": agent},
        transport=LazyTLS(),
        mounts={"http://": _transport(verify=False)},
    )


def retry_after(resp: httpx.Response) -> float | None:
    """Seconds to wait before sending the request again: a 503 with ``Retry-After`` (the hub
    answers so while its database or storage does not, having written nothing), else None."""
    if resp.status_code != 503:
        return None
    try:
        return min(max(float(resp.headers["Retry-After"]), 0.0), MAX_RETRY_WAIT)
    except (KeyError, ValueError):
        return None


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
            # the hub's full text, where "error" holds the public hub's shorter one
            message = body["message"] if isinstance(body.get("message"), str) else err
    if not message:
        message = resp.headers.get("X-Error-Message") or (
            f"{resp.status_code} {resp.reason_phrase} from {resp.request.method} {resp.url}"
        )
    cls = error_class_for(code, resp.status_code)
    exc = cls(message, code=code) if code else cls(message)
    if exc.status != resp.status_code:
        exc.status = resp.status_code
    return exc


class HubHTTP:
    """Requests to one hub (``url``, without a trailing slash) with ``token``; use it as a
    context manager or call :meth:`close`."""

    def __init__(self, url: str, token: str | None) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.user_agent = f"workbench/{__version__}; python/{platform.python_version()}"
        #: Read JSON answers and file bodies of a plain-http hub with ``http.client``
        #: (:meth:`direct_get`); off where a proxy is configured.
        self.direct_downloads = not proxied()
        self._http = http_client(self.user_agent)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def prepare(self, url: str, auth: bool, headers: Mapping[str, str] | None) -> tuple[str, dict[str, str]]:
        """The full URL (``url`` absolute or a path on the hub) and the headers to send, with
        the token where ``auth`` (and there is one)."""
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
        full, hdrs = self.prepare(url, auth, headers)
        # A body that can be sent again: a stream or a file is read once, so it is not retried.
        replayable = all(kwargs.get(k) is None for k in ("files", "data")) and isinstance(
            kwargs.get("content"), (bytes, str, type(None))
        )
        for attempt in range(RETRIES_503 + 1):
            try:
                resp = self._http.request(method, full, headers=hdrs, **kwargs)
            except httpx.TransportError as exc:
                raise self._transport_error(exc, url) from exc
            wait = retry_after(resp)
            if wait is None or not replayable or attempt == RETRIES_503:
                break
            resp.close()
            time.sleep(wait)
        if resp.is_error:
            raise error_from_response(resp)
        return resp

    def get_json(self, url: str) -> Any:
        """GET ``url`` (absolute or a path on the hub) and decode its JSON body, with the
        errors of :meth:`request`.

        On a plain-http hub without proxies through ``http.client`` (:meth:`direct_get`),
        which costs less client CPU per call than ``httpx``: a cached ``wb.load_dataset``
        spends it beside its read (figures: bench/README.md, "Client transport"). Anything
        else, or an encoded answer, goes through :meth:`request`.
        """
        if not (self.direct_downloads and self.prepare(url, False, None)[0].startswith("http://")):
            return self.request("GET", url).json()
        conn, resp, full = self.direct_get(url, DEFAULT_TIMEOUT)
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
        if resp.status == 503:
            return self.request("GET", url).json()  # which waits and retries
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
        full, hdrs = self.prepare(url, auth, headers)
        try:
            with self._http.stream(method, full, headers=hdrs, **kwargs) as resp:
                if resp.is_error:
                    resp.read()
                    raise error_from_response(resp)
                yield resp
        except httpx.TransportError as exc:
            raise self._transport_error(exc, url) from exc

    def paginate(
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

    def direct_get(
        self, url: str, timeout: httpx.Timeout
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse, str]:
        """``GET url`` (identity encoding, the client's token and agent) over a new
        ``http.client`` connection to a plain-http hub: the connection, the response with its
        head read, and the full URL; the caller closes both. Failing to connect or to send
        raises the client's connection error."""
        full, headers = self.prepare(
            url, True, {"Accept-Encoding": "identity", "User-Agent": self.user_agent}
        )
        parts = urlsplit(full)
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout.connect)
        stage = "connect"
        try:
            conn.connect()
            stage = "request"
            assert conn.sock is not None
            conn.sock.settimeout(timeout.read)
            conn.request("GET", urlunsplit(("", "", parts.path, parts.query, "")), headers=headers)
            return conn, conn.getresponse(), full
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise self.connection_error(
                "timeout" if stage != "connect" and isinstance(exc, TimeoutError) else stage, exc, url
            ) from exc
