"""Evaluation runs started from the UI: ``run_evaluation`` in a worker thread, progress kept here.

``POST /workbench/evals`` with ``{"model", "dataset", "split", "metrics", "modelRevision"?,
"datasetRevision"?}`` answers ``{"id": ...}`` at once; ``GET /workbench/evals/<id>?since=N``
answers the run's status, its progress events from the N-th on, and, when done, the record
(metrics, the hub's run id). The hub token stays in this process: the worker passes it to
the evaluation client, the browser only sees events and the record.
"""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import tornado.web

from workbench.jupyter.base import WorkbenchHandler

if TYPE_CHECKING:
    from workbench.jupyter.app import Workbench

MAX_RUNS_KEPT = 200


@dataclass
class UiRun:
    id: str
    request: dict[str, Any]
    status: str = "queued"  # queued | running | succeeded | failed
    events: list[dict[str, Any]] = field(default_factory=list)
    record: dict[str, Any] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def out(self, since: int) -> dict[str, Any]:
        with self.lock:
            return {
                "id": self.id,
                "status": self.status,
                "request": self.request,
                "events": self.events[since:],
                "next": len(self.events),
                "record": self.record,
            }


def _text(body: dict[str, Any], key: str, *, required: bool = False, default: str = "") -> str:
    value = body.get(key, default)
    if value is None:
        value = default
    if not isinstance(value, str) or (required and not value.strip()):
        raise ValueError(f"`{key}` must be a non-empty string" if required else f"`{key}` must be a string")
    return value.strip()


class EvalRuns:
    """The runs this server started (one at a time: a run is a whole kernel)."""

    def __init__(self, app: Workbench) -> None:
        self.app = app
        self.runs: dict[str, UiRun] = {}
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="workbench-eval")

    def start(self, body: dict[str, Any]) -> UiRun:
        request: dict[str, Any] = {
            "model": _text(body, "model", required=True),
            "dataset": _text(body, "dataset", required=True),
            "split": _text(body, "split", default="test") or "test",
            "modelRevision": _text(body, "modelRevision") or None,
            "datasetRevision": _text(body, "datasetRevision") or None,
        }
        metrics = body.get("metrics", ["accuracy"])
        if isinstance(metrics, str):
            metrics = [m.strip() for m in metrics.split(",") if m.strip()]
        if not (isinstance(metrics, list) and metrics and all(isinstance(m, str) for m in metrics)):
            raise ValueError('`metrics` must be a list of metric names, e.g. ["accuracy"]')
        request["metrics"] = metrics
        run = UiRun(uuid.uuid4().hex[:16], request)
        if len(self.runs) >= MAX_RUNS_KEPT:
            self.runs.pop(next(iter(self.runs)))
        self.runs[run.id] = run
        self.pool.submit(self._work, run)
        return run

    def _work(self, run: UiRun) -> None:
        from workbench.evals import EvalSpec, run_evaluation

        def progress(event: dict[str, Any]) -> None:
            with run.lock:
                run.events.append(json.loads(json.dumps(event, default=str)))

        with run.lock:
            run.status = "running"
        r = run.request
        spec = EvalSpec(
            r["model"],
            r["dataset"],
            metrics=r["metrics"],
            split=r["split"],
            model_revision=r["modelRevision"],
            dataset_revision=r["datasetRevision"],
            hub_url=self.app.configured_url,
            token=self.app.hub_token_for_runs or None,
        )
        try:
            record = run_evaluation(spec, progress=progress)
            out = {
                "id": record.id,
                "status": record.status,
                "metrics": record.metrics,
                "error": record.error,
                "model_commit": record.data.get("model_commit"),
                "dataset_commit": record.data.get("dataset_commit"),
            }
            status = "succeeded" if record.ok else "failed"
        except Exception as exc:  # a crash of the runner itself: the UI must still hear of it
            self.app.log.exception("Workbench evaluation run %s crashed", run.id)
            out = {
                "id": None,
                "status": "failed",
                "metrics": {},
                "error": {"message": f"{exc.__class__.__name__}: {exc}"},
            }
            status = "failed"
        with run.lock:
            run.record, run.status = out, status

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


class EvalsHandler(WorkbenchHandler):
    @tornado.web.authenticated
    async def post(self) -> None:
        try:
            body = json.loads(self.request.body or b"{}")
            if not isinstance(body, dict):
                raise ValueError("send a JSON object")
            run = self.workbench.evals.start(body)
        except ValueError as exc:
            self.fail(400, "InvalidRequest", f"Cannot start the evaluation: {exc}.")
            return
        self.set_status(202)
        self.finish(json.dumps(run.out(0)))


class EvalRunHandler(WorkbenchHandler):
    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        run = self.workbench.evals.runs.get(run_id)
        if run is None:
            self.fail(
                404,
                "EvalRunNotFound",
                f"No evaluation run {run_id!r} was started by this "
                "JupyterLab server (runs are kept until it restarts).",
            )
            return
        try:
            since = max(0, int(self.get_argument("since", "0")))
        except ValueError:
            self.fail(400, "InvalidRequest", "`since` must be a whole number.")
            return
        self.finish(json.dumps(run.out(since)))
