"""Publish a file or folder of the Jupyter server's tree to a hub repo, from the lab's file
browser ("Publish to Workbench…"), as one commit, with progress.

``POST /workbench/publish`` with ``{"path", "repo", "type"?, "create"?, "private"?,
"message"?}`` answers ``{"id", ...}`` at once; ``GET /workbench/publish/<id>?since=N`` answers
the task (:mod:`workbench.jupyter.tasks`): events ``{"event": "upload", "done", "total"}`` as
bytes go, and a record ``{"repo", "type", "commit", "url", "files"}``. ``path`` is relative to
the server's root folder and must stay inside it; a folder's files land at the repo's root.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.client import HubClient
from workbench.errors import WorkbenchError
from workbench.jupyter.tasks import TaskHandler, Tasks, TaskStartHandler, UiTask
from workbench.names import REPO_TYPES, split_repo_id

if TYPE_CHECKING:
    from workbench.jupyter.app import Workbench


class Publishes:
    """Uploads this server started, one at a time (each already streams its files)."""

    def __init__(self, app: Workbench) -> None:
        self.app = app
        self.tasks = Tasks("publish", workers=1, log=app.log)

    def root(self) -> Path:
        server = self.app.serverapp
        return Path(server.root_dir if server is not None else ".").expanduser().resolve()

    def source(self, path: str) -> Path:
        """The file or folder ``path`` names under the server's root (never outside it)."""
        root = self.root()
        if not path.strip() or Path(path).is_absolute():
            raise ValueError("`path` is a file or folder relative to the JupyterLab root")
        target = (root / path).resolve()
        if target != root and root not in target.parents:
            raise ValueError(f"{path!r} is outside the JupyterLab root folder")
        if not target.exists():
            raise ValueError(f"{path!r} does not exist")
        return target

    def start(self, body: dict[str, Any]) -> UiTask:
        path, repo = body.get("path"), body.get("repo")
        kind = body.get("type", "model")
        if not isinstance(path, str) or not isinstance(repo, str):
            raise ValueError("send `path` (a file or folder) and `repo` (namespace/name)")
        if kind not in REPO_TYPES or kind == "paper":
            raise ValueError("`type` is model, dataset or space")
        split_repo_id(repo)  # a clear error for a malformed id, before any work
        message = body.get("message") or f"Publish {Path(path).name} from JupyterLab"
        if not isinstance(message, str):
            raise ValueError("`message` is a string")
        source = self.source(path)
        request = {
            "path": path,
            "repo": repo,
            "type": kind,
            "create": bool(body.get("create", True)),
            "private": bool(body.get("private", False)),
            "message": message,
        }
        return self.tasks.start(request, lambda task: self._work(task, source))

    def _work(self, task: UiTask, source: Path) -> tuple[bool, dict[str, Any]]:
        r = task.request

        def progress(what: str, done: int, total: int | None) -> None:
            task.emit({"event": "upload", "step": what, "done": done, "total": total})

        with HubClient(self.app.configured_url, self.app.hub_token_for_runs or None, progress=progress) as c:
            try:
                return True, self._upload(c, r, source)
            except WorkbenchError as exc:  # the hub refused (a repo not yours, a quota): say so
                return False, {"repo": r["repo"], "error": {"code": exc.code, "message": exc.message}}

    @staticmethod
    def _upload(c: HubClient, r: dict[str, Any], source: Path) -> dict[str, Any]:
        if r["create"]:
            c.create_repo(r["repo"], type=r["type"], private=r["private"], exist_ok=True)
        paths = {"": source} if source.is_dir() else {source.name: source}
        result = c.upload(r["repo"], paths, type=r["type"], message=r["message"])
        return {
            "repo": r["repo"],
            "type": r["type"],
            "commit": result.get("commitOid"),
            "url": c.repo_url(r["repo"], type=r["type"]),
            "files": c.last_transfer_stats.get("files", 0),
            "unchanged": bool(result.get("noop")),
        }

    def close(self) -> None:
        self.tasks.close()


class PublishHandler(TaskStartHandler):
    source = "publishes"
    doing = "publish"


class PublishTaskHandler(TaskHandler):
    source = "publishes"
    kind = "publish"
    code = "PublishNotFound"
