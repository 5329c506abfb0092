"""Workbench API: evaluation run records, their executed notebooks, reproductions, leaderboards.

``POST /api/evals`` records a run (JSON; ``notebook`` is the executed notebook as a string),
``GET /api/evals`` lists runs (``model``, ``dataset``, ``status``, ``split`` filters),
``GET /api/evals/{id}`` shows one, ``GET /api/evals/{id}/notebook`` downloads the executed
notebook, ``POST /api/evals/{id}/reproduction`` (``{"run": RERUN_ID}``, the record's owner
only) attaches a re-run from which the hub derives ``reproduction`` (see
``workbench.store.reproduction``), and
``GET /api/leaderboards/{ns}/{dataset}?metric=accuracy&split=test`` ranks the best run of
each model. A record is visible only to callers who may read its model and its dataset.
A record whose notebook lives on a Git host carries ``source`` (``repo_url``, ``ref``, ``path``)
and the ``binder_url`` built here from it (never a URL taken from the client).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from workbench.binder import binder_url
from workbench.errors import InvalidRequest
from workbench.hub import wire
from workbench.hub.deps import Caller, JsonBody, Position, State, field, seg
from workbench.store.evals import (
    RunInput,
    RunView,
    create_run,
    get_run,
    higher_is_better,
    leaderboard,
    list_runs,
    notebook_blob,
)
from workbench.store.reproduction import attach_reproduction

router = APIRouter(tags=["workbench"])


def run_out(r: RunView) -> dict[str, Any]:
    return {
        "id": r.id,
        "model": r.model,
        "dataset": r.dataset,
        "model_commit": r.model_commit,
        "dataset_commit": r.dataset_commit,
        "split": r.split,
        "notebook": {
            "name": r.notebook_name,
            "sha256": r.notebook_sha256,
            "executed_sha256": r.executed_sha256,
        },
        "parameters": r.parameters,
        "environment": r.environment,
        "seed": r.seed,
        "timings": r.timings,
        "status": r.status,
        "error": r.error,
        "metrics": r.metrics,
        "metric_info": r.metric_info,
        "reproduction": r.reproduction,
        "differences": r.differences,
        "reproduction_run": r.reproduction_run,
        "reproduced_by": r.reproduced_by,
        "reproduced_at": wire.iso(r.reproduced_at),
        "reproduction_of": r.reproduction_of,
        "created_by": r.created_by,
        "created_at": wire.iso(r.created_at),
        "duration": r.duration,
        "source": r.source,
        "binder_url": _binder(r.source),
        "verified": r.verified,
        "verified_by": r.verified_by,
    }


def _binder(source: dict[str, Any] | None) -> str | None:
    if not source:
        return None
    return binder_url(source["repo_url"], ref=source["ref"], notebook=source.get("path"))


def _source(data: dict[str, Any]) -> dict[str, Any] | None:
    """The record's Git source, checked as Binder would need it (``InvalidBinderSource``)."""
    raw = field(data, "source", dict)
    if raw is None:
        return None
    source = {
        "repo_url": field(raw, "repo_url", str, required=True),
        "ref": field(raw, "ref", str, required=True),
        "path": field(raw, "path", str),
    }
    if len(source["repo_url"]) > 500 or len(source["ref"]) > 255 or len(source["path"] or "") > 1024:
        raise InvalidRequest("Field 'source' is too long.", code="InvalidField")
    _binder(source)  # raises on what Binder could not open
    return source


def _dict(data: dict[str, Any], key: str) -> dict[str, Any]:
    return field(data, key, dict, default={}) or {}


def run_input(data: dict[str, Any]) -> RunInput:
    """The record a client sent, checked; fields the hub sets (``verified``, ``verified_by``,
    ``reproduction``) are not read, so a forged one is ignored."""
    notebook = field(data, "notebook", str)
    seed = field(data, "seed", int)
    duration = field(data, "duration", (int, float))
    return RunInput(
        model=field(data, "model", str, required=True),
        dataset=field(data, "dataset", str, required=True),
        model_commit=field(data, "model_commit", str, required=True),
        dataset_commit=field(data, "dataset_commit", str, required=True),
        split=field(data, "split", str, required=True),
        notebook_name=field(data, "notebook_name", str, required=True)[:255],
        notebook_sha256=field(data, "notebook_sha256", str, required=True)[:64],
        status=field(data, "status", str, required=True),
        parameters=_dict(data, "parameters"),
        environment=_dict(data, "environment"),
        seed=seed,
        timings=_dict(data, "timings"),
        error=field(data, "error", dict),
        metrics=_dict(data, "metrics"),
        metric_info=_dict(data, "metric_info"),
        reproduction_of=field(data, "reproduction_of", str),
        duration=float(duration) if duration is not None else None,
        notebook=notebook.encode("utf-8") if notebook is not None else None,
        source=_source(data),
    )


@router.post(
    "/api/evals", summary="Record an evaluation run (pins, parameters, metrics, notebook)", status_code=201
)
def create(body: JsonBody, state: State, caller: Caller) -> dict[str, Any]:
    data = run_input(body)
    with state.store.write() as s:
        return run_out(create_run(state.store, s, caller, data))


@router.get("/api/evals", summary="Evaluation runs the caller may see, newest first")
def runs(
    state: State,
    caller: Caller,
    model: str | None = Query(None, max_length=200),
    dataset: str | None = Query(None, max_length=200),
    status: str | None = Query(None, pattern="^(running|succeeded|failed)$"),
    split: str | None = Query(None, max_length=255),
    limit: int = Query(100, ge=1, le=1000),
    offset: Position = 0,
) -> list[dict[str, Any]]:
    with state.store.read() as s:
        return [
            run_out(r)
            for r in list_runs(
                s,
                caller,
                model=model,
                dataset=dataset,
                status=status,
                split=split,
                limit=limit,
                offset=offset,
            )
        ]


@router.get("/api/evals/{run_id}", summary="One evaluation run record")
def show(run_id: str, state: State, caller: Caller) -> dict[str, Any]:
    with state.store.read() as s:
        return run_out(get_run(s, caller, seg(run_id)))


@router.get("/api/evals/{run_id}/notebook", summary="The executed notebook of a run (.ipynb)")
def notebook(run_id: str, state: State, caller: Caller) -> Response:
    with state.store.read() as s:
        sha = notebook_blob(s, caller, seg(run_id))
        name = get_run(s, caller, seg(run_id)).notebook_name
    return Response(
        state.store.blobs.read(sha),
        media_type="application/x-ipynb+json",
        headers={
            "Content-Disposition": f'attachment; filename="{run_id}-'
            f'{wire.header_value(name).replace(chr(34), "")}"'
        },
    )


@router.post(
    "/api/evals/{run_id}/reproduction",
    summary="Attach the owner's re-run of a record; the hub derives whether it reproduced",
)
def reproduction(run_id: str, body: JsonBody, state: State, caller: Caller) -> dict[str, Any]:
    # checked in the store, after who may read and own the record: 404/403 come first
    refused = sorted(key for key in body if key != "run")
    with state.store.write() as s:
        return run_out(attach_reproduction(s, caller, seg(run_id), body.get("run"), refused=refused))


@router.get(
    "/api/leaderboards/{namespace}/{name}",
    summary="Best succeeded run of each model on a dataset, for one metric",
)
def board(
    namespace: str,
    name: str,
    state: State,
    caller: Caller,
    metric: str = Query(..., min_length=1, max_length=200),
    split: str | None = Query("test", max_length=255),
    verified_only: bool = Query(False, description="Only records a runner posted (verified)."),
) -> dict[str, Any]:
    dataset = f"{seg(namespace)}/{seg(name)}"
    if not metric.strip():
        raise InvalidRequest("Pass ?metric=NAME (for example accuracy).", code="MissingField")
    with state.store.read() as s:
        rows = leaderboard(
            s, caller, dataset, metric=metric, split=split or None, verified_only=verified_only
        )
    entries = [
        {
            "rank": i + 1,
            "model": r.model,
            "model_commit": r.model_commit,
            "value": r.metrics[metric],
            "run": r.id,
            "url": f"/api/evals/{r.id}",
            "split": r.split,
            "dataset_commit": r.dataset_commit,
            "reproduction": r.reproduction,
            "created_at": wire.iso(r.created_at),
            "created_by": r.created_by,
            "verified": r.verified,
            "verified_by": r.verified_by,
        }
        for i, r in enumerate(rows)
    ]
    return {
        "dataset": dataset,
        "split": split,
        "metric": metric,
        "higher_is_better": higher_is_better(rows[0], metric) if rows else True,
        "verified_only": verified_only,
        "entries": entries,
    }
