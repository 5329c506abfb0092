"""The hub's ASGI application: ``create_app(settings)``.

>>> app = create_app(HubSettings(data_dir="/tmp/wb"))   # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from workbench.config import HubSettings
from workbench.errors import InvalidRequest, WorkbenchError
from workbench.hub import wire
from workbench.hub.bootstrap import ensure_admin
from workbench.hub.deps import HubState
from workbench.hub.downloads import DownloadCounter
from workbench.hub.metric_spaces import ensure_metric_spaces
from workbench.hub.routes import (
    access,
    discussions,
    evals,
    files,
    history,
    lfs,
    papers,
    refs,
    repos,
    search,
    upload,
    viewer,
)
from workbench.hub.signing import Signer
from workbench.store.paper_backfill import backfill_papers
from workbench.store.search_index import reindex_pending
from workbench.store.store import Store
from workbench.version import __version__
from workbench.viewer.jobs import JobWorkers

log = logging.getLogger(__name__)


def _keep_encoded(segment: str) -> str:
    from urllib.parse import unquote

    return unquote(segment).replace("%", "%25").replace("/", "%2F")


class RawPathMiddleware:
    """Route on the raw path: '%2F' inside a segment (revisions, tree paths) stays one segment.

    The HF clients percent-encode branch names like ``feat/x`` as ``feat%2Fx``; frameworks that
    route on the decoded path would split them (HF_PROTOCOL §2.2). Handlers decode each path
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


def _is_workbench_route(request: Request) -> bool:
    route = request.scope.get("route")
    return "workbench" in (getattr(route, "tags", None) or [])


def error_response(request: Request, exc: WorkbenchError) -> JSONResponse:
    """The one error funnel: X-Error-Code/X-Error-Message on every error, HF or Workbench shape."""
    message = exc.message.replace("\n", " ")
    headers = {"X-Error-Code": exc.code, "X-Error-Message": wire.header_value(message)}
    repo_commit = exc.details.get("repo_commit")
    if repo_commit:
        headers["X-Repo-Commit"] = str(repo_commit)
    if exc.status == 416 and isinstance(exc.details.get("size"), int):
        headers["Content-Range"] = f"bytes */{exc.details['size']}"  # RFC 9110 §15.5.17
    if _is_workbench_route(request):
        body: dict[str, Any] = {"error": exc.to_dict()}
        body["error"].pop("repo_commit", None)
    else:
        body = {
            "error": message,
            "code": exc.code,
            **{k: v for k, v in exc.details.items() if k != "repo_commit"},
        }
    return JSONResponse(body, status_code=exc.status, headers=headers)


def create_app(settings: HubSettings, *, store: Store | None = None) -> FastAPI:
    store = store or Store.open(settings)
    store.blobs.cleanup_tmp()
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
    reindex_pending(store)  # repos that predate the search index (migration 0002)
    backfill_papers(store)  # citation links and PDF text of repos that predate migration 0005
    ensure_admin(store, settings, url=settings.public_url or f"http://{settings.host}:{settings.port}")
    if settings.builtin_metrics:
        ensure_metric_spaces(store, settings.admin_user)  # evaluate.load("accuracy"), offline

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
        code = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HttpError")
        err = WorkbenchError(str(exc.detail), code=code)
        err.status = exc.status_code
        return error_response(request, err)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(
            request, WorkbenchError("Internal error; the hub log has details.", code="InternalError")
        )

    # workbench-only and paper routes before repos: /api/{repo_type} would swallow them
    for module in (
        search,
        evals,
        discussions,
        papers,
        access,
        history,
        repos,
        refs,
        upload,
        lfs,
        files,
        viewer,
    ):
        app.include_router(module.router)
    app.add_middleware(RawPathMiddleware)
    return app
