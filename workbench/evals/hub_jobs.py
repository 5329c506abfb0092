"""Asking the hub's runners for a run: queue a job, follow its progress, get its record.

``workbench eval run ... --on hub``, ``workbench eval reproduce RUN_ID --on hub`` and
``wb.evaluate(..., on="hub")`` call these. The hub pins the repos when the job is queued; a
runner runs it (``workbench.evals.hub_runner``) and posts the record, stored verified.

>>> record = run_on_hub(client, EvalSpec("alice/m", "alice/d"), requires=["gpu"])  # doctest: +SKIP
>>> record.data["verified"], record.data["verified_by"]                           # doctest: +SKIP
(True, 'gpu-box')
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workbench.client import runners as api
from workbench.evals.records import RunRecord
from workbench.evals.runner import EvalSpec, Progress


def job_request(spec: EvalSpec, *, requires: Sequence[str] = ()) -> dict[str, Any]:
    """The body of ``POST /api/eval-jobs`` for ``spec`` (a named notebook travels with it)."""
    body: dict[str, Any] = {
        "model": spec.model,
        "dataset": spec.dataset,
        "model_revision": spec.model_revision,
        "dataset_revision": spec.dataset_revision,
        "split": spec.split,
        "metrics": list(spec.metrics),
        "parameters": dict(spec.parameters),
        "requires": list(requires),
    }
    if spec.timeout is not None:
        body["timeout"] = spec.timeout
    if spec.notebook:
        path = Path(spec.notebook)
        body["notebook"] = {"name": path.name, "content": path.read_text(encoding="utf-8")}
    return body


def _follow(client: Any, job: dict[str, Any], progress: Progress | None) -> dict[str, Any]:
    return api.follow_job(client, int(job["id"]), on_event=progress)


def _record_of(client: Any, job: dict[str, Any]) -> RunRecord:
    if job.get("record"):
        data = client.eval_run(job["record"])
        return RunRecord(data=data, id=data["id"], url=f"{client.url}/api/evals/{data['id']}")
    # failed without a record (pins that no longer resolve) or cancelled: the job says why
    data = {
        "status": "failed" if job["state"] != "cancelled" else "cancelled",
        "model": job["spec"].get("model"),
        "dataset": job["spec"].get("dataset"),
        "split": job["spec"].get("split"),
        "metrics": {},
        "error": {
            "cell_index": None,
            "cell_id": None,
            "ename": f"Job{job['state'].title()}",
            "message": job.get("error"),
        },
        "job": job["id"],
    }
    return RunRecord(data=data)


def run_on_hub(
    client: Any, spec: EvalSpec, *, requires: Sequence[str] = (), progress: Progress | None = None
) -> RunRecord:
    """Queue ``spec`` for a runner, pass its progress events to ``progress`` as they come, and
    return the record the runner posted (a failed record without an id when the job failed
    before running, e.g. pins that no longer resolve, or was cancelled)."""
    job = api.queue_job(client, job_request(spec, requires=requires))
    return _record_of(client, _follow(client, job, progress))


def reproduce_on_hub(
    client: Any,
    run_id: str,
    *,
    requires: Sequence[str] = (),
    timeout: float | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Queue a runner re-run of record ``run_id``; the hub attaches it and derives the
    original's reproduction. Returns what :func:`workbench.evals.reproduce.reproduce` returns."""
    body: dict[str, Any] = {"reproduce": run_id, "requires": list(requires)}
    if timeout is not None:
        body["timeout"] = timeout
    job = _follow(client, api.queue_job(client, body), progress)
    original = client.eval_run(run_id)
    rerun = _record_of(client, job)
    attached = rerun.id is not None and original.get("reproduction_run") == rerun.id
    return {
        "status": original["reproduction"] if attached else "failed",
        "differences": original["differences"] if attached else [{"error": rerun.error}],
        "original": run_id,
        "rerun": rerun.id,
        "rerun_status": rerun.status,
        "reproduced_by": original["reproduced_by"] if attached else None,
        "reproduced_at": original["reproduced_at"] if attached else None,
        "job": job["id"],
    }
