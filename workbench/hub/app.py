"""The hub's ASGI application: ``create_app(settings)``, and its workers under
``workbench hub serve --workers N``.

>>> app = create_app(HubSettings(data_dir="/tmp/wb"))   # doctest: +SKIP
>>> with workers_of(settings) as factory:                # doctest: +SKIP
...     uvicorn.run(factory, factory=True, workers=4)
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workbench.config import HubSettings
from workbench.errors import InsufficientStorage, InvalidRequest, ServiceUnavailable, WorkbenchError
from workbench.hub import operations, wire
from workbench.hub.body_timeout import BodyTimeoutMiddleware
from workbench.hub.bootstrap import ensure_admin
from workbench.hub.deps import HubState
from workbench.hub.downloads import DownloadCounter
from workbench.hub.metric_spaces import ensure_metric_spaces
from workbench.hub.routes import (
    access,
    buckets,
    collections,
    discussions,
    evals,
    files,
    gating,
    history,
    lfs,
    papers,
    refs,
    repos,
    runners,
    search,
    upload,
    viewer,
    webhooks,
    xet,
)
from workbench.hub.signing import Signer
from workbench.hub.unnamespaced import missing_repo
from workbench.store.paper_backfill import backfill_papers
from workbench.store.search_index import reindex_pending
from workbench.store.store import Store
from workbench.version import __version__
from workbench.viewer.jobs import JobWorkers

log = logging.getLogger(__name__)

#: Every response names the process that answered it (to tell ``--workers`` apart).
PID_HEADER = "X-Workbench-Pid"
#: The settings (JSON) each worker of ``workbench hub serve --workers N`` builds its app from.
SETTINGS_ENV = "WORKBENCH_HUB_SETTINGS_JSON"


def _keep_encoded(segment: str) -> str:
    from urllib.parse import unquote

    return unquote(segment).replace("%", "%25").replace("/", "%2F")


class RawPathMiddleware:
    """Route on the raw path: '%2F' inside a segment (revisions, tree paths) stays one segment.

    The HF clients percent-encode branch names like ``feat/x`` as ``feat%2Fx``; frameworks that
    route on the decoded path would split them (docs/hf-protocol.md). Handlers decode each path
    parameter with ``deps.seg``. Leading '//' (an HF_ENDPOINT with a trailing slash) is folded.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("raw_path"):
            raw = scope["raw_path"].split(b"?", 1)[0].decode("latin-1")
            while raw.startswith("//"):
                raw = raw[1:]
            scope = dict(scope)
            scope["path"] = "/".join(_keep_encoded(part) for part in raw.split("/"))
        await self.app(scope, receive, send)


class PidHeaderMiddleware:
    """Add ``X-Workbench-Pid: <this process>`` to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.header = (PID_HEADER.lower().encode(), str(os.getpid()).encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_pid(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), self.header]}
            await send(message)

        await self.app(scope, receive, send_with_pid)


def _is_workbench_route(request: Request) -> bool:
    route = request.scope.get("route")
    return "workbench" in (getattr(route, "tags", None) or [])


def error_response(request: Request, exc: WorkbenchError) -> JSONResponse:
    """The one error funnel: X-Error-Code/X-Error-Message on every error, HF or Workbench shape."""
    message = exc.message.replace("\n", " ")
    workbench_route = _is_workbench_route(request)
    shown = message if workbench_route or exc.hf_message is None else exc.hf_message
    headers = {"X-Error-Code": exc.code, "X-Error-Message": wire.header_value(shown)}
    repo_commit = exc.details.get("repo_commit")
    if repo_commit:
        headers["X-Repo-Commit"] = str(repo_commit)
    if exc.status == 503:
        headers["Retry-After"] = str(getattr(exc, "retry_after", 5))
    if exc.status == 416 and isinstance(exc.details.get("size"), int):
        headers["Content-Range"] = f"bytes */{exc.details['size']}"  # RFC 9110 §15.5.17
    if workbench_route:
        body: dict[str, Any] = {"error": exc.to_dict()}
        body["error"].pop("repo_commit", None)
    else:
        body = {
            "error": shown,
            **({"message": message} if shown != message else {}),
            "code": exc.code,
            **{k: v for k, v in exc.details.items() if k != "repo_commit"},
        }
    return JSONResponse(body, status_code=exc.status, headers=headers)


def dependency_down(exc: Exception) -> ServiceUnavailable | None:
    """The 503 for an error that says the database or the blob store does not answer."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        first = str(exc.orig if isinstance(exc, DBAPIError) else exc).strip().splitlines()[:1]
        return ServiceUnavailable(
            f"The database does not answer; retry shortly ({' '.join(first)}).", code="DatabaseUnavailable"
        )
    if isinstance(exc, ConnectionError | TimeoutError) or type(exc).__name__ in _STORAGE_DOWN:
        return ServiceUnavailable(
            f"The blob store does not answer; retry shortly ({type(exc).__name__}).",
            code="StorageUnavailable",
        )
    return None


def storage_full(exc: Exception) -> InsufficientStorage | None:
    """The 507 for an error that says the hub's disk is full: a write to its temporary folder
    (where every upload is spooled first) or to its database failed for lack of space."""
    orig = getattr(exc, "orig", None)  # SQLAlchemy's wrapper around the driver's error
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
        return InsufficientStorage(
            f"The hub's temporary storage is full ({os.strerror(exc.errno or 0)}); nothing was "
            "stored. Retry later; if it lasts, ask the hub's operator to free disk space.",
            code="InsufficientStorage",
        )
    if getattr(orig, "sqlite_errorcode", None) == _SQLITE_FULL or getattr(orig, "sqlstate", None) == "53100":
        return InsufficientStorage(
            "The hub's database disk is full; nothing was stored. Retry later; if it lasts, ask "
            "the hub's operator to free disk space.",
            code="InsufficientStorage",
        )
    return None


# No space left, quota exceeded, or past the process's file size limit (RLIMIT_FSIZE).
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_SQLITE_FULL = 13


# botocore's and aiohttp's names for an endpoint that refuses or drops connections (not
# imported: the s3 extra is optional).
_STORAGE_DOWN = {"EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ClientConnectorError"}


def _dependency_errors() -> list[type[Exception]]:
    """The exception classes :func:`dependency_down` may turn into a 503 (and
    :func:`storage_full` into a 507)."""
    from sqlalchemy.exc import DBAPIError

    kinds: list[type[Exception]] = [DBAPIError, OSError, ConnectionError, TimeoutError]
    try:
        from botocore import exceptions as boto

        kinds += [boto.EndpointConnectionError, boto.ConnectTimeoutError, boto.ReadTimeoutError]
    except ImportError:  # the s3 extra is not installed
        pass
    return kinds


def configure_logging(settings: HubSettings) -> None:
    """The hub's log format and level, in the serving process and in each worker."""
    operations.configure(settings.log_level, settings.log_format)


def start_up(store: Store, settings: HubSettings) -> None:
    """The hub's once-only start-up work on an opened (so migrated) store.

    Leftover temporary files, the signing key on a first start, search and paper records of
    repos older than their tables, the admin user and the built-in metric spaces. A hub
    started later beside running ones may do it again, but N processes starting in the same
    instant would race (on a new PostgreSQL database, two migrations or two admins at once),
    so ``--workers`` does it, and the migrations, once before the workers start.
    """
    store.blobs.cleanup_tmp()
    Signer.from_settings(settings.secret_key, store.data_dir)  # writes secret.key on a first start
    reindex_pending(store)  # repos that predate the search index (migration 0002)
    backfill_papers(store)  # citation links and PDF text of repos that predate migration 0005
    ensure_admin(store, settings, url=settings.public_url or f"http://{settings.host}:{settings.port}")
    if settings.builtin_metrics:
        ensure_metric_spaces(store, settings.admin_user)  # evaluate.load("accuracy"), offline


def create_app(settings: HubSettings, *, store: Store | None = None, started: bool = False) -> FastAPI:
    """The hub's app; ``started``: :func:`start_up` ran already (in the parent of workers)."""
    store = store or Store.open(settings)
    if not started:
        start_up(store, settings)
    signer = Signer.from_settings(settings.secret_key, store.data_dir)
    downloads = DownloadCounter(store)
    workers = JobWorkers(store, settings)  # background conversions (workbench.viewer.jobs)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        workers.start()
        async with downloads.running():
            yield
        workers.stop()
        store.close()

    app = FastAPI(
        title="Workbench hub",
        version=__version__,
        lifespan=lifespan,
        description="A team hub that speaks the Hugging Face Hub protocol.",
    )
    app.state.hub = HubState(settings=settings, store=store, signer=signer, downloads=downloads)

    @app.exception_handler(WorkbenchError)
    async def _workbench_error(request: Request, exc: WorkbenchError) -> JSONResponse:
        return error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors()[:5]:
            loc = ".".join(str(x) for x in err.get("loc", ()) if x not in ("query", "path", "body"))
            parts.append(f"{loc}: {err.get('msg')}")
        return error_response(
            request, InvalidRequest("Invalid request: " + "; ".join(parts) + ".", code="InvalidParameter")
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # a bare repo name ("gpt2"), as the HF clients may ask for; 405: another route with
        # the same shape (/api/models/{namespace}/{name}) took the path
        missing = missing_repo(request.url.path) if exc.status_code in (404, 405) else None
        if missing is not None:
            return error_response(request, missing)
        code = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HttpError")
        err = WorkbenchError(str(exc.detail), code=code)
        err.status = exc.status_code
        return error_response(request, err)

    async def _dependency(request: Request, exc: Exception) -> JSONResponse:
        unavailable = storage_full(exc) or dependency_down(exc)
        if unavailable is None:
            return await _unexpected(request, exc)
        log.warning("%s %s: %s", request.method, request.url.path, unavailable.message)
        return error_response(request, unavailable)

    # Handled here rather than in the catch-all below, which Starlette re-raises to the server
    # (a traceback in the log and a 500 in the access log for what is a 503).
    for kind in _dependency_errors():
        app.add_exception_handler(kind, _dependency)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        unavailable = storage_full(exc) or dependency_down(exc)
        if unavailable is not None:
            return error_response(request, unavailable)
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(
            request, WorkbenchError("Internal error; the hub log has details.", code="InternalError")
        )

    # workbench-only and paper routes before repos: /api/{repo_type} would swallow them
    for module in (
        webhooks,
        search,
        evals,
        runners,
        discussions,
        papers,
        access,
        collections,
        gating,
        buckets,
        xet,
        history,
        repos,
        refs,
        upload,
        lfs,
        files,
        viewer,
    ):
        app.include_router(module.router)
    app.include_router(operations.router)
    # Inside RawPathMiddleware, which copies the scope: the router records the matched route
    # in the scope this middleware holds.
    app.add_middleware(operations.RequestMiddleware)
    app.add_middleware(BodyTimeoutMiddleware, seconds=settings.request_body_timeout_seconds)
    app.add_middleware(RawPathMiddleware)
    app.add_middleware(PidHeaderMiddleware)
    return app


@contextmanager
def workers_of(settings: HubSettings) -> Iterator[str]:
    """Prepare ``workbench hub serve --workers N``; yield the factory uvicorn imports per worker.

    Here, once, before any worker starts: the migrations (``Store.open``), :func:`start_up`,
    and the viewer's job process (``settings.viewer_workers`` threads for the whole serve,
    however many workers). The workers get the settings as JSON in ``WORKBENCH_HUB_SETTINGS_JSON``
    (uvicorn spawns them, so nothing else carries over), with ``viewer_workers=0`` and
    ``webhook_workers=0``, and only serve requests. The job process stops when the block
    ends, after uvicorn stopped the workers.
    """
    store = Store.open(settings)
    try:
        start_up(store, settings)
        jobs = JobWorkers(store, settings)
        jobs.start()
    finally:
        store.close()
    serving = settings.model_copy(update={"viewer_workers": 0, "webhook_workers": 0})
    os.environ[SETTINGS_ENV] = serving.model_dump_json()
    # Metrics of all workers in one folder, so that whichever answers /metrics counts them all.
    metrics_dir = Path(settings.data_dir).absolute() / "tmp" / f"metrics-{os.getpid()}"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    os.environ[operations.MULTIPROC_ENV] = str(metrics_dir)
    try:
        yield f"{__name__}:worker_app"
    finally:
        os.environ.pop(SETTINGS_ENV, None)
        os.environ.pop(operations.MULTIPROC_ENV, None)
        shutil.rmtree(metrics_dir, ignore_errors=True)
        jobs.stop()


def worker_app() -> FastAPI:
    """One worker's app under ``workbench hub serve --workers N`` (see :func:`workers_of`)."""
    settings = HubSettings.model_validate_json(os.environ[SETTINGS_ENV])
    configure_logging(settings)
    return create_app(settings, started=True)
