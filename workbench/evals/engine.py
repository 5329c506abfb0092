"""A papermill engine that reports per-cell progress to the runner.

papermill's own engine already stamps every cell with start, end, duration and status (the
record's timings come from there); this one also calls a callback as each cell starts and
ends, for the terminal's progress display and the JupyterLab UI.

>>> papermill.execute_notebook(src, out, engine_name=ENGINE, wb_progress=tracked(print))  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.log import logger
from papermill.utils import merge_kwargs, remove_args

ENGINE = "workbench"


def cell_name(cell: Any) -> str:
    """What to call a cell in a progress display: its ``parameters``/``injected-parameters``
    tag, else its first line of text without comment marks (at most 80 characters)."""
    tags = (cell.get("metadata") or {}).get("tags") or []
    for tag in ("injected-parameters", "parameters"):
        if tag in tags:
            return tag
    source = cell.get("source") or ""
    source = "".join(source) if isinstance(source, list) else source
    for line in source.splitlines():
        text = line.strip().lstrip("#").strip()
        if text:
            return text[:80]
    return ""


class CellTracker:
    """Which cell runs now, and the callback to tell about it."""

    def __init__(self, callback: Callable[[dict[str, Any]], None]) -> None:
        self.callback = callback
        self.current: tuple[int | None, str | None] = (None, None)
        self.started = 0.0

    def start(self, cell: Any, index: int, total: int) -> None:
        self.current = (index, cell.get("id"))
        self.started = time.monotonic()
        if cell.get("cell_type") == "code":
            self.callback(
                {
                    "event": "cell_start",
                    "index": index,
                    "total": total,
                    "id": cell.get("id"),
                    "name": cell_name(cell),
                }
            )

    def complete(self, cell: Any, index: int, total: int) -> None:
        if cell.get("cell_type") == "code":
            status = (cell.get("metadata", {}).get("papermill") or {}).get("status")
            self.callback(
                {
                    "event": "cell_complete",
                    "index": index,
                    "total": total,
                    "id": cell.get("id"),
                    "status": status,
                    "duration": round(time.monotonic() - self.started, 3),
                }
            )


def tracked(callback: Callable[[dict[str, Any]], None]) -> CellTracker:
    return CellTracker(callback)


class WorkbenchEngine(NBClientEngine):
    """papermill's nbclient engine, with progress callbacks, and able to run in a kernel the
    runner started itself (``km=``; see ``kernels.Kernel``): the kernel client's channels are
    then closed here, since nbclient leaves them open for a kernel it does not own."""

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: Any,
        kernel_name: str,
        log_output: bool = False,
        stdout_file: Any = None,
        stderr_file: Any = None,
        start_timeout: int = 60,
        execution_timeout: int | None = None,
        **kwargs: Any,
    ) -> Any:
        tracker: CellTracker | None = kwargs.pop("wb_progress", None)
        if tracker is not None:
            total = len(nb_man.nb.cells)
            start, complete = nb_man.cell_start, nb_man.cell_complete

            def cell_start(cell: Any, cell_index: int | None = None, **kw: Any) -> Any:
                tracker.start(cell, cell_index or 0, total)
                return start(cell, cell_index, **kw)

            def cell_complete(cell: Any, cell_index: int | None = None, **kw: Any) -> Any:
                result = complete(cell, cell_index, **kw)
                tracker.complete(cell, cell_index or 0, total)
                return result

            nb_man.cell_start, nb_man.cell_complete = cell_start, cell_complete
        # the arguments as NBClientEngine.execute_managed_notebook passes them on
        kwargs = remove_args(["input_path"], **kwargs)
        final_kwargs = merge_kwargs(
            remove_args(["timeout", "startup_timeout"], **kwargs),
            timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log=logger,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
        )
        client = PapermillNotebookClient(nb_man, **final_kwargs)
        try:
            return client.execute()
        finally:
            if not client.owns_km and client.kc is not None:
                client.kc.stop_channels()
                client.kc = None


papermill_engines.register(ENGINE, WorkbenchEngine)
