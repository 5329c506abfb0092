"""Evaluation runs started from the UI: ``run_evaluation`` in a worker thread, progress kept here.

``POST /workbench/evals`` with ``{"model", "dataset", "split", "metrics", "modelRevision"?,
"datasetRevision"?}`` answers ``{"id": ...}`` at once; ``GET /workbench/evals/<id>?since=N``
answers the run's status, its progress events from the N-th on, and, when done, the record
(metrics, the hub's run id). The hub token stays in this process: the worker passes it to
the evaluation client, the browser only sees events and the record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbench.jupyter.tasks import TaskHandler, Tasks, TaskStartHandler, UiTask

if TYPE_CHECKING:
    from workbench.jupyter.app import Workbench


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
        self.tasks = Tasks("eval", workers=1, log=app.log)

    @property
    def runs(self) -> dict[str, UiTask]:
        return self.tasks.items

    def start(self, body: dict[str, Any]) -> UiTask:
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
        return self.tasks.start(request, self._work)

    def _work(self, run: UiTask) -> tuple[bool, dict[str, Any]]:
        from workbench.evals import EvalSpec, run_evaluation

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
        record = run_evaluation(spec, progress=run.emit)
        return record.ok, {
            "id": record.id,
            "status": record.status,
            "metrics": record.metrics,
            "error": record.error,
            "model_commit": record.data.get("model_commit"),
            "dataset_commit": record.data.get("dataset_commit"),
        }

    def close(self) -> None:
        self.tasks.close()


class EvalsHandler(TaskStartHandler):
    source = "evals"
    doing = "start the evaluation"


class EvalRunHandler(TaskHandler):
    source = "evals"
    kind = "evaluation run"
    code = "EvalRunNotFound"
