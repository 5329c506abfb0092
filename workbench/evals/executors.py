"""Where runs execute: ``local`` (a pool of processes, ``jobs`` at a time) or a Dask cluster.

Every run gets its own Python process (``python -m workbench.evals.executors``, spec on
stdin, JSON lines out: progress events, then the record), which starts its own kernel: parallel
runs share no kernel ports, no ``os.environ`` and no imported state. With ``dask://HOST:PORT``
the same function runs as a task on a ``dask.distributed`` cluster's workers. A runner keeps
spare processes that have started their kernel before a job comes (:func:`start_process`,
``spare_for=``); a spare runs one job, like any other run's process.

>>> records = run_many(specs, executor="local", jobs=2)                 # doctest: +SKIP
>>> records = run_many(specs, executor="dask://127.0.0.1:8786")         # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from workbench.errors import InvalidRequest
from workbench.evals.records import RunRecord
from workbench.evals.runner import EvalSpec

# progress(index of the spec, event)
ManyProgress = Callable[[int, dict[str, Any]], None]


def start_process(*, spare_for: str | None = None, session: bool = False) -> subprocess.Popen[str]:
    """Start a run's process (``python -m workbench.evals.executors``), which waits for its
    spec on stdin. ``spare_for``: a hub URL, for a spare that loads everything and starts its
    kernel (pointed at that hub, no token yet) before the spec comes, so that a runner's next
    job starts at once (:mod:`workbench.evals.spares`). ``session``: lead a process group of
    its own, so that :func:`end_process` can end it."""
    args = [sys.executable, "-m", "workbench.evals.executors"]
    if spare_for is not None:
        args += ["--spare", spare_for]
    return subprocess.Popen(
        args,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HF_UPDATE_DOWNLOAD_COUNTS": "0", "HF_HUB_DISABLE_TELEMETRY": "1"},
        start_new_session=session,
    )


def end_process(proc: subprocess.Popen[str], *, grace: float = 5.0) -> None:
    """End a run's process started with ``session=True`` and the kernel it started: SIGTERM
    (the process kills its kernel, which leads a process group of its own, and exits), then
    SIGKILL to its group after ``grace`` seconds."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        pass
    except OSError:
        proc.kill()
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            proc.kill()
        proc.wait()


def run_in_process(
    spec: dict[str, Any],
    progress: Callable[[dict[str, Any]], None] | None = None,
    *,
    started: Callable[[subprocess.Popen[str]], None] | None = None,
    process: subprocess.Popen[str] | None = None,
) -> dict[str, Any]:
    """Run one spec (``EvalSpec.to_dict()``) in a fresh Python process; return the record dict.

    Module-level, so a Dask worker can run it as a task; the record then names the worker.
    ``started``: given the process as soon as it runs, which is then the leader of its own
    process group, so that the caller can end the whole run with :func:`end_process`
    (``workbench runner`` does on a cancel or a stop). ``process``: a spare from
    :func:`start_process` to run in instead of a new one (one that died runs it in a new one).
    """
    worker = _dask_worker()
    if worker is not None:
        spec = {**spec, "executor": {**(spec.get("executor") or {}), "kind": "dask", "worker": worker}}
    proc = process or start_process(session=started is not None)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(json.dumps(spec))
        proc.stdin.close()
    except OSError:  # BrokenPipeError: the spare died
        if process is None:
            raise
        end_process(process)
        return run_in_process(spec, progress, started=started)
    if started is not None:
        started(proc)
    result: dict[str, Any] | None = None
    for line in proc.stdout:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if "progress" in message and progress is not None:
            progress(message["progress"])
        elif "record" in message:
            result = message["record"]
    stderr = proc.stderr.read() if proc.stderr else ""
    proc.wait()
    if result is None:
        error = {
            "cell_index": None,
            "cell_id": None,
            "ename": "RunnerDied",
            "message": f"The run's process exited with {proc.returncode} without a record: "
            f"{stderr.strip()[-800:]}",
        }
        result = {
            "model": spec["model"],
            "dataset": spec["dataset"],
            "split": spec["split"],
            "status": "failed",
            "metrics": {},
            "error": error,
            "id": None,
        }
    return result


def _dask_worker() -> str | None:
    """The address of the Dask worker running this task, or None outside a Dask task."""
    if "distributed" not in sys.modules:
        return None
    from distributed import get_worker

    try:
        return str(get_worker().address)
    except ValueError:  # not in a task
        return None


def _to_record(data: dict[str, Any]) -> RunRecord:
    path = data.pop("notebook_path", None)
    return RunRecord(
        data=data,
        notebook_path=Path(path) if path else None,
        id=data.get("id"),
        url=data.pop("url", None),
        published=data.pop("published", None),
    )


def run_many(
    specs: Sequence[EvalSpec], *, executor: str = "local", jobs: int = 1, progress: ManyProgress | None = None
) -> list[RunRecord]:
    """Run every spec; records come back in the order of ``specs``."""
    dicts = [s.to_dict() for s in specs]
    if executor == "local":
        if jobs < 1:
            raise InvalidRequest("--jobs must be at least 1.", code="InvalidJobs")

        def one(i: int) -> dict[str, Any]:
            return run_in_process(dicts[i], (lambda e: progress(i, e)) if progress else None)

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            return [_to_record(r) for r in pool.map(one, range(len(dicts)))]
    if executor.startswith("dask://"):
        return [_to_record(r) for r in _run_dask(executor[len("dask://") :], dicts, progress)]
    raise InvalidRequest(
        f"Unknown executor {executor!r}: use 'local' or 'dask://HOST:PORT'.", code="InvalidExecutor"
    )


def _run_dask(
    address: str, dicts: list[dict[str, Any]], progress: ManyProgress | None
) -> list[dict[str, Any]]:
    try:
        from distributed import Client
    except ImportError:
        raise InvalidRequest(
            "The dask executor needs dask.distributed: pip install 'workbench[notebook]'.",
            code="MissingDependency",
        ) from None
    with Client(f"tcp://{address}" if "://" not in address else address, timeout=30) as client:
        futures = client.map(
            run_in_process,
            dicts,
            pure=False,
            key=[f"workbench-eval-{i}-{os.urandom(4).hex()}" for i in range(len(dicts))],
        )
        results: list[dict[str, Any]] = client.gather(futures)
    if progress is not None:
        for i, r in enumerate(results):
            progress(
                i,
                {
                    "event": "done",
                    "status": r.get("status"),
                    "id": r.get("id"),
                    "metrics": r.get("metrics"),
                    "error": r.get("error"),
                },
            )
    return results


def _main(argv: list[str]) -> None:
    """Child process: spec JSON on stdin; progress events and the record as JSON lines.

    ``--spare URL``: first load everything and start the kernel, say so (``{"spare": ...}``),
    then wait for the spec; a spare whose kernel dies, or whose runner goes, exits."""
    from workbench.evals.kernels import kill_kernels, spare_kernel
    from workbench.evals.runner import run_evaluation

    def stop(signum: int, frame: Any) -> None:
        kill_kernels()
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    kernel = None
    if argv[:1] == ["--spare"]:
        kernel = spare_kernel(argv[1])
        print(json.dumps({"spare": {"pid": os.getpid(), "kernel": kernel.pid}}), flush=True)
        while not select.select([sys.stdin], [], [], 1.0)[0]:
            if not kernel.alive():
                kernel.close()
                sys.exit(3)
    text = sys.stdin.read()
    if not text.strip():  # the runner went away before giving a spec
        if kernel is not None:
            kernel.close()
        return
    spec = EvalSpec(**json.loads(text))

    def emit(event: dict[str, Any]) -> None:
        print(json.dumps({"progress": event}, default=str), flush=True)

    record = run_evaluation(spec, progress=emit, kernel=kernel)
    print(json.dumps({"record": record.to_dict()}, default=str), flush=True)
    sys.stderr.flush()
    # Nothing is left to clean up (the kernel is shut down, the notebook written), and the
    # interpreter's own teardown (ZeroMQ contexts, threads, modules) would hold the record back
    # from the runner, which waits for the process to end.
    os._exit(0)


if __name__ == "__main__":
    _main(sys.argv[1:])
