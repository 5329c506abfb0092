"""What every handler of the server extension shares: the extension app and the error shape.

Errors are answered as the hub answers them outside the HF protocol routes: ``X-Error-Code``
and ``{"error": {"code", "message"}}``, so the lab extension reads both the same way.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from jupyter_server.base.handlers import APIHandler

if TYPE_CHECKING:
    from workbench.jupyter.app import Workbench


class WorkbenchHandler(APIHandler):
    """Base of the extension's handlers (``self.workbench``, ``self.fail``)."""

    @property
    def workbench(self) -> Workbench:
        return self.settings["workbench"]  # type: ignore[no-any-return]

    def fail(self, status: int, code: str, message: str) -> None:
        """Finish the request with the error envelope."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.set_header("X-Error-Code", code)
        self.finish(json.dumps({"error": {"code": code, "message": message}}))
