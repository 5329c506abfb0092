"""What an operator watches: request ids, access logs (text or JSON), Prometheus metrics, and
liveness and readiness probes.

- Every response carries ``X-Request-Id``: the caller's, when it sent a sane one (a proxy's
  ``X-Request-Id``, or the ``X-Amzn-Trace-Id`` huggingface_hub sends),
  or a new one; log records written while the request runs carry it too.
- One access log line per request (logger ``workbench.access``): method, route, status,
  duration, bytes, request id and process. With ``log_format = "json"`` every log line of the
  hub is one JSON object.
- ``GET /metrics``: requests and their latencies per route template, method and status class,
  uploads in flight, the job queue's depth per kind and state, the database pool. Under
  ``--workers N`` the workers write to a shared folder and any worker answers for all of them
  (``PROMETHEUS_MULTIPROC_DIR``, set by ``workbench hub serve``).
- ``GET /health``: liveness only (the process answers). ``GET /ready``: the database and the
  blob store answer; 503 with ``Retry-After`` and the dependency's error code otherwise.

>>> app.add_middleware(RequestMiddleware)   # doctest: +SKIP
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workbench.errors import ServiceUnavailable
from workbench.hub.deps import State
from workbench.store import models as m
from workbench.store.store import Store

REQUEST_ID_HEADER = "X-Request-Id"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_ID_HEADERS = (b"x-request-id", b"x-amzn-trace-id")  # the caller's id, first found
_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
access_log = logging.getLogger("workbench.access")

# Routes that receive file bytes: an LFS PUT, a xorb or shard, a commit with inline files.
_UPLOAD_ROUTES = re.compile(r"/(lfs-upload|v1/xorbs|v1/shards|commit/|preupload/|upload)")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Not in prometheus_client's default registry: /metrics builds its own per scrape.
REQUESTS = Counter(
    "workbench_requests",
    "HTTP requests answered, by route template, method and status class (2xx, 4xx, ...).",
    ["route", "method", "status"],
    registry=None,
)
LATENCY = Histogram(
    "workbench_request_seconds",
    "Time to answer a request (to the end of its body), by route template and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=None,
)
UPLOADS = Gauge(
    "workbench_uploads_in_flight",
    "Requests carrying file bytes (LFS, Xet, commits) being received or stored now.",
    multiprocess_mode="livesum",
    registry=None,
)


def current_request_id() -> str | None:
    return _request_id.get()


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    return str(getattr(route, "path", None) or "unmatched")


class RequestMiddleware:
    """Request id, access log and request metrics for every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        # huggingface_hub sends its id as X-Amzn-Trace-Id (the public hub's load balancer's
        # header) and looks for it in the answer's X-Request-Id
        given = [headers.get(name, b"").decode("latin-1") for name in _ID_HEADERS]
        request_id = next((g for g in given if _SANE_ID.match(g)), None) or uuid.uuid4().hex
        token = _request_id.set(request_id)
        started = time.perf_counter()
        status = 500
        sent = 0
        uploading = scope["method"] in ("POST", "PUT") and bool(_UPLOAD_ROUTES.search(scope["path"]))
        if uploading:
            UPLOADS.inc()

        async def send_with_id(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {
                    **message,
                    "headers": [*message.get("headers", ()), (b"x-request-id", request_id.encode())],
                }
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_of(scope)
            REQUESTS.labels(route, scope["method"], f"{status // 100}xx").inc()
            LATENCY.labels(route, scope["method"]).observe(elapsed)
            if uploading:
                UPLOADS.dec()
            access_log.info(
                "%s %s %s %.1f ms",
                scope["method"],
                scope["path"],
                status,
                elapsed * 1000,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                    "bytes": sent,
                },
            )
            _request_id.reset(token)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, pid, and any
    ``extra`` fields of the record (the access log's method, status, duration, ...)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "pid": record.process,
        }
        out |= {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure(level: str, log_format: str) -> None:
    """The hub's log level and format (``text`` or ``json``), request ids included."""
    handler = logging.StreamHandler()
    if log_format == "json":
        formatter: logging.Formatter = JsonFormatter()
        formatter.converter = time.gmtime
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s")
    handler.setFormatter(formatter)
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_workbench", False)]:
        root.removeHandler(old)
    handler._workbench = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())


# -- metrics ------------------------------------------------------------------------------


class _StoreCollector(Collector):
    """Figures read from the store when scraped: the job queue and the database pool."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        jobs = GaugeMetricFamily(
            "workbench_jobs", "Background jobs in the queue, by kind and state.", labels=["kind", "state"]
        )
        with self.store.read() as s:
            rows = s.execute(
                select(m.Job.kind, m.Job.status, func.count()).group_by(m.Job.kind, m.Job.status)
            )
            for kind, state, n in rows:
                jobs.add_metric([kind, state], n)
        yield jobs
        pool = self.store.engine.pool
        for name, what, value in (
            ("workbench_db_pool_size", "Connections the database pool keeps.", getattr(pool, "size", None)),
            ("workbench_db_pool_checked_out", "Connections in use now.", getattr(pool, "checkedout", None)),
        ):
            if callable(value):
                yield GaugeMetricFamily(name, what + " (this process)", value=value())


router = APIRouter(tags=["operations"])


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
def metrics(state: State) -> Response:
    registry = CollectorRegistry()
    folder = os.environ.get(MULTIPROC_ENV)
    if folder:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry, path=folder)
    else:
        for metric in (REQUESTS, LATENCY, UPLOADS):
            registry.register(metric)
    registry.register(_StoreCollector(state.store))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/health", summary="Liveness: the process answers", include_in_schema=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", summary="Readiness: the database and the blob store answer", include_in_schema=False)
def ready(state: State) -> dict[str, str]:
    try:
        with state.store.read() as s:
            s.execute(text("SELECT 1"))
    except Exception as exc:  # whatever the driver raises when the server is away
        raise ServiceUnavailable(f"The database does not answer: {exc}", code="DatabaseUnavailable") from None
    try:
        state.store.blobs.fs.ls(state.store.blobs.root)
    except FileNotFoundError:
        pass  # a new store, no blob yet
    except Exception as exc:
        raise ServiceUnavailable(
            f"The blob store does not answer: {exc}", code="StorageUnavailable"
        ) from None
    return {"status": "ready"}
