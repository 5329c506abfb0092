"""CI gates: run a model × dataset × metric matrix and fail on thresholds or regressions.

The spec is YAML (see docs/evaluation.md)::

    executor: local            # or dask://HOST:PORT
    jobs: 2
    timeout: 900               # seconds per run
    verified: false            # true: run on the hub's runners, count only verified records
    requires: [gpu]            # with verified: labels the runners must have
    evaluations:
      - models: [admin/tiny-classifier]
        datasets: [admin/iris-mini]
        split: test
        parameters: {batch_size: 256}
        metrics:
          accuracy: {min: 0.9, max_regression: 0.01}
          f1: {min: 0.85}

A check fails when the run fails, when a value is below ``min`` (or above ``max``), or when
it is worse than the current leaderboard value by more than ``max_regression`` (the model's
own entry; ``baseline: best`` compares with the top of the board). Leaderboard values are read
before the runs start. With ``verified`` the runs are jobs for the hub's runners
(``workbench.evals.hub_jobs``), a record that is not verified fails its checks, and the
regression baselines are the verified-only leaderboards. The outcome is a JUnit XML report
and a Markdown summary.

>>> outcome = run_gate(load_spec(Path("gate.yaml")), client=hub)    # doctest: +SKIP
>>> outcome.passed                                                  # doctest: +SKIP
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import yaml

from workbench.errors import InvalidRequest
from workbench.evals.executors import ManyProgress, run_many
from workbench.evals.records import RunRecord
from workbench.evals.runner import EvalSpec

CHECK_KEYS = {"min", "max", "max_regression", "baseline"}


@dataclass
class Evaluation:
    model: str
    dataset: str
    split: str
    metrics: dict[str, dict[str, Any]]
    parameters: dict[str, Any] = field(default_factory=dict)
    notebook: str | None = None


@dataclass
class GateSpec:
    evaluations: list[Evaluation]
    executor: str = "local"
    jobs: int = 1
    timeout: float | None = None
    verified: bool = False
    requires: list[str] = field(default_factory=list)


@dataclass
class Check:
    model: str
    dataset: str
    split: str
    metric: str
    value: float | None
    passed: bool
    message: str
    run: str | None = None
    duration: float | None = None


@dataclass
class GateOutcome:
    checks: list[Check]
    records: list[RunRecord]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


def _bad(message: str) -> InvalidRequest:
    return InvalidRequest(f"Gate spec: {message}", code="InvalidGateSpec")


def _names(entry: dict[str, Any], one: str, many: str) -> list[str]:
    value = entry.get(many, entry.get(one))
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise _bad(f"each evaluation needs '{one}' (a repo id) or '{many}' (a list).")
    return values


def parse_spec(data: Any) -> GateSpec:
    """Validate a gate spec (already parsed YAML)."""
    if not isinstance(data, dict) or not isinstance(data.get("evaluations"), list) or not data["evaluations"]:
        raise _bad("expected a mapping with a non-empty 'evaluations' list.")
    out = []
    for entry in data["evaluations"]:
        if not isinstance(entry, dict):
            raise _bad("each evaluation is a mapping.")
        metrics = entry.get("metrics")
        if isinstance(metrics, list):
            metrics = {m: {} for m in metrics}
        if not isinstance(metrics, dict) or not metrics:
            raise _bad("each evaluation needs 'metrics' (names, or a mapping name -> checks).")
        for name, checks in metrics.items():
            checks = checks or {}
            if not isinstance(checks, dict) or set(checks) - CHECK_KEYS:
                raise _bad(
                    f"checks of {name!r} must be a mapping with keys from {', '.join(sorted(CHECK_KEYS))}."
                )
            metrics[name] = checks
        for model, dataset in itertools.product(
            _names(entry, "model", "models"), _names(entry, "dataset", "datasets")
        ):
            out.append(
                Evaluation(
                    model,
                    dataset,
                    str(entry.get("split", "test")),
                    metrics,
                    dict(entry.get("parameters") or {}),
                    entry.get("notebook"),
                )
            )
    jobs = data.get("jobs", 1)
    if not isinstance(jobs, int) or jobs < 1:
        raise _bad("'jobs' must be a positive integer.")
    verified = data.get("verified", False)
    requires = data.get("requires") or []
    if not isinstance(verified, bool):
        raise _bad("'verified' must be true or false.")
    if not isinstance(requires, list) or not all(isinstance(x, str) for x in requires):
        raise _bad("'requires' must be a list of runner labels.")
    return GateSpec(out, str(data.get("executor", "local")), jobs, data.get("timeout"), verified, requires)


def load_spec(path: Path) -> GateSpec:
    try:
        return parse_spec(yaml.safe_load(Path(path).read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise _bad(f"cannot read {path}: {exc}.") from None


def _baselines(client: Any, spec: GateSpec, *, verified: bool) -> dict[tuple[str, str, str], dict[str, Any]]:
    boards = {}
    for ev in spec.evaluations:
        for metric, checks in ev.metrics.items():
            if "max_regression" in checks and (ev.dataset, ev.split, metric) not in boards:
                boards[(ev.dataset, ev.split, metric)] = client.leaderboard(
                    ev.dataset, metric=metric, split=ev.split, verified_only=verified
                )
    return boards


def _on_hub(
    client: Any, specs: list[EvalSpec], requires: list[str], jobs: int, progress: ManyProgress | None
) -> list[RunRecord]:
    """Each spec as a job for the hub's runners, ``jobs`` queued at a time."""
    from workbench.evals.hub_jobs import run_on_hub

    def one(i: int) -> RunRecord:
        return run_on_hub(
            client, specs[i], requires=requires, progress=(lambda e: progress(i, e)) if progress else None
        )

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, range(len(specs))))


def run_gate(
    spec: GateSpec,
    *,
    client: Any,
    executor: str | None = None,
    jobs: int | None = None,
    progress: ManyProgress | None = None,
    verified: bool | None = None,
) -> GateOutcome:
    """Run the matrix (records go to the hub) and check every metric; ``verified``
    overrides the spec's (run on the hub's runners, count only verified records)."""
    verified = spec.verified if verified is None else verified
    boards = _baselines(client, spec, verified=verified)
    specs = [
        EvalSpec(
            ev.model,
            ev.dataset,
            metrics=list(ev.metrics),
            split=ev.split,
            notebook=ev.notebook,
            parameters=ev.parameters,
            timeout=spec.timeout,
            hub_url=client.url,
            token=client.token,
        )
        for ev in spec.evaluations
    ]
    if verified:
        records = _on_hub(client, specs, spec.requires, jobs or spec.jobs, progress)
    else:
        records = run_many(
            specs, executor=executor or spec.executor, jobs=jobs or spec.jobs, progress=progress
        )
    checks = []
    for ev, record in zip(spec.evaluations, records, strict=True):
        for metric, rules in ev.metrics.items():
            board = boards.get((ev.dataset, ev.split, metric))
            checks.append(_check(ev, record, metric, rules, board, verified=verified))
    return GateOutcome(checks, records)


def _check(
    ev: Evaluation,
    record: RunRecord,
    metric: str,
    rules: dict[str, Any],
    board: dict[str, Any] | None,
    *,
    verified: bool = False,
) -> Check:
    base: dict[str, Any] = {
        "model": ev.model,
        "dataset": ev.dataset,
        "split": ev.split,
        "metric": metric,
        "run": record.id,
        "duration": record.data.get("duration"),
    }
    if not record.ok:
        message = (record.error or {}).get("message") or "the run failed"
        return Check(value=None, passed=False, message=f"run failed: {message}", **base)
    if verified and not record.data.get("verified"):
        return Check(value=None, passed=False, message="the record is not verified (self-reported)", **base)
    value = record.metrics.get(metric)
    if not isinstance(value, int | float):
        return Check(value=None, passed=False, message=f"the run reported no {metric!r}", **base)
    problems = []
    if "min" in rules and value < rules["min"]:
        problems.append(f"{value:.6g} < min {rules['min']}")
    if "max" in rules and value > rules["max"]:
        problems.append(f"{value:.6g} > max {rules['max']}")
    if "max_regression" in rules and board and board.get("entries"):
        entries = board["entries"]
        if rules.get("baseline") != "best":
            entries = [e for e in entries if e["model"] == ev.model]
        if entries:
            ref = entries[0]["value"]
            worse = (ref - value) if board.get("higher_is_better", True) else (value - ref)
            if worse > rules["max_regression"]:
                problems.append(
                    f"regressed by {worse:.6g} against the leaderboard's {ref:.6g} "
                    f"(allowed {rules['max_regression']})"
                )
    return Check(
        value=value, passed=not problems, message="; ".join(problems) or f"{metric} = {value:.6g}", **base
    )


def junit_xml(outcome: GateOutcome) -> str:
    """A JUnit XML report: one test case per (model, dataset, metric)."""
    failures = sum(not c.passed for c in outcome.checks)
    suite = ET.Element(
        "testsuite",
        name="workbench-eval-gate",
        tests=str(len(outcome.checks)),
        failures=str(failures),
        errors="0",
    )
    for c in outcome.checks:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"{c.model} on {c.dataset}[{c.split}]",
            name=c.metric,
            time=f"{c.duration or 0:.3f}",
        )
        if not c.passed:
            ET.SubElement(case, "failure", message=c.message).text = c.message
        ET.SubElement(case, "system-out").text = f"run: {c.run}\n{c.message}"
    root = ET.Element("testsuites")
    root.append(suite)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def markdown_summary(outcome: GateOutcome, *, base_url: str = "") -> str:
    """A Markdown table for the CI page."""
    head = "PASSED" if outcome.passed else "FAILED"
    lines = [
        f"## Evaluation gate: {head}",
        "",
        "| | model | dataset | metric | value | run | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in outcome.checks:
        value = f"{c.value:.6g}" if c.value is not None else "-"
        run = f"[{c.run[:12]}]({base_url}/api/evals/{c.run})" if c.run else "-"
        note = c.message.replace("|", "\\|")
        lines.append(
            f"| {'✅' if c.passed else '❌'} | {c.model} | {c.dataset} [{c.split}] | "
            f"{c.metric} | {value} | {run} | {note} |"
        )
    return "\n".join(lines) + "\n"
