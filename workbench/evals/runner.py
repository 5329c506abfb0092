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
import signal
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import InvalidRequest, RepoNotFound, RevisionNotFound, WorkbenchError
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


def _kernel_environment(url: str, token: str | None) -> dict[str, str]:
    """The kernel's environment: this process's, pointed at the hub (``os.environ`` is left
    alone, so runs in threads of one process, as in the Jupyter server, never see each other's
    hub or token). The token goes to Workbench and to ``huggingface_hub`` (which reads
    ``HF_TOKEN`` at each call, and ``HF_ENDPOINT`` once, at import); without one, no token of
    this process's reaches the hub through them."""
    env = {
        **os.environ,
        "WORKBENCH_HUB_URL": url,
        "HF_ENDPOINT": url,
        "HF_UPDATE_DOWNLOAD_COUNTS": "0",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    for name in ("WORKBENCH_TOKEN", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        env.pop(name, None)
    if token:
        env["WORKBENCH_TOKEN"] = env["HF_TOKEN"] = token
    return env


class _Kernel:
    """A fresh kernel started before anything else, so that its start-up (a new Python process
    importing ipykernel, 1-2 s) overlaps pinning the repos and loading papermill; papermill
    then runs the notebook in it. Shut down immediately once the run is over: the executed
    notebook is already written.

    A runner's spare process starts one before any job is known, pointed at the hub but without
    a token (``token=None``); :meth:`hand_over` then gives it the job's token and folder. Either
    way a kernel runs one notebook, once."""

    def __init__(self, kernel_name: str, url: str, token: str | None, cwd: Path) -> None:
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        self.km: Any = None
        self.error: Exception | None = None
        self.kernel_name, self.url = kernel_name, url
        self.env = _kernel_environment(url, token)
        km = AsyncKernelManager(kernel_name=kernel_name)
        try:
            run_sync(km.start_kernel)(
                cwd=str(cwd), env=self.env, extra_arguments=["--HistoryManager.hist_file=:memory:"]
            )
        except Exception as exc:  # no such kernel, a kernel that cannot start: a failed run
            self.error = exc
            return
        self.km = km
        self._client: Any = None  # a spare's, connected while it waits: see wait_ready
        _LIVE.add(self)

    @property
    def pid(self) -> int | None:
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        return getattr(process, "pid", None)

    def alive(self) -> bool:
        from jupyter_core.utils import run_sync

        return self.km is not None and bool(run_sync(self.km.is_alive)())

    def wait_ready(self, timeout: float = 120) -> None:
        """Connect to the kernel and wait until it answers, so that :meth:`hand_over` has only
        its one request to make."""
        if self.km is None:
            return
        kc = self.km.blocking_client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=timeout)
        except Exception:
            kc.stop_channels()
            raise
        self._client = kc

    def hand_over(self, kernel_name: str, url: str, token: str | None, cwd: Path) -> bool:
        """Point a kernel started without a token at one run: the environment the run's own
        kernel would have had (``_kernel_environment``, the one rule) and the run's folder,
        set by a silent execution, which leaves no trace in the notebook, its outputs or the
        kernel's history. False (and nothing changed) when the kernel cannot take this run."""
        if kernel_name != self.kernel_name or url != self.url or not self.alive():
            return False
        wanted = _kernel_environment(url, token)
        changed = {k: v for k, v in wanted.items() if self.env.get(k) != v}
        removed = sorted(set(self.env) - set(wanted))
        code = (
            f"(lambda os: (os.environ.update({changed!r}), [os.environ.pop(k, None) for k in {removed!r}],"
            f" os.chdir({str(cwd)!r})))(__import__('os'))"
        )
        kc, self._client = self._client, None
        try:
            if kc is None:
                kc = self.km.blocking_client()
                kc.start_channels()
                kc.wait_for_ready(timeout=60)
            reply = kc.execute(code, silent=True, store_history=False, reply=True, timeout=60)
        except Exception:
            log.debug("kernel hand-over failed", exc_info=True)
            return False
        finally:
            if kc is not None:
                kc.stop_channels()
        if reply["content"].get("status") != "ok":
            return False
        self.env = wanted
        return True

    def close(self) -> None:
        _LIVE.discard(self)
        if self._client is not None:
            self._client.stop_channels()
            self._client = None
        if self.km is None:
            return
        from jupyter_core.utils import run_sync

        km, self.km = self.km, None
        try:
            if run_sync(km.is_alive)():
                run_sync(km.shutdown_kernel)(now=True)  # also closes its sockets and channels
                return
        except Exception:
            log.debug("kernel shutdown failed", exc_info=True)
        try:  # a kernel that died mid-run (or would not stop): release what is left
            run_sync(km.cleanup_resources)()
        except Exception:
            log.debug("kernel cleanup failed", exc_info=True)


_LIVE: set[_Kernel] = set()


def kill_kernels() -> None:
    """Kill every kernel this process started (each leads its own process group); for a run's
    process told to stop, which must not leave its kernel behind."""
    for kernel in list(_LIVE):
        pid = kernel.pid
        try:
            if pid is not None:
                os.killpg(pid, signal.SIGKILL)
            kernel.km.cleanup_connection_file()
        except (OSError, AttributeError):
            pass


def spare_kernel(url: str, *, kernel_name: str = "python3") -> _Kernel:
    """A kernel for a run not known yet (a runner's spare process): started now, pointed at
    ``url`` without a token; :func:`run_evaluation` hands it over with ``kernel=``. Also loads
    what a run needs (papermill, the engine), so that the run starts with nothing to import.

    >>> kernel = spare_kernel("http://hub:8000")                    # doctest: +SKIP
    >>> run_evaluation(spec, kernel=kernel)                         # doctest: +SKIP
    """
    import papermill  # noqa: F401

    import workbench.client
    import workbench.evals.engine  # noqa: F401

    kernel = _Kernel(kernel_name, url, None, Path.cwd())
    try:
        kernel.wait_ready()
    except Exception:  # hand_over finds it dead, and the run starts a kernel of its own
        log.debug("spare kernel not ready", exc_info=True)
    return kernel


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
    spec: EvalSpec, *, progress: Progress | None = None, client: Any = None, kernel: _Kernel | None = None
) -> RunRecord:
    """Run ``spec`` and return its record (stored on the hub unless ``spec.upload`` is off).

    Failures are records too (``status == "failed"``, ``error`` says where and why); only a
    run whose model or dataset cannot be resolved is not stored (the hub could not attach it
    to them): its record stays local, as ``<notebook_path stem>.record.json`` next to
    ``notebook_path``. ``kernel``: a :func:`spare_kernel` to run in, when it fits this run
    (same hub and kernel name, still alive); else, and always after, it is shut down.
    """
    from workbench.client import HubClient

    own = client is None
    client = client or HubClient(spec.hub_url, spec.token, progress=False)
    try:
        return _run(spec, client, progress or (lambda event: None), kernel)
    finally:
        if own:
            client.close()


def _run(spec: EvalSpec, client: Any, progress: Progress, spare: _Kernel | None) -> RunRecord:
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
        kernel = _Kernel(spec.kernel_name, client.url, client.token, run_dir)
    try:
        return _pinned_run(spec, client, progress, started, source, out, kernel)
    finally:
        kernel.close()


def _pinned_run(
    spec: EvalSpec, client: Any, progress: Progress, started: float, source: Path, out: Path, kernel: _Kernel
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
    kernel: _Kernel,
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
