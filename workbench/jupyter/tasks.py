"""Long work the lab starts on the Jupyter server (an evaluation run, a publish): each runs in
a worker thread and keeps its progress events here for the browser to poll.

A task answers ``{"id", "status", "request", "events" (from the N-th on), "next", "record"}``;
its ``status`` is ``queued``, ``running``, ``succeeded`` or ``failed``. Credentials stay in
this process: only events and the final record reach the browser.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import tornado.web

from workbench.errors import WorkbenchError
from workbench.jupyter.base import WorkbenchHandler

MAX_KEPT = 200


@dataclass
class UiTask:
    id: str
    request: dict[str, Any]
    status: str = "queued"  # queued | running | succeeded | failed
    events: list[dict[str, Any]] = field(default_factory=list)
    record: dict[str, Any] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def emit(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.events.append(json.loads(json.dumps(event, default=str)))

    def out(self, since: int) -> dict[str, Any]:
        with self.lock:
            return {
                "id": self.id,
                "status": self.status,
                "request": self.request,
                "events": self.events[since:],
                "next": len(self.events),
                "record": self.record,
            }


#: The work of one task: given the task (to emit events), its outcome: (ok, record).
Work = Callable[[UiTask], tuple[bool, dict[str, Any]]]


class Tasks:
    """The tasks of one kind this server started, run ``workers`` at a time."""

    def __init__(self, name: str, *, workers: int = 1, log: Any = None) -> None:
        self.name = name
        self.log = log
        self.items: dict[str, UiTask] = {}
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"workbench-{name}")

    def start(self, request: dict[str, Any], work: Work) -> UiTask:
        task = UiTask(uuid.uuid4().hex[:16], request)
        if len(self.items) >= MAX_KEPT:
            self.items.pop(next(iter(self.items)))
        self.items[task.id] = task
        self.pool.submit(self._run, task, work)
        return task

    def _run(self, task: UiTask, work: Work) -> None:
        with task.lock:
            task.status = "running"
        try:
            ok, record = work(task)
        except Exception as exc:  # the UI must still hear of a crash
            if self.log is not None:
                self.log.exception("Workbench %s task %s crashed", self.name, task.id)
            ok, record = False, {"id": None, "error": {"message": f"{exc.__class__.__name__}: {exc}"}}
        with task.lock:
            task.record, task.status = record, "succeeded" if ok else "failed"

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


class TaskStartHandler(WorkbenchHandler):
    """``POST``: start a task of ``self.workbench.<source>`` with the JSON body; 202 with it."""

    source: str  # the Workbench attribute holding the starter (``evals``, ``publishes``)
    doing: str  # what a refusal says could not be done ("start the evaluation")

    @tornado.web.authenticated
    async def post(self) -> None:
        try:
            body = json.loads(self.request.body or b"{}")
            if not isinstance(body, dict):
                raise ValueError("send a JSON object")
            task = getattr(self.workbench, self.source).start(body)
        except ValueError as exc:
            self.fail(400, "InvalidRequest", f"Cannot {self.doing}: {exc}.")
            return
        except WorkbenchError as exc:  # a rule of the request's own (a malformed repo id)
            self.fail(400, exc.code, f"Cannot {self.doing}: {exc.message}")
            return
        self.set_status(202)
        self.finish(json.dumps(task.out(0)))


class TaskHandler(WorkbenchHandler):
    """``GET .../<id>?since=N``: one task's status and events, from ``self.workbench.<source>``."""

    source: str  # as for TaskStartHandler
    kind: str  # what a task is called in the 404 ("evaluation run")
    code: str  # the error code of an unknown id (404)

    @tornado.web.authenticated
    async def get(self, task_id: str) -> None:
        tasks: Tasks = getattr(self.workbench, self.source).tasks
        task = tasks.items.get(task_id)
        if task is None:
            self.fail(
                404,
                self.code,
                f"No {self.kind} {task_id!r} was started by this JupyterLab server "
                f"({self.kind}s are kept until it restarts).",
            )
            return
        try:
            since = max(0, int(self.get_argument("since", "0")))
        except ValueError:
            self.fail(400, "InvalidRequest", "`since` must be a whole number.")
            return
        self.finish(json.dumps(task.out(since)))
