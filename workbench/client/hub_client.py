"""``HubClient``: repos, files, history and refs of a Workbench hub over HTTP.

Errors come back as the classes of :mod:`workbench.errors`, chosen by the hub's
``X-Error-Code`` header, so ``except RepoNotFound`` works the same on both sides.
The HTTP layer is :mod:`workbench.client.http`; transfers live in
:mod:`workbench.client.upload` and :mod:`workbench.client.download`.

>>> hub = HubClient("http://127.0.0.1:8765", token="wb_...")     # doctest: +SKIP
>>> hub.create_repo("me/tiny", exist_ok=True)                      # doctest: +SKIP
'http://127.0.0.1:8765/me/tiny'
>>> hub.upload("me/tiny", ["config.json", "weights/"], message="First weights")  # doctest: +SKIP
{'commitOid': '3f2a...', 'commitUrl': 'http://127.0.0.1:8765/me/tiny/commit/3f2a...', ...}
>>> hub.download("me/tiny", local_dir="tiny")                     # doctest: +SKIP
[PosixPath('tiny/config.json'), PosixPath('tiny/weights/model.safetensors')]
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from workbench.client import collab, download, evals, search, teams, upload
from workbench.client.http import HubHTTP
from workbench.client.progress import ProgressCallback
from workbench.config import UserConfig
from workbench.errors import Conflict, InvalidRequest, RepoNotFound

REPO_TYPES = ("model", "dataset", "space", "paper")
_PLURAL = {"model": "models", "dataset": "datasets", "space": "spaces", "paper": "papers"}
_WEB_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/", "paper": "papers/"}


class HubClient(HubHTTP):
    """A connection to one hub; use it as a context manager or call ``close()``.

    ``url`` defaults to ``WORKBENCH_HUB_URL``, then the saved login's hub; ``token`` to the
    one that belongs to that hub (:meth:`workbench.config.UserConfig.resolve`): a saved
    token is never sent to another hub.
    """

    def __init__(
        self, url: str | None = None, token: str | None = None, *, progress: bool | ProgressCallback = True
    ) -> None:
        super().__init__(*UserConfig.load().resolve(url, token))
        self.progress = progress
        #: What the last upload or download moved: bytes_uploaded, files_skipped, ...
        self.last_transfer_stats: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"HubClient({self.url!r})"

    # -- URL shapes ---------------------------------------------------------------------------

    @staticmethod
    def _check_type(repo_type: str) -> str:
        if repo_type not in REPO_TYPES:
            raise InvalidRequest(
                f"Invalid repo type {repo_type!r}: use one of {', '.join(REPO_TYPES)}.",
                code="InvalidRepoType",
            )
        return repo_type

    @classmethod
    def _split(cls, repo_id: str, repo_type: str) -> tuple[str, str]:
        cls._check_type(repo_type)
        parts = repo_id.split("/") if isinstance(repo_id, str) else []
        if len(parts) != 2 or not all(parts):
            raise InvalidRequest(
                f"Invalid repo id {repo_id!r}: expected 'namespace/name'.", code="InvalidRepoId"
            )
        return parts[0], parts[1]

    def api_path(self, repo_id: str, repo_type: str, *rest: str) -> str:
        """``/api/{types}/{ns}/{name}[/rest...]`` (``rest`` already encoded)."""
        ns, name = self._split(repo_id, repo_type)
        base = f"/api/{_PLURAL[repo_type]}/{quote(ns, safe='')}/{quote(name, safe='')}"
        return "/".join((base, *rest))

    def web_path(self, repo_id: str, repo_type: str, *rest: str) -> str:
        """``/{prefix}{ns}/{name}[/rest...]``: git-LFS and /resolve URLs."""
        ns, name = self._split(repo_id, repo_type)
        base = f"/{_WEB_PREFIX[repo_type]}{quote(ns, safe='')}/{quote(name, safe='')}"
        return "/".join((base, *rest))

    def repo_url(self, repo_id: str, *, type: str = "model") -> str:
        """The web URL of a repo, as the hub returns it."""
        return self.url + self.web_path(repo_id, type)

    # -- identity and repos -------------------------------------------------------------------

    def whoami(self) -> dict[str, Any]:
        """Who the token belongs to: ``{"name", "orgs", "isAdmin", ...}``."""
        result: dict[str, Any] = self.request("GET", "/api/whoami-v2").json()
        return result

    def create_repo(
        self, repo_id: str, *, type: str = "model", private: bool = False, exist_ok: bool = False
    ) -> str:
        """Create a repo and return its URL (an existing one is fine with ``exist_ok``)."""
        ns, name = self._split(repo_id, type)
        body = {
            "name": name,
            "organization": ns,
            "type": type,
            "visibility": "private" if private else "public",
        }
        try:
            url: str = self.request("POST", "/api/repos/create", json=body).json()["url"]
        except Conflict:
            if not exist_ok:
                raise
            return self.repo_url(repo_id, type=type)
        return url

    def delete_repo(self, repo_id: str, *, type: str = "model", missing_ok: bool = False) -> None:
        """Delete a repo with all its history (a missing one is fine with ``missing_ok``)."""
        ns, name = self._split(repo_id, type)
        try:
            self.request("DELETE", "/api/repos/delete", json={"name": name, "organization": ns, "type": type})
        except RepoNotFound:
            if not missing_ok:
                raise

    def repo_info(
        self, repo_id: str, *, type: str = "model", revision: str | None = None, files_metadata: bool = False
    ) -> dict[str, Any]:
        """Repo info at a revision (``sha`` is its commit; ``siblings`` lists the files)."""
        path = (
            self.api_path(repo_id, type)
            if revision is None
            else self.api_path(repo_id, type, "revision", quote(revision, safe=""))
        )
        if files_metadata:
            return self.request("GET", path, params={"blobs": "true"}).json()  # type: ignore[no-any-return]
        result: dict[str, Any] = self.get_json(path)
        return result

    def list_repos(
        self,
        *,
        type: str = "model",
        search: str | None = None,
        author: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Repos visible to the caller (all pages, or at most ``limit``)."""
        self._check_type(type)
        params = {
            k: v for k, v in (("search", search), ("author", author), ("limit", limit)) if v is not None
        }
        return self.paginate(f"/api/{_PLURAL[type]}", params, limit)

    # -- files and history --------------------------------------------------------------------

    def list_files(
        self, repo_id: str, *, type: str = "model", revision: str = "main"
    ) -> list[dict[str, Any]]:
        """Every file at a revision: ``{"path", "size", "oid", "lfs"?}`` (folders left out)."""
        path = self.api_path(repo_id, type, "tree", quote(revision, safe=""))
        entries = self.paginate(path, {"recursive": "true", "expand": "false"})
        return [e for e in entries if e.get("type") == "file"]

    def log(
        self, repo_id: str, *, type: str = "model", revision: str = "main", limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Commits reachable from ``revision``, newest first: ``{"id", "title", "date", ...}``."""
        path = self.api_path(repo_id, type, "commits", quote(revision, safe=""))
        params = {"limit": min(limit, 1000)} if limit else None
        return self.paginate(path, params, limit)

    def compare(self, repo_id: str, base: str, head: str, *, type: str = "model") -> dict[str, Any]:
        """Files added, removed or modified from ``base`` to ``head``."""
        path = self.api_path(repo_id, type, "compare", quote(base, safe=""), quote(head, safe=""))
        result: dict[str, Any] = self.request("GET", path).json()
        return result

    def upload(
        self,
        repo_id: str,
        paths: Sequence[str | Path] | Mapping[str, str | Path | bytes] | str | Path,
        *,
        type: str = "model",
        revision: str = "main",
        message: str | None = None,
        description: str = "",
        parent_commit: str | None = None,
    ) -> dict[str, Any]:
        """Commit local files and folders (or ``{path_in_repo: path | bytes}``) in one commit."""
        self._split(repo_id, type)
        return upload.upload(
            self,
            repo_id,
            paths,
            repo_type=type,
            revision=revision,
            message=message,
            description=description,
            parent_commit=parent_commit,
        )

    def delete_files(
        self,
        repo_id: str,
        paths: Sequence[str],
        *,
        type: str = "model",
        revision: str = "main",
        message: str | None = None,
        parent_commit: str | None = None,
    ) -> dict[str, Any]:
        """Delete files (and folders: paths ending in ``/``) in one commit."""
        if isinstance(paths, str):
            paths = [paths]
        lines: list[dict[str, Any]] = [
            {
                "key": "header",
                "value": upload.commit_header(
                    message or f"Delete {', '.join(paths[:3])}{' ...' if len(paths) > 3 else ''}",
                    "",
                    parent_commit,
                ),
            }
        ]
        for p in paths:
            key = "deletedFolder" if p.endswith("/") else "deletedFile"
            lines.append({"key": key, "value": {"path": p}})
        body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
        path = self.api_path(repo_id, type, "commit", quote(revision, safe=""))
        result: dict[str, Any] = self.request(
            "POST", path, content=body, headers={"Content-Type": "application/x-ndjson"}
        ).json()
        return result

    def download(
        self,
        repo_id: str,
        filenames: Sequence[str] | None = None,
        *,
        type: str = "model",
        revision: str = "main",
        local_dir: str | Path,
        defer_check: bool = False,
    ) -> list[Path]:
        """Download files (all if ``None``) of one commit into ``local_dir``; return their paths.

        Each LFS file's SHA-256 is checked as it is received, or with ``defer_check`` later,
        by ``download.check_deferred(path)`` (so that the caller can overlap the check with
        reading the file; until then ``download.unchecked(path)`` is true).
        """
        if isinstance(filenames, str):
            filenames = [filenames]
        return download.download(
            self,
            repo_id,
            filenames,
            repo_type=type,
            revision=revision,
            local_dir=Path(local_dir),
            defer_check=defer_check,
        )

    def download_file(
        self, repo_id: str, path: str, *, type: str = "model", revision: str = "main", local_dir: str | Path
    ) -> Path:
        """Download one file into ``local_dir`` and return its local path."""
        return self.download(repo_id, [path], type=type, revision=revision, local_dir=local_dir)[0]

    # -- refs ---------------------------------------------------------------------------------

    def create_branch(
        self, repo_id: str, branch: str, *, type: str = "model", revision: str | None = None
    ) -> dict[str, Any]:
        """Create ``branch`` at ``revision`` (default: main's head)."""
        path = self.api_path(repo_id, type, "branch", quote(branch, safe=""))
        body = {"startingPoint": revision} if revision else {}
        result: dict[str, Any] = self.request("POST", path, json=body).json()
        return result

    def create_tag(
        self,
        repo_id: str,
        tag: str,
        *,
        type: str = "model",
        revision: str = "main",
        message: str | None = None,
    ) -> dict[str, Any]:
        """Tag the commit ``revision`` points at."""
        path = self.api_path(repo_id, type, "tag", quote(revision, safe=""))
        body: dict[str, Any] = {"tag": tag}
        if message:
            body["message"] = message
        result: dict[str, Any] = self.request("POST", path, json=body).json()
        return result

    def list_refs(self, repo_id: str, *, type: str = "model") -> dict[str, Any]:
        """``{"branches": [...], "tags": [...], ...}``, items ``{name, ref, targetCommit}``."""
        result: dict[str, Any] = self.request("GET", self.api_path(repo_id, type, "refs")).json()
        return result

    def revision_sha(self, repo_id: str, *, type: str = "model", revision: str = "main") -> str:
        """The commit id a revision points at."""
        sha: str = self.repo_info(repo_id, type=type, revision=revision)["sha"]
        return sha

    # -- evaluation records (workbench.client.evals) ------------------------------------------

    def create_eval_run(self, record: dict[str, Any]) -> dict[str, Any]:
        """Store an evaluation run record; returns it with its ``id``."""
        return evals.create_run(self, record)

    def eval_run(self, run_id: str) -> dict[str, Any]:
        """One evaluation run record."""
        return evals.get_run(self, run_id)

    def eval_runs(self, **filters: Any) -> list[dict[str, Any]]:
        """Evaluation runs visible to the caller (``model``, ``dataset``, ``status``, ``split``)."""
        return evals.list_runs(self, **filters)

    def eval_notebook(self, run_id: str) -> bytes:
        """The executed notebook of a run."""
        return evals.run_notebook(self, run_id)

    def attach_reproduction(self, run_id: str, *, run: str) -> dict[str, Any]:
        """Attach ``run``, your re-run of your record ``run_id``; the hub derives the status."""
        return evals.attach_reproduction(self, run_id, run=run)

    def leaderboard(
        self, dataset: str, *, metric: str, split: str | None = "test", verified_only: bool = False
    ) -> dict[str, Any]:
        """The best run of each model on ``dataset`` for ``metric`` (``verified_only``: of the
        records runners posted)."""
        return evals.leaderboard(self, dataset, metric=metric, split=split, verified_only=verified_only)

    # -- discussions, anchored comments, inbox, likes (workbench.client.collab) ---------------

    def comment(self, repo_id: str, text: str, **options: Any) -> dict[str, Any]:
        """Comment (anchored with ``path``/``cell``/``commit``/``run``); see ``collab.comment``."""
        return collab.comment(self, repo_id, text, **options)

    def discussions(self, repo_id: str, **options: Any) -> list[dict[str, Any]]:
        """Every discussion and pull request of a repo, newest first."""
        return collab.discussions(self, repo_id, **options)

    def comments(self, repo_id: str, **options: Any) -> dict[str, Any]:
        """Anchored comments on a file (by notebook cell) or an evaluation run."""
        return collab.comments(self, repo_id, **options)

    def review(self, repo_id: str, num: int, **options: Any) -> dict[str, Any]:
        """Review pull request ``num`` (``state``, ``summary``); see ``collab.review``."""
        return collab.review(self, repo_id, num, **options)

    def reviews(self, repo_id: str, num: int, **options: Any) -> dict[str, Any]:
        """Pull request ``num``'s reviews and where its approvals stand."""
        return collab.reviews(self, repo_id, num, **options)

    def inbox(self, *, all: bool = False) -> dict[str, Any]:
        """Your notifications (unread unless ``all``) and the unread count."""
        return collab.inbox(self, all=all)

    def like(self, repo_id: str, *, type: str = "model", liked: bool = True) -> int:
        """Like (or unlike) a repo; returns its like count."""
        return collab.like(self, repo_id, type=type, liked=liked)

    # -- organizations, tokens, audit log (workbench.client.teams) ----------------------------

    def org_members(self, org: str) -> list[dict[str, Any]]:
        """Members of an organization with their roles."""
        return teams.org_members(self, org)

    def set_role(self, org: str, user: str, role: str) -> dict[str, Any]:
        """Add ``user`` to ``org`` with ``role`` (read, write, admin), or change it; org admins."""
        return teams.set_role(self, org, user, role)

    def remove_member(self, org: str, user: str) -> None:
        teams.remove_member(self, org, user)

    def tokens(self) -> list[dict[str, Any]]:
        """Your tokens (never their secrets)."""
        return teams.tokens(self)

    def create_token(
        self,
        name: str,
        *,
        scope: str = "read",
        expires_in: int | None = None,
        limits: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """A new token for you; its secret is in ``["token"]``, shown only now.

        ``expires_in``: seconds until it stops working (None: never); ``limits``: the repos
        (``{"type", "namespace", "name"}``) and namespaces (``{"namespace"}``) it is limited to.
        """
        return teams.create_token(self, name, scope=scope, expires_in=expires_in, limits=limits)

    def revoke_token(self, token_id: int) -> None:
        teams.revoke_token(self, token_id)

    def audit(self, **filters: Any) -> list[dict[str, Any]]:
        """Audit events (hub admins; org admins: their org), newest first."""
        return teams.audit(self, **filters)

    def request_access(self, repo_id: str, *, type: str = "model", **fields: Any) -> dict[str, Any]:
        """Ask for access to a gated repo, answering its card's ``extra_gated_fields`` (by name
        or keyword: ``company="ACME"``); returns the request, ``status`` pending or accepted."""
        return teams.request_access(self, repo_id, type=type, fields=fields)

    def paper_bibtex(self, repo_id: str) -> str:
        """The BibTeX entry of a paper repo."""
        return teams.paper_bibtex(self, repo_id)

    # -- search -------------------------------------------------------------------------------

    def search(self, query: str = "", **options: Any) -> list[dict[str, Any]]:
        """Ranked full-text search; options as :func:`workbench.client.search.search`."""
        return search.search(self, query, **options)
