"""Run one evaluation: pin the repos, execute the notebook with papermill, record the run.

Every repo is resolved to a commit before anything runs, and the notebook gets those commits
as ``model_revision`` / ``dataset_revision``. papermill executes it in a fresh kernel (a new
process per run; the executors run each run in its own process too, so parallel runs never
share kernel ports or ``os.environ``). Per-cell progress goes to ``progress`` callbacks; a
``timeout`` bounds the whole run; a kernel that dies, a cell that fails, a run that times out
or a notebook that never calls ``wb.report`` all end in a failed record that keeps the executed
notebook. This is the Python API the JupyterLab server extension calls.

>>> record = run_evaluation(EvalSpec("admin/tiny-classifier", "admin/iris-mini",
...                                  metrics=["accuracy"]))      # doctest: +SKIP
>>> record.status, record.metrics                                # doctest: +SKIP
('succeeded', {'accuracy': 0.9333333333333333})
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import InvalidRequest, RepoNotFound, RevisionNotFound, WorkbenchError
from workbench.evals.kernels import Kernel
from workbench.evals.records import RunRecord, build_record, declared_parameters, read_notebook, upload
from workbench.names import metric_space_id

log = logging.getLogger(__name__)

Progress = Callable[[dict[str, Any]], None]
# Shipped in the package (the gallery's notebooks/evaluate.ipynb is a link to it), so an
# installed Workbench finds it where a checkout does.
_TEMPLATE = Path(__file__).with_name("evaluate.ipynb")
AUTO_PARAMETERS = ("split", "metrics", "model_revision", "dataset_revision", "metric_revisions")

_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")


def template_path() -> Path:
    """The evaluation template, ``workbench/evals/evaluate.ipynb`` in the package."""
    return _TEMPLATE


@dataclass
class EvalSpec:
    """What to evaluate and how; ``parameters`` are extra notebook parameters (``-p``)."""

    model: str
    dataset: str
    metrics: list[str] = field(default_factory=lambda: ["accuracy"])
    split: str = "test"
    notebook: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    model_revision: str | None = None
    dataset_revision: str | None = None
    timeout: float | None = None  # seconds for the whole run
    hub_url: str | None = None
    token: str | None = None
    output_dir: str | None = None
    kernel_name: str = "python3"
    upload: bool = True
    publish: bool = False  # also write the metrics into the model card's model-index
    reproduction_of: str | None = None
    # where it runs, kept in the record's environment: {"kind": "local" | "dask", "worker": ...}
    executor: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_output_dir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "workbench" / "eval-runs"


def _failure(
    message: str, ename: str, cell_index: int | None = None, cell_id: str | None = None
) -> dict[str, Any]:
    return {"cell_index": cell_index, "cell_id": cell_id, "ename": ename, "message": message}


def _pin(client: Any, repo_id: str, repo_type: str, revision: str | None) -> str:
    try:
        sha: str = client.repo_info(repo_id, type=repo_type, revision=revision)["sha"]
    except RepoNotFound:
        raise RepoNotFound(
            f"The {repo_type} {repo_id} does not exist on {client.url} (or your token may not read it)."
        ) from None
    except RevisionNotFound:
        raise RevisionNotFound(f"The {repo_type} {repo_id} has no revision {revision!r}.") from None
    return sha


def run_evaluation(
    spec: EvalSpec, *, progress: Progress | None = None, client: Any = None, kernel: Kernel | None = None
) -> RunRecord:
    """Run ``spec`` and return its record (stored on the hub unless ``spec.upload`` is off).

    Failures are records too (``status == "failed"``, ``error`` says where and why); only a
    run whose model or dataset cannot be resolved is not stored (the hub could not attach it
    to them): its record stays local, as ``<notebook_path stem>.record.json`` next to
    ``notebook_path``. ``kernel``: a :func:`workbench.evals.kernels.spare_kernel` to run in,
    when it fits this run (same hub and kernel name, still alive); else, and always after, it
    is shut down.
    """
    from workbench.client import HubClient

    own = client is None
    client = client or HubClient(spec.hub_url, spec.token, progress=False)
    try:
        return _run(spec, client, progress or (lambda event: None), kernel)
    finally:
        if own:
            client.close()


def _run(spec: EvalSpec, client: Any, progress: Progress, spare: Kernel | None) -> RunRecord:
    started = time.monotonic()
    run_dir = (Path(spec.output_dir) if spec.output_dir else default_output_dir()).absolute()
    run_dir.mkdir(parents=True, exist_ok=True)
    source = Path(spec.notebook) if spec.notebook else template_path()
    out = run_dir / f"{source.stem}-{uuid.uuid4().hex[:12]}.ipynb"
    if spare is not None and spare.hand_over(spec.kernel_name, client.url, client.token, run_dir):
        kernel = spare
    else:
        if spare is not None:
            spare.close()
        kernel = Kernel(spec.kernel_name, client.url, client.token, run_dir)
    try:
        return _pinned_run(spec, client, progress, started, source, out, kernel)
    finally:
        kernel.close()


def _pinned_run(
    spec: EvalSpec, client: Any, progress: Progress, started: float, source: Path, out: Path, kernel: Kernel
) -> RunRecord:
    progress({"event": "resolve", "model": spec.model, "dataset": spec.dataset})
    try:
        pins = {
            "model_commit": _pin(client, spec.model, "model", spec.model_revision),
            "dataset_commit": _pin(client, spec.dataset, "dataset", spec.dataset_revision),
        }
    except WorkbenchError as exc:
        data: dict[str, Any] = {
            "model": spec.model,
            "dataset": spec.dataset,
            "split": spec.split,
            "status": "failed",
            "parameters": spec.parameters,
            "metrics": {},
            "error": _failure(exc.message, exc.code),
        }
        # No repo to attach it to on the hub: the record and the notebook stay here.
        if source.is_file():
            out.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
        out.with_suffix(".record.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
        record = RunRecord(data=data, notebook_path=out if out.is_file() else None)
        progress({"event": "done", "status": "failed", "error": data["error"]})
        return record
    parameters = _parameters(spec, pins, _metric_pins(client, spec.metrics))
    error = _check_notebook(source, parameters, spec)
    if error is None and kernel.error is not None:
        failed = kernel.error
        error = _failure(
            f"The kernel {spec.kernel_name!r} could not start: {type(failed).__name__}: {failed}",
            type(failed).__name__,
        )
    if error is None:
        error = _execute(source, out, parameters, spec, kernel, progress, started)
        if not out.is_file():  # papermill failed before writing (e.g. no such kernel)
            out.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
            error = error or _failure("papermill wrote no output notebook.", "NoOutput")
    else:
        out.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")  # kept as given
    data = build_record(
        out,
        pins=pins,
        error=error,
        parameters=parameters,
        source=source,
        extra={"reproduction_of": spec.reproduction_of} if spec.reproduction_of else None,
    )
    data["environment"] = {
        **data["environment"],
        "executor": {"kind": "local", **(spec.executor or {}), "host": socket.gethostname()},
    }
    if data.get("duration") is None:
        data["duration"] = round(time.monotonic() - started, 3)
    data["timings"]["wall"] = round(time.monotonic() - started, 3)
    record = upload(client, data, out) if spec.upload else RunRecord(data=data, notebook_path=out)
    if spec.publish and record.ok and record.id:
        from workbench.evals.publish import publish_to_card

        record.published = publish_to_card(client, record.data)
    progress(
        {
            "event": "done",
            "status": record.status,
            "id": record.id,
            "metrics": record.metrics,
            "error": record.error,
        }
    )
    return record


def _metric_pins(client: Any, metrics: list[str]) -> dict[str, str]:
    """The commit of each metric module the hub holds (``evaluate.load("accuracy")`` fetches the
    space ``evaluate-metric/accuracy``, ``evaluate.load("team/m")`` the space ``team/m``), so a
    record names the exact metric code and a reproduction loads the same. Names the hub does not
    hold (local paths, typos) are left to the notebook, which says why it cannot load them."""
    pins: dict[str, str] = {}
    for name in metrics:
        repo = metric_space_id(name)
        if not _REPO_ID.fullmatch(repo) or Path(name).exists():
            continue
        try:
            pins[name] = str(client.repo_info(repo, type="space")["sha"])
        except WorkbenchError:
            continue
    return pins


def _parameters(spec: EvalSpec, pins: dict[str, str], metric_pins: dict[str, str]) -> dict[str, Any]:
    if spec.reproduction_of is not None:  # exactly the record's parameters, with its pins
        return {
            "model": spec.model,
            "dataset": spec.dataset,
            **spec.parameters,
            "model_revision": pins["model_commit"],
            "dataset_revision": pins["dataset_commit"],
        }
    return {
        "model": spec.model,
        "dataset": spec.dataset,
        "split": spec.split,
        "metrics": list(spec.metrics),
        "model_revision": pins["model_commit"],
        "dataset_revision": pins["dataset_commit"],
        "metric_revisions": metric_pins,
        **spec.parameters,
    }


def _check_notebook(source: Path, parameters: dict[str, Any], spec: EvalSpec) -> dict[str, Any] | None:
    """A notebook without a parameters cell, or parameters it does not declare: a failed run."""
    try:
        nb = read_notebook(source)
    except InvalidRequest as exc:
        return _failure(exc.message, exc.code)
    declared = declared_parameters(nb)
    if declared is None:
        return _failure(
            f"{source.name} has no cell tagged 'parameters': tag the cell that "
            "defines model, dataset, split, metrics, ... (View > Cell Toolbar > "
            "Tags) so papermill can set them.",
            "NoParametersCell",
        )
    for key in AUTO_PARAMETERS:  # the runner's own keys: skipped if the notebook lacks them
        if key not in declared and key not in spec.parameters:
            parameters.pop(key, None)
    unknown = sorted(k for k in parameters if k not in declared)
    if unknown:
        return _failure(
            f"Unknown parameter(s) {', '.join(unknown)} for {source.name}; it "
            f"declares: {', '.join(sorted(declared))}.",
            "UnknownParameter",
        )
    return None


def _execute(
    source: Path,
    out: Path,
    parameters: dict[str, Any],
    spec: EvalSpec,
    kernel: Kernel,
    progress: Progress,
    started: float,
) -> dict[str, Any] | None:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from workbench.evals.engine import ENGINE, tracked

    deadline = started + spec.timeout if spec.timeout else None
    state = tracked(progress)

    def timeout_for(cell: Any) -> int | None:
        if deadline is None:
            return None
        return max(1, int(deadline - time.monotonic() + 0.999))

    try:
        papermill.execute_notebook(
            str(source),
            str(out),
            parameters=parameters,
            kernel_name=spec.kernel_name,
            engine_name=ENGINE,
            progress_bar=False,
            timeout_func=timeout_for,
            wb_progress=state,
            start_timeout=120,
            km=kernel.km,
        )
    except PapermillExecutionError:
        return None  # the failing cell is in the executed notebook
    except Exception as exc:  # any engine failure is a failed record
        index, cell_id = state.current
        name = type(exc).__name__
        if name == "CellTimeoutError" or isinstance(exc, TimeoutError):
            return _failure(
                f"Timed out: the run exceeded --timeout {spec.timeout:g} s in cell {index} ({cell_id}).",
                "Timeout",
                index,
                cell_id,
            )
        if name == "DeadKernelError":
            return _failure(
                f"The kernel died while running cell {index} ({cell_id}): {exc}", "DeadKernel", index, cell_id
            )
        return _failure(f"{name}: {exc}", name, index, cell_id)
    return None
