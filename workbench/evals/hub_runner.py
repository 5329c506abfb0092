"""``workbench runner``: a long-lived process that runs the hub's evaluation jobs.

It leases a job (long-polling the hub, so an idle runner picks a job up as soon as it is
queued), renews the lease from a heartbeat thread, runs the job's pinned evaluation in a fresh
process and kernel (:func:`workbench.evals.executors.run_in_process`, or as a task on a Dask
cluster) with the job's short-lived read token (the local executor keeps a spare process per
job slot with its kernel already started, :mod:`workbench.evals.spares`, so that a job starts
at once; each spare runs one job), which reads the job's pinned repos and
nothing else, streams per-cell progress to the hub, and posts the record, which the hub
stores ``verified`` with this runner's name. A job whose pins no longer resolve fails with
the reason and posts nothing; one past its timeout posts a failed record that says so; a job
the owner cancels (the heartbeat says the job is no longer ours) is stopped and its result
dropped. SIGTERM (or Ctrl-C) stops leasing, stops the running jobs and hands them back to the
queue. A runner killed outright stops renewing: once the lease expires another runner leases
the job again, and the hub takes a record only from the runner holding the lease, so one job
never gets two records.

>>> HubRunner("http://hub:8000", "wbr_...", max_jobs=2).serve()           # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from workbench.client import HubClient
from workbench.client import runners as api
from workbench.errors import Conflict, InvalidRequest, WorkbenchError
from workbench.evals.executors import end_process, run_in_process
from workbench.evals.reproduce import rerun_spec
from workbench.evals.runner import EvalSpec
from workbench.evals.spares import Spares

log = logging.getLogger(__name__)

EXECUTORS = ("local", "dask")
LEASE_WAIT = 5.0  # seconds one lease request waits for a job (the hub answers at once when one comes)
KILL_GRACE = 60.0  # past the job's timeout, the run's process is killed (papermill ends it first)
MAX_EVENTS = 100  # per post (the hub takes up to 200)
# Where a run that could not pin its repos says so: the job fails, nothing is posted.
UNRESOLVED = ("RepoNotFound", "RevisionNotFound")


class HubRunner:
    """Lease and run jobs until :meth:`stop` (or SIGTERM under :meth:`serve`)."""

    def __init__(
        self,
        hub: str,
        token: str,
        *,
        name: str | None = None,
        executor: str = "local",
        dask_scheduler: str | None = None,
        max_jobs: int = 1,
        output_dir: str | None = None,
        labels: list[str] | None = None,
        spares: bool = True,
    ) -> None:
        if executor not in EXECUTORS:
            raise InvalidRequest(f"Unknown executor {executor!r}: use local or dask.", code="InvalidExecutor")
        if executor == "dask" and not dask_scheduler:
            raise InvalidRequest("--executor dask needs --dask-scheduler HOST:PORT.", code="InvalidExecutor")
        if max_jobs < 1:
            raise InvalidRequest("--max-jobs must be at least 1.", code="InvalidJobs")
        self.client = HubClient(hub, token, progress=False)
        self.name = name
        self.executor = executor
        self.dask_scheduler = dask_scheduler
        self.max_jobs = max_jobs
        self.output_dir = output_dir
        self.labels = labels
        self._stop = threading.Event()
        self._slots = threading.Semaphore(max_jobs)
        self._threads: list[threading.Thread] = []
        self._procs: dict[int, subprocess.Popen[str]] = {}
        self._lock = threading.Lock()
        # A spare holds a process and an idle kernel per job slot; without them a job starts
        # its process and kernel after the lease, which costs the wait but no idle memory.
        self._spares = Spares(self.client.url, max_jobs) if executor == "local" and spares else None

    # -- the loop ------------------------------------------------------------------------

    def serve(self) -> None:
        """Run until SIGTERM or SIGINT; then hand the running jobs back and return."""

        def stop(signum: int, frame: Any) -> None:
            log.info("runner: signal %d, stopping", signum)
            self.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.run()

    def run(self) -> None:
        log.info(
            "runner %s: serving %s (%s, %d at a time)",
            self.name or "",
            self.client.url,
            self.executor,
            self.max_jobs,
        )
        while not self._stop.is_set():
            if self._spares is not None:
                self._spares.fill()
            if not self._slots.acquire(timeout=0.5):
                continue
            try:
                leased = api.lease(self.client, wait=LEASE_WAIT, labels=self.labels)
            except WorkbenchError as exc:
                self._slots.release()
                log.warning("runner: leasing failed: %s", exc)
                self._stop.wait(2)
                continue
            if leased is None or self._stop.is_set():
                if leased is not None:
                    self._release(leased)
                self._slots.release()
                continue
            t = threading.Thread(
                target=self._job, args=(leased,), name=f"wb-runner-job-{leased['job']['id']}"
            )
            t.start()
            self._threads = [x for x in self._threads if x.is_alive()] + [t]
        if self._spares is not None:  # here, not in stop(): a signal handler must not wait on its lock
            self._spares.close()
        for t in self._threads:
            t.join(30)
        self.client.close()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            procs = list(self._procs.values())
        for proc in procs:
            end_process(proc)

    # -- one job -------------------------------------------------------------------------

    def _job(self, leased: dict[str, Any]) -> None:
        job_id, lease_id = int(leased["job"]["id"]), str(leased["lease"])
        lost = threading.Event()
        done = threading.Event()
        beat = threading.Thread(
            target=self._beat,
            args=(job_id, lease_id, float(leased["lease_seconds"]), lost, done),
            daemon=True,
        )
        beat.start()
        try:
            self._run_job(leased, job_id, lease_id, lost)
        except Exception as exc:  # anything left: the job fails with it, the runner goes on
            log.exception("runner: job %s failed", job_id)
            self._report_failure(job_id, lease_id, f"The runner failed: {type(exc).__name__}: {exc}")
        finally:
            done.set()
            self._slots.release()

    def _beat(
        self, job_id: int, lease_id: str, lease_seconds: float, lost: threading.Event, done: threading.Event
    ) -> None:
        while not done.wait(lease_seconds / 3):
            try:
                held = api.heartbeat(self.client, job_id, lease_id)
            except WorkbenchError as exc:
                log.warning("runner: heartbeat of job %s failed: %s", job_id, exc)
                continue
            if not held:
                log.info("runner: job %s is no longer ours (cancelled or re-leased); stopping it", job_id)
                lost.set()
                with self._lock:
                    proc = self._procs.get(job_id)
                if proc is not None:
                    end_process(proc)
                return

    def _run_job(self, leased: dict[str, Any], job_id: int, lease_id: str, lost: threading.Event) -> None:
        spec = leased["spec"]
        timeout = leased["job"].get("timeout")

        with tempfile.TemporaryDirectory(prefix="wb-runner-") as tmp:
            try:
                eval_spec = self._spec(spec, leased["read_token"], timeout, Path(tmp))
            except WorkbenchError as exc:  # the original record or its notebook is gone
                self._report_failure(job_id, lease_id, exc.message)
                return
            events = _Events(self.client, job_id, lease_id, lambda: lost.is_set() or self._stop.is_set())
            try:
                result = self._execute(job_id, eval_spec, events.add, timeout)
            finally:
                events.close()  # every event is in before the record
            if self._stop.is_set() and not lost.is_set():
                self._release({"job": {"id": job_id}, "lease": lease_id})
                return
            if lost.is_set():
                return
            error = result.get("error") or {}
            if result.get("model_commit") is None or error.get("ename") in UNRESOLVED:
                self._report_failure(
                    job_id,
                    lease_id,
                    f"The job's pins no longer resolve: {error.get('message') or 'no record'}",
                )
                return
            body = {k: v for k, v in result.items() if k not in ("id", "url", "notebook_path", "published")}
            path = result.get("notebook_path")
            if path and Path(path).is_file():
                body["notebook"] = Path(path).read_text(encoding="utf-8")
            try:
                stored = api.complete(self.client, job_id, lease_id, body)
                log.info("runner: job %s -> record %s (%s)", job_id, stored["id"], stored["status"])
            except Conflict as exc:
                log.info("runner: result of job %s dropped: %s", job_id, exc.message)

    def _spec(self, spec: dict[str, Any], read_token: str, timeout: float | None, tmp: Path) -> EvalSpec:
        common: dict[str, Any] = {
            "timeout": timeout,
            "hub_url": self.client.url,
            "token": read_token,
            "output_dir": self.output_dir or str(tmp / "out"),
            "upload": False,
            "executor": {"kind": f"runner-{self.executor}", "runner": self.name},
        }
        if spec.get("reproduction_of"):
            with HubClient(self.client.url, read_token, progress=False) as reader:
                original = reader.eval_run(spec["reproduction_of"])
                executed = reader.eval_notebook(spec["reproduction_of"])
            return rerun_spec(original, executed, tmp, **common)
        notebook = None
        if spec.get("notebook"):
            path = tmp / Path(spec["notebook"]["name"]).name
            path.write_text(spec["notebook"]["content"], encoding="utf-8")
            notebook = str(path)
        return EvalSpec(
            spec["model"],
            spec["dataset"],
            metrics=list(spec.get("metrics") or ["accuracy"]),
            split=spec.get("split") or "test",
            notebook=notebook,
            parameters=dict(spec.get("parameters") or {}),
            model_revision=spec["model_commit"],
            dataset_revision=spec["dataset_commit"],
            **common,
        )

    def _execute(self, job_id: int, spec: EvalSpec, progress: Any, timeout: float | None) -> dict[str, Any]:
        if self.executor == "dask":
            from distributed import Client

            address = self.dask_scheduler or ""
            with Client(address if "://" in address else f"tcp://{address}", timeout=30) as dask:
                result: dict[str, Any] = dask.submit(run_in_process, spec.to_dict(), pure=False).result()
                return result

        timers: list[threading.Timer] = []

        def started(proc: subprocess.Popen[str]) -> None:
            with self._lock:
                self._procs[job_id] = proc
            if timeout:  # papermill ends a run past its timeout; this ends one that hangs anyway
                timer = threading.Timer(timeout + KILL_GRACE, end_process, args=(proc,))
                timer.daemon = True
                timer.start()
                timers.append(timer)

        try:
            spare = self._spares.take() if self._spares is not None else None
            return run_in_process(spec.to_dict(), progress, started=started, process=spare)
        finally:
            for timer in timers:
                timer.cancel()
            with self._lock:
                self._procs.pop(job_id, None)

    def _report_failure(self, job_id: int, lease_id: str, reason: str) -> None:
        try:
            api.fail(self.client, job_id, lease_id, reason)
        except WorkbenchError as exc:
            log.info("runner: failure of job %s not recorded: %s", job_id, exc)

    def _release(self, leased: dict[str, Any]) -> None:
        try:
            api.release(self.client, int(leased["job"]["id"]), str(leased["lease"]))
        except WorkbenchError as exc:
            log.info("runner: job %s not handed back: %s", leased["job"]["id"], exc)


class _Events:
    """A job's progress events, posted from a thread of their own: the run never waits on the
    hub, and the events that come while one post is on its way go together in the next."""

    def __init__(self, client: HubClient, job_id: int, lease_id: str, muted: Any) -> None:
        self.client, self.job_id, self.lease_id, self.muted = client, job_id, lease_id, muted
        self._pending: list[dict[str, Any]] = []
        self._closed = False
        self._ready = threading.Condition()
        self._thread = threading.Thread(target=self._post, name=f"wb-runner-events-{job_id}", daemon=True)
        self._thread.start()

    def add(self, event: dict[str, Any]) -> None:
        stamped = {**json.loads(json.dumps(event, default=str)), "at": round(time.time(), 3)}
        with self._ready:
            self._pending.append(stamped)
            self._ready.notify()

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify()
        self._thread.join(60)

    def _post(self) -> None:
        while True:
            with self._ready:
                while not self._pending and not self._closed:
                    self._ready.wait()
                if not self._pending:
                    return
                batch, self._pending = self._pending[:MAX_EVENTS], self._pending[MAX_EVENTS:]
            if self.muted():
                continue
            try:
                api.post_events(self.client, self.job_id, self.lease_id, batch)
            except WorkbenchError as exc:
                log.debug("runner: progress of job %s not posted: %s", self.job_id, exc)
