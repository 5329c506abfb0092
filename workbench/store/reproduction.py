"""Reproductions: whether a record's metrics came out the same when it was run again.

Nobody sets a record's reproduction status. The record's owner (the user who posted it)
attaches a re-run: a record of their own whose ``reproduction_of`` names the original, with
the same pins (model and dataset commits, split, notebook source, parameters, seed), finished.
The hub then derives the status from the two records' metrics: ``reproduced`` (each metric
equal, or within the absolute tolerance its module declares in the original's
``metric_info[name]["tolerance"]``), ``differs`` (with the differences) or ``failed`` (the
re-run failed), and records which re-run, who attached it and when. ``workbench eval
reproduce RUN_ID`` runs the re-run and attaches it. Anything else changes nothing.

Only the owner, with no exception for organization or hub admins: an attached re-run is a
claim, and the hub accepts only the owner's claim about the owner's self-reported record,
signed with their name. A verified record (posted by a runner) gets its reproduction only from
a runner's re-run (``workbench.store.runners``; ``by`` "runner NAME"), through the same
:func:`derive`.
Anyone else who may read a record can still post a re-run of it: a record of their own, left
out of leaderboards, that changes nothing on the original.

>>> with store.write() as s:                                          # doctest: +SKIP
...     view = attach_reproduction(s, owner, "3f2a...", "9c1b...")
>>> view.reproduction, view.reproduced_by                             # doctest: +SKIP
('reproduced', 'alice')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from workbench.errors import Conflict, InvalidRequest, PermissionDenied
from workbench.store.access import Principal, require_write_scope
from workbench.store.evals import RunView, run_view, visible_run
from workbench.store.store import utcnow

FINISHED = ("succeeded", "failed")
_SYSTEM = Principal(is_admin=True)  # derive() runs after the callers' own access checks
# The notebook's revision parameters may name a branch in the original and name the pinned
# commit in a re-run; the commits themselves are compared (model_commit, dataset_commit).
REVISION_PARAMETERS = ("model_revision", "dataset_revision")


def metric_differences(
    original: dict[str, Any], rerun: dict[str, Any], metric_info: dict[str, Any]
) -> list[dict[str, Any]]:
    """Metrics that differ by more than their tolerance (or are missing from the re-run).

    >>> metric_differences({"mse": 0.5}, {"mse": 0.5 + 1e-12}, {"mse": {"tolerance": 1e-9}})
    []
    """
    out = []
    for name, before in original.items():
        info = i if isinstance(i := metric_info.get(name), dict) else {}
        tol = float(info.get("tolerance") or 0.0)
        after = rerun.get(name)
        if after is None:
            out.append({"metric": name, "original": before, "rerun": None, "tolerance": tol})
            continue
        pairs = (
            list(zip(before, after, strict=False))
            if isinstance(before, list) and isinstance(after, list) and len(before) == len(after)
            else [(before, after)]
        )
        if any(
            not (isinstance(a, int | float) and isinstance(b, int | float))
            or not math.isclose(a, b, rel_tol=0.0, abs_tol=tol)
            for a, b in pairs
        ):
            diff = (
                after - before if isinstance(before, int | float) and isinstance(after, int | float) else None
            )
            out.append(
                {"metric": name, "original": before, "rerun": after, "tolerance": tol, "difference": diff}
            )
    return out


def _shown(value: Any) -> str:
    text = value[:12] if isinstance(value, str) and len(value) == 40 else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def pin_differences(original: RunView, rerun: RunView) -> list[str]:
    """What ``rerun`` pinned differently from ``original`` (empty: the same pins).

    The seed of a failed re-run is left out when it has none: a notebook that failed before
    reporting could not say which seed it used.
    """
    pairs: list[tuple[str, Any, Any]] = [
        ("model", original.model, rerun.model),
        ("dataset", original.dataset, rerun.dataset),
        ("model_commit", original.model_commit, rerun.model_commit),
        ("dataset_commit", original.dataset_commit, rerun.dataset_commit),
        ("split", original.split, rerun.split),
        ("notebook (source sha256)", original.notebook_sha256, rerun.notebook_sha256),
    ]
    if rerun.status == "succeeded" or rerun.seed is not None:
        pairs.append(("seed", original.seed, rerun.seed))
    before = {k: v for k, v in original.parameters.items() if k not in REVISION_PARAMETERS}
    after = {k: v for k, v in rerun.parameters.items() if k not in REVISION_PARAMETERS}
    for key in sorted(before.keys() | after.keys()):
        pairs.append((f"parameter {key}", before.get(key, "(unset)"), after.get(key, "(unset)")))
    return [f"{name} {_shown(a)} != {_shown(b)}" for name, a, b in pairs if a != b]


def attach_reproduction(
    s: Session, p: Principal, run_id: str, rerun_id: Any, *, refused: Sequence[str] = ()
) -> RunView:
    """Attach the owner's re-run ``rerun_id`` to record ``run_id`` and derive its status.

    ``refused``: other fields the client sent (a ``status``, ``differences``): nobody sets
    those, so they are an error, not ignored. Checks, in this order, so that each caller
    learns only what they may: 404 unless ``p`` may read the record, 401/403 without a
    write-scope token, 403 unless ``p`` owns it, then 400/409 saying what to fix.
    """
    run, _, _ = visible_run(s, p, run_id)
    require_write_scope(p)
    fix = f"`workbench eval reproduce {run.id}` re-runs the record with its own pins and attaches it"
    if run.created_by_id is None or run.created_by_id != p.user_id:
        raise PermissionDenied(
            f"Only {run.created_by}, who posted run {run.id}, may attach a reproduction to it "
            "(with `workbench eval reproduce`); a re-run of yours stays a record of its own.",
            code="NotRecordOwner",
        )
    if refused:
        raise InvalidRequest(
            f"A record's reproduction status is derived by the hub from an attached re-run; "
            f"{', '.join(sorted(refused))} cannot be sent. Send only "
            '{"run": RERUN_ID}, the id of your re-run of this record: ' + fix + ".",
            code="StatusIsDerived",
        )
    if not isinstance(rerun_id, str) or not rerun_id:
        raise InvalidRequest(
            'Send {"run": RERUN_ID}, the id of your re-run of this record: ' + fix + ".",
            code="MissingField",
        )
    if run.status != "succeeded":
        raise InvalidRequest(
            f"Run {run.id} {run.status}: only a record that succeeded has metrics to reproduce.",
            code="RunNotSucceeded",
        )
    if run.verified:
        raise PermissionDenied(
            f"Run {run.id} was posted by runner {run.verified_by}: only a runner's re-run sets "
            f"its reproduction (`workbench eval reproduce {run.id} --on hub`).",
            code="RunnerRerunRequired",
        )
    rerun, _, _ = visible_run(s, p, rerun_id)
    if rerun.created_by_id != p.user_id:
        raise InvalidRequest(
            f"Run {rerun.id} was posted by {rerun.created_by}, not by you: attach your own re-run; "
            + fix
            + ".",
            code="NotYourRerun",
        )
    if rerun.reproduction_of != run.id:
        raise InvalidRequest(
            f"Run {rerun.id} is not a re-run of {run.id} (its reproduction_of is "
            f"{rerun.reproduction_of or 'unset'}): {fix}.",
            code="NotAReproduction",
        )
    if rerun.status not in FINISHED:
        raise Conflict(
            f"Run {rerun.id} is still {rerun.status}: attach it once it has succeeded or failed ({fix}).",
            code="RerunNotFinished",
        )
    return derive(s, run_id, rerun_id, by=p.name or "", fix=fix)


def derive(s: Session, run_id: str, rerun_id: str, *, by: str, fix: str) -> RunView:
    """The one rule that sets a record's reproduction: compare the re-run ``rerun_id`` (same
    pins, finished) with the record ``run_id`` and store the status, the re-run, ``by`` and
    when. Called by :func:`attach_reproduction` (the owner's re-run) and by
    ``workbench.store.runners`` (a runner's re-run, ``by`` "runner NAME")."""
    run, model, dataset = visible_run(s, _SYSTEM, run_id)
    rerun, rerun_model, rerun_dataset = visible_run(s, _SYSTEM, rerun_id)
    original = run_view(run, model, dataset)
    differs = pin_differences(original, run_view(rerun, rerun_model, rerun_dataset))
    if differs:
        raise InvalidRequest(
            f"Run {rerun.id} does not have the pins of run {run.id}: {'; '.join(differs)}. "
            f"A reproduction runs the record's own pins: {fix}.",
            code="ReproductionPinsDiffer",
        )
    if rerun.status == "failed":
        status, differences = "failed", [{"error": rerun.error}]
    else:
        differences = metric_differences(run.metrics, rerun.metrics, run.metric_info)
        status = "differs" if differences else "reproduced"
    run.reproduction, run.differences = status, differences
    run.reproduction_run, run.reproduced_by, run.reproduced_at = rerun.id, by, utcnow()
    s.flush()
    return run_view(run, model, dataset)
