"""Workbench API: runners and evaluation jobs (see ``workbench.store.runners``).

Admins: ``POST /api/runners`` (``{"name", "labels"}``; answers the runner token once),
``GET /api/runners`` (each with ``online``, the ids of the ``jobs`` it holds and their
``current_jobs``: id, model, dataset), ``POST
/api/runners/{name}/pause`` and ``/resume``, ``DELETE /api/runners/{name}``. Any signed-in user:
``GET /api/runners/online?requires=gpu,cpu`` answers how many runners are online with those
labels (``{"online": n, "requires": [...]}``), and nothing else about them.

Users: ``POST /api/eval-jobs`` queues a job (``model``, ``dataset``, revisions, ``split``,
``metrics``, ``parameters``, ``notebook`` {name, content}, ``requires``, ``timeout``; or
``{"reproduce": RUN_ID}``), ``GET /api/eval-jobs`` lists the caller's jobs (``state``
filter), ``GET /api/eval-jobs/{id}?after=N`` shows one with its progress events after event
``N`` (``last_event`` is the next ``after``), ``POST /api/eval-jobs/{id}/cancel``. A queued
job's ``queue_position`` says how many queued jobs a runner would take before it (null once
it runs). A job says what queued it (``trigger``: ``user``, or ``push`` for a model commit that a dataset's
evaluation suite applies to) and, for a push, the results ``pull_request`` the hub opened on
the model. ``GET /api/datasets/{id}/eval-suite`` shows a dataset's suite, or why it is malformed.

Runners (runner token only; a user token gets 403): ``POST /api/runner/lease`` (long-polls
up to ``wait`` seconds for a job whose labels the runner has; ``{"labels": [...]}`` offers
only those of its labels), ``POST
/api/runner/jobs/{id}/heartbeat``, ``/events``, ``/complete`` (the record, stored verified)
``/fail`` (the reason; nothing is posted) and ``/release`` (a runner that stops hands
the job back to the queue). Each takes the ``lease`` the lease answered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from workbench.hub import wire
from workbench.hub.deps import (
    Caller,
    HubState,
    JsonBody,
    OptionalJsonBody,
    Position,
    State,
    bearer_token,
    field,
    repo_key,
    seg,
)
from workbench.hub.routes.evals import run_input, run_out
from workbench.names import metric_space_id
from workbench.store import runner_leases as leases
from workbench.store import runners as r
from workbench.store.access import require_write_scope
from workbench.store.eval_prs import settle
from workbench.store.eval_suites import SuiteView, get_suite
from workbench.store.evals import get_run
from workbench.store.runners import JobRequest, JobView, RunnerInfo

log = logging.getLogger(__name__)
router = APIRouter(tags=["workbench"])
MAX_WAIT = r.MAX_LEASE_WAIT
POLL = 0.1  # how often a waiting lease looks for a job (two cheap reads)


def runner_caller(request: Request, state: State) -> RunnerInfo:
    """The runner a request's ``wbr_`` token names (403 for a user token, 401 without)."""
    with state.store.read() as s:
        return r.authenticate_runner(s, bearer_token(request))


RunnerCaller = Annotated[RunnerInfo, Depends(runner_caller)]


def runner_out(info: RunnerInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "labels": info.labels,
        "paused": info.paused,
        "token_prefix": info.prefix,
        "created_at": wire.iso(info.created_at),
        "last_seen": wire.iso(info.last_seen),
    }


def job_out(job: JobView) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "owner": job.owner,
        "spec": job.spec,
        "requires": job.requires,
        "timeout": job.timeout,
        "runner": job.runner,
        "record": job.record_id,
        "error": job.error,
        "attempts": job.attempts,
        "created_at": wire.iso(job.created_at),
        "updated_at": wire.iso(job.updated_at),
        "events": job.events,
        "last_event": job.last_event,
        "queue_position": job.queue_position,
        "trigger": job.trigger,
        "pull_request": job.pull_request,
    }


def suite_out(view: SuiteView) -> dict[str, Any]:
    return {
        "dataset": view.dataset,
        "declared": view.declared,
        "commit": view.commit,
        "valid": view.declared and view.error is None,
        "suite": view.suite,
        "error": view.error,
        "updated_at": wire.iso(view.updated_at),
    }


# -- admins ------------------------------------------------------------------------------


@router.post(
    "/api/runners", summary="Register a runner (hub admins); answers its token once", status_code=201
)
def register(body: JsonBody, state: State, caller: Caller) -> dict[str, Any]:
    labels = field(body, "labels", list, default=[])
    with state.store.write() as s:
        info, token = r.register_runner(s, caller, field(body, "name", str, required=True), labels=labels)
    return {**runner_out(info), "token": token}


@router.get("/api/runners", summary="Registered runners (hub admins), whether online, their jobs")
def runners(state: State, caller: Caller) -> list[dict[str, Any]]:
    with state.store.read() as s:
        statuses = r.runner_statuses(s, caller, lease_seconds=state.settings.runner_lease_seconds)
    return [
        {
            **runner_out(st.info),
            "online": st.online,
            "jobs": [j.id for j in st.jobs],
            "current_jobs": [{"id": j.id, "model": j.model, "dataset": j.dataset} for j in st.jobs],
        }
        for st in statuses
    ]


@router.get("/api/runners/online", summary="How many runners are online with the given labels")
def online(
    state: State,
    caller: Caller,
    requires: str = Query("", description="Comma-separated labels the runners must have"),
) -> dict[str, Any]:
    labels = r.check_labels(requires.split(","))
    within = r.online_window(state.settings.runner_lease_seconds)
    with state.store.read() as s:
        return {"online": r.count_online(s, caller, labels, within=within), "requires": labels}


@router.post("/api/runners/{name}/pause", summary="Pause a runner: it leases no more jobs")
def pause(name: str, state: State, caller: Caller) -> dict[str, Any]:
    with state.store.write() as s:
        return runner_out(r.set_paused(s, caller, seg(name), True))


@router.post("/api/runners/{name}/resume", summary="Resume a paused runner")
def resume(name: str, state: State, caller: Caller) -> dict[str, Any]:
    with state.store.write() as s:
        return runner_out(r.set_paused(s, caller, seg(name), False))


@router.delete("/api/runners/{name}", summary="Remove a runner (its token stops working)")
def remove(name: str, state: State, caller: Caller) -> dict[str, Any]:
    with state.store.write() as s:
        r.remove_runner(s, caller, seg(name))
    return {"removed": seg(name)}


# -- users -------------------------------------------------------------------------------


def _request(body: dict[str, Any]) -> JobRequest:
    metrics = [str(x) for x in field(body, "metrics", list, default=["accuracy"])] or ["accuracy"]
    notebook = field(body, "notebook", dict)
    if notebook is not None:
        notebook = {
            "name": field(notebook, "name", str, required=True)[:255],
            "content": field(notebook, "content", str, required=True),
        }
    timeout = field(body, "timeout", (int, float))
    reproduce = field(body, "reproduce", str)
    if reproduce is not None:  # the record's metric modules are pinned in its parameters
        metrics = []
    return JobRequest(
        model=field(body, "model", str),
        dataset=field(body, "dataset", str),
        model_revision=field(body, "model_revision", str),
        dataset_revision=field(body, "dataset_revision", str),
        split=field(body, "split", str, default="test"),
        metrics=metrics,
        metric_spaces={m: metric_space_id(m) for m in metrics},
        parameters=field(body, "parameters", dict, default={}) or {},
        notebook=notebook,
        requires=[str(x) for x in field(body, "requires", list, default=[])],
        timeout=float(timeout) if timeout is not None else None,
        reproduce=reproduce,
    )


@router.post(
    "/api/eval-jobs", summary="Queue an evaluation for a runner (pins resolved now)", status_code=201
)
def queue(body: JsonBody, state: State, caller: Caller) -> dict[str, Any]:
    require_write_scope(caller)  # who may queue, before what is asked (401/403 before a 400)
    req = _request(body)
    with state.store.write() as s:
        if req.reproduce is not None:  # the metric modules the record pinned
            params = get_run(s, caller, req.reproduce).parameters or {}
            names = list((params.get("metric_revisions") or {}).keys())
            req.metric_spaces = {m: metric_space_id(m) for m in names}
        return job_out(r.queue_job(state.store, s, caller, req))


@router.get("/api/eval-jobs", summary="The caller's evaluation jobs, newest first")
def jobs(
    state: State,
    caller: Caller,
    job_state: str | None = Query(
        None, alias="state", pattern="^(queued|running|succeeded|failed|cancelled)$"
    ),
    limit: int = Query(100, ge=1, le=1000),
) -> list[dict[str, Any]]:
    with state.store.read() as s:
        return [job_out(j) for j in r.list_jobs(s, caller, state=job_state, limit=limit)]


@router.get("/api/eval-jobs/{job_id}", summary="One of the caller's jobs, with its progress events")
def job(job_id: int, state: State, caller: Caller, after: Position = 0) -> dict[str, Any]:
    with state.store.read() as s:
        return job_out(r.get_job(s, caller, job_id, after=after))


@router.get(
    "/api/datasets/{namespace}/{name}/eval-suite",
    summary="The evaluation suite a dataset's card declares, or why it is malformed",
)
def eval_suite(namespace: str, name: str, state: State, caller: Caller) -> dict[str, Any]:
    with state.store.read() as s:
        return suite_out(get_suite(state.store, s, caller, repo_key("datasets", namespace, name).as_tuple()))


@router.post("/api/eval-jobs/{job_id}/cancel", summary="Cancel the caller's queued or running job")
def cancel(job_id: int, state: State, caller: Caller) -> dict[str, Any]:
    with state.store.write() as s:
        return job_out(r.cancel_job(s, caller, job_id))


# -- runners -----------------------------------------------------------------------------


def _lease_once(state: HubState, runner: RunnerInfo, offered: list[str] | None) -> leases.Lease | None:
    return leases.lease_job(
        state.store, runner, lease_seconds=state.settings.runner_lease_seconds, offered=offered
    )


@router.post("/api/runner/lease", summary="Lease the next job this runner may run (long-poll)")
async def lease(
    state: State, runner: RunnerCaller, body: OptionalJsonBody, wait: float = Query(10.0, ge=0, le=MAX_WAIT)
) -> dict[str, Any]:
    def seen() -> None:
        with state.store.write() as s:
            leases.touch(s, runner)

    offered = field(body, "labels", list)
    offered = r.check_labels(offered) if offered is not None else None
    await run_in_threadpool(seen)
    deadline = time.monotonic() + wait
    while True:
        got = await run_in_threadpool(_lease_once, state, runner, offered)
        if got is not None:
            return {
                "job": job_out(got.job),
                "lease": got.lease,
                "read_token": got.read_token,
                "spec": {k: v for k, v in got.spec.items() if k != "reads"},
                "lease_seconds": state.settings.runner_lease_seconds,
            }
        if time.monotonic() >= deadline:
            return {"job": None}
        await asyncio.sleep(POLL)


def _lease_of(body: dict[str, Any]) -> str:
    return str(field(body, "lease", str, required=True))


@router.post("/api/runner/jobs/{job_id}/heartbeat", summary="Renew the runner's lease on a job")
def beat(job_id: int, body: JsonBody, state: State, runner: RunnerCaller) -> dict[str, Any]:
    held = leases.heartbeat(
        state.store, runner, job_id, _lease_of(body), lease_seconds=state.settings.runner_lease_seconds
    )
    return {"held": held}


@router.post("/api/runner/jobs/{job_id}/events", summary="Progress events of a running job")
def events(job_id: int, body: JsonBody, state: State, runner: RunnerCaller) -> dict[str, Any]:
    batch = field(body, "events", list, required=True)
    with state.store.write() as s:
        leases.add_events(s, runner, job_id, _lease_of(body), batch)
    return {"added": len(batch)}


@router.post("/api/runner/jobs/{job_id}/complete", summary="The job's record, stored verified")
def complete(job_id: int, body: JsonBody, state: State, runner: RunnerCaller) -> dict[str, Any]:
    record = field(body, "record", dict, required=True)
    data = run_input(record)
    with state.store.write() as s:
        out = run_out(leases.complete_job(state.store, s, runner, job_id, _lease_of(body), data))
    # a push's run: the record's transaction owed the model a results pull request; open it
    # now (settle never raises: what fails, the job process's sweep tries again)
    settle(state.store, job_id, max_chars=state.settings.max_comment_chars)
    return out


@router.post("/api/runner/jobs/{job_id}/fail", summary="The job failed without a record (the reason)")
def failed(job_id: int, body: JsonBody, state: State, runner: RunnerCaller) -> dict[str, Any]:
    error = str(field(body, "error", str, required=True))
    with state.store.write() as s:
        return job_out(leases.fail_job(s, runner, job_id, _lease_of(body), error))


@router.post(
    "/api/runner/jobs/{job_id}/release", summary="Hand a job back to the queue (a runner that stops)"
)
def release(job_id: int, body: JsonBody, state: State, runner: RunnerCaller) -> dict[str, Any]:
    with state.store.write() as s:
        leases.release_job(s, runner, job_id, _lease_of(body))
    return {"released": job_id}
