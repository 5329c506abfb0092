"""The kernel a run executes in: started fresh for one run, and shut down after it.

Its environment points the notebook at the hub with the run's token (``_kernel_environment``:
the one rule for it). A runner's spare process starts one before any job exists, pointed at the
hub without a token (:func:`spare_kernel`), and hands it the job's token and folder when the
job comes (:meth:`Kernel.hand_over`).

>>> kernel = spare_kernel("http://hub:8000")                            # doctest: +SKIP
>>> kernel.hand_over("python3", "http://hub:8000", token, run_dir)      # doctest: +SKIP
True
"""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


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


class Kernel:
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
        self._client: Any = None  # a spare's, connected while it waits: see wait_ready
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


_LIVE: set[Kernel] = set()


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


def spare_kernel(url: str, *, kernel_name: str = "python3") -> Kernel:
    """A kernel for a run not known yet (a runner's spare process): started now, pointed at
    ``url`` without a token, and answering; ``run_evaluation(spec, kernel=...)`` hands it over.
    Also loads what a run needs (papermill, the engine), so that the run imports nothing.

    >>> kernel = spare_kernel("http://hub:8000")                    # doctest: +SKIP
    >>> run_evaluation(spec, kernel=kernel)                         # doctest: +SKIP
    """
    import papermill  # noqa: F401

    import workbench.client
    import workbench.evals.engine  # noqa: F401

    kernel = Kernel(kernel_name, url, None, Path.cwd())
    try:
        kernel.wait_ready()
    except Exception:  # hand_over finds it dead, and the run starts a kernel of its own
        log.debug("spare kernel not ready", exc_info=True)
    return kernel
