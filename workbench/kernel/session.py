"""The kernel's connection to one hub, and pointing the Hugging Face libraries at it.

``connect`` picks the hub and token as ``workbench.config.UserConfig.resolve`` does (a
saved token goes only to its own hub), checks the token, and points ``huggingface_hub``,
``datasets`` and ``evaluate`` in this process at the hub: they read ``HF_ENDPOINT`` once,
at import, so the environment is set for later imports and the module constants are
patched in those already imported (and, through an import hook, in those imported later).
Tokens are never put in the environment; Workbench passes them explicitly.

>>> import workbench as wb
>>> wb.connect("http://127.0.0.1:8765", token="wb_...")    # doctest: +SKIP
Connection('http://127.0.0.1:8765', user='admin')
"""

from __future__ import annotations

import atexit
import html
import importlib.abc
import json
import logging
import os
import sys
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from workbench.errors import (
    AuthenticationError,
    CachedCopyWarning,
    HubUnreachable,
    InvalidRequest,
    RepoNotFound,
    RevisionNotFound,
    WorkbenchError,
)

if TYPE_CHECKING:
    from workbench.client import HubClient

log = logging.getLogger(__name__)

REPO_TYPES = ("model", "dataset", "paper", "space")
LOADER = {
    "model": "wb.load_model",
    "dataset": "wb.load_dataset",
    "paper": "wb.load_paper",
    "space": "wb.info",
}

_lock = threading.Lock()
_current: Connection | None = None


# -- connection ------------------------------------------------------------------------------


@dataclass
class Connection:
    """One hub, the token used on it and the client that talks to it."""

    url: str
    token: str | None
    client: HubClient
    user: str | None
    cache_dir: Path
    unverified: bool = False  # made while the hub could not be reached: user not known yet

    def __repr__(self) -> str:
        who = f"user={self.user!r}" if self.user else "anonymous"
        if self.unverified:
            who = "not verified: the hub could not be reached"
        return f"Connection({self.url!r}, {who})"

    def _repr_html_(self) -> str:
        who = html.escape(self.user) if self.user else "<i>anonymous</i>"
        return (
            f"<div><b>Workbench hub</b> <code>{html.escape(self.url)}</code> "
            f"&middot; signed in as {who}</div>"
        )

    def repo_cache(self, repo_type: str, repo_id: str, commit: str) -> Path:
        """Folder of one commit's files in the local cache (commits never change)."""
        host = urlsplit(self.url).netloc.replace(":", "_") or "hub"
        return self.cache_dir / host / f"{repo_type}s" / repo_id / commit


def default_cache_dir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "workbench" / "repos"


def connect(
    url: str | None = None,
    token: str | None = None,
    *,
    cache_dir: str | Path | None = None,
    _lazily: bool = False,
) -> Connection:
    """Connect this kernel to a hub and point the Hugging Face libraries at it.

    Replaces the previous connection (and closes its client). ``cache_dir`` holds downloaded
    repo files, one folder per commit (default ``$XDG_CACHE_HOME/workbench/repos``).

    >>> conn = wb.connect()          # WORKBENCH_HUB_URL / WORKBENCH_TOKEN, else `workbench login`
    """
    global _current
    from workbench.client import HubClient

    client = HubClient(url, token)  # a saved token goes only to its own hub
    chosen, tok = client.url, client.token
    user, unverified = None, False
    if tok:
        try:
            user = client.whoami().get("name")
        except AuthenticationError as exc:
            client.close()
            raise AuthenticationError(
                f"The hub at {chosen} rejected the token ({exc.message}). Run `workbench login "
                f"--url {chosen}`, or pass a valid token: wb.connect(url, token=...)."
            ) from None
        except HubUnreachable as exc:
            if not _lazily:
                client.close()
                raise
            # the first use of wb without wb.connect: loads go on from the cache (see pin)
            log.warning("%s Loads use their cached copies until it answers.", exc.message)
            unverified = True
        except BaseException:
            client.close()
            raise
    conn = Connection(
        chosen, tok, client, user, Path(cache_dir) if cache_dir else default_cache_dir(), unverified
    )
    with _lock:
        old, _current = _current, conn
    point_libraries(chosen)
    if old is not None:
        old.client.close()
    log.info("connected to %s as %s", chosen, user or "anonymous")
    return conn


@atexit.register
def _close_at_exit() -> None:
    if _current is not None:
        _current.client.close()


def connection() -> Connection:
    """The current connection, made on first use with the defaults of :func:`connect`; made
    unverified (user not known yet) if the hub cannot be reached then, so that loads can go on
    from the cache (:func:`pin`) where an explicit ``wb.connect`` raises."""
    conn = _current
    return conn if conn is not None else connect(_lazily=True)


def _verify(conn: Connection) -> None:
    """Learn the user of a connection made while the hub could not be reached."""
    try:
        conn.user = conn.client.whoami().get("name")
    except WorkbenchError as exc:
        log.debug("still cannot verify the token on %s: %s", conn.url, exc.message)
        return
    conn.unverified = False


# -- pointing the HF libraries at the hub ----------------------------------------------------


def _patch(name: str, module: Any, url: str) -> None:
    host = urlsplit(url).hostname
    if name == "huggingface_hub.constants":
        module.ENDPOINT = url
        module.HUGGINGFACE_CO_URL_TEMPLATE = url + "/{repo_id}/resolve/{revision}/{filename}"
        if host:
            module.HF_URL_HOSTS = frozenset(module.HF_URL_HOSTS | {host.lower()})
        module.HF_HUB_DISABLE_TELEMETRY = True
    elif name == "huggingface_hub.hf_api" and getattr(module, "api", None) is not None:
        module.api.endpoint = url  # the module-level HfApi behind hf_hub's free functions
    elif name == "huggingface_hub.hf_file_system":
        module.HfFileSystem.clear_instance_cache()  # cached instances keep their endpoint
        fs = getattr(module, "hffs", None)
        if fs is not None:
            fs.endpoint = url
            fs._api.endpoint = url
    elif name == "datasets.config":
        module.HF_ENDPOINT = url
        module.HUB_DATASETS_URL = url + "/datasets/{repo_id}/resolve/{revision}/{path}"
        # Otherwise datasets asks datasets-server.<hub host> for exports, with the token.
        module.USE_PARQUET_EXPORT = False
        module.HF_UPDATE_DOWNLOAD_COUNTS = False
    elif name == "evaluate.config":
        module.HF_ENDPOINT = url
        module.HF_LIST_ENDPOINT = url + "/api/spaces?filter={type}"
        module.HUB_EVALUATE_URL = url + "/spaces/{path}/resolve/{revision}/{name}"
        module.HF_UPDATE_DOWNLOAD_COUNTS = False


_PATCHED = (
    "huggingface_hub.constants",
    "huggingface_hub.hf_api",
    "huggingface_hub.hf_file_system",
    "datasets.config",
    "evaluate.config",
)


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Patches the HF libraries' config modules right after they are first executed."""

    def __init__(self) -> None:
        self.url: str | None = None

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        if fullname not in _PATCHED or self.url is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is not None and hasattr(loader, "exec_module"):
            original = loader.exec_module

            def exec_module(module: ModuleType) -> None:
                original(module)
                if self.url:
                    _patch(fullname, module, self.url)

            loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


_hook = _PatchOnImport()


def point_libraries(url: str) -> None:
    """Point huggingface_hub, datasets and evaluate (imported or not yet) at ``url``."""
    os.environ["HF_ENDPOINT"] = url
    os.environ["HF_UPDATE_DOWNLOAD_COUNTS"] = "0"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    _hook.url = url
    if _hook not in sys.meta_path:
        sys.meta_path.insert(0, _hook)
    for name in _PATCHED:
        module = sys.modules.get(name)
        if module is not None:
            _patch(name, module, url)


# -- resolving repos -------------------------------------------------------------------------


@dataclass
class Resolved:
    """A repo pinned to one commit, with its info at that commit."""

    repo_id: str
    type: str
    commit: str
    revision: str | None
    info: dict[str, Any] = field(repr=False)

    @property
    def files(self) -> list[str]:
        return [s["rfilename"] for s in self.info.get("siblings") or []]


def find_type(repo_id: str, *, exclude: str | None = None) -> str | None:
    """Which type of repo ``repo_id`` is (the first found), as far as the caller may see."""
    client = connection().client
    for t in REPO_TYPES:
        if t == exclude:
            continue
        try:
            client.repo_info(repo_id, type=t)
        except RepoNotFound:
            continue
        return t
    return None


def not_found(repo_id: str, what: str = "repo") -> RepoNotFound:
    """The error for a repo the caller cannot see, with what to do about it."""
    conn = connection()
    who = conn.user or "an anonymous caller"
    return RepoNotFound(
        f"No {what} {repo_id} on {conn.url} (or it is private and {who} may not "
        f"read it). Check the id with wb.search({repo_id.split('/')[-1]!r})."
    )


def check_repo_id(repo_id: object) -> str:
    if not isinstance(repo_id, str) or repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise InvalidRequest(
            f"Invalid repo id {repo_id!r}: expected 'namespace/name', for example 'admin/tiny-classifier'.",
            code="InvalidRepoId",
        )
    return repo_id


def resolve(repo_id: str, repo_type: str, revision: str | None = None) -> Resolved:
    """Pin ``repo_id`` to the commit ``revision`` (default: main) points at.

    Raises :class:`RepoNotFound` (saying which type it is, if it is another type),
    :class:`RevisionNotFound`, or :class:`InvalidRequest` for a malformed id.
    """
    conn = connection()
    check_repo_id(repo_id)
    try:
        info = conn.client.repo_info(repo_id, type=repo_type, revision=revision)
    except RepoNotFound:
        other = find_type(repo_id, exclude=repo_type)
        if other is not None:
            raise InvalidRequest(
                f"{repo_id} is a {other} repo, not a {repo_type}: use {LOADER[other]}({repo_id!r}).",
                code="WrongRepoType",
                repo_type=other,
            ) from None
        raise not_found(repo_id, f"{repo_type} repo") from None
    except RevisionNotFound:
        raise RevisionNotFound(
            f"{repo_type.capitalize()} repo {repo_id} has no revision {revision!r}: use a "
            "branch, a tag or a commit id (see wb.info(...) and "
            "connection().client.log(...))."
        ) from None
    if conn.unverified:  # made while the hub could not be reached; it answers now
        _verify(conn)
    return Resolved(repo_id, repo_type, info["sha"], revision, info)


def pin(repo_id: str, repo_type: str, revision: str | None = None) -> Resolved:
    """:func:`resolve` for a load, kept for :func:`recall`; when the hub cannot be reached,
    the commit ``revision`` named when last asked here (with a :class:`CachedCopyWarning`)
    so that work from the local cache goes on. Files missing from the cache still need the
    hub (see :func:`unreachable`)."""
    try:
        pinned = resolve(repo_id, repo_type, revision)
    except HubUnreachable as exc:
        return unreachable(exc, recall(repo_id, repo_type, revision))
    remember(pinned, recall(repo_id, repo_type, revision))
    return pinned


def unreachable(exc: HubUnreachable, kept: Resolved | None) -> Resolved:
    """After ``exc`` from asking the hub where a revision points: ``kept`` (the commit it
    named last time, whose files the caller has in the cache), with a warning; without a
    kept commit, :class:`HubUnreachable` saying so. Callers catch only
    :class:`HubUnreachable`: every other answer (not found, no access, a timeout or a
    broken connection) is raised as it is."""
    if kept is None:
        raise HubUnreachable(
            f"{exc.message} No copy of what that revision named is in the "
            "local cache to use meanwhile (a load made while the hub "
            "answers keeps one)."
        ) from None
    warnings.warn(
        CachedCopyWarning(
            f"The hub at {connection().url} cannot be reached: {kept.repo_id} is loaded from the "
            f"local cache at commit {kept.commit[:12]}, which {kept.revision or 'main'!r} named "
            "when it was last asked (it may have moved since)."
        ),
        stacklevel=4,
    )
    return kept


def _ref_file(repo_id: str, repo_type: str, revision: str | None) -> Path:
    conn = connection()
    return conn.repo_cache(repo_type, repo_id, ".refs") / quote(revision or "main", safe="").replace(
        ".", "%2E"
    )


def remember(resolved: Resolved, kept: Resolved | None = None) -> None:
    """Keep which commit ``resolved.revision`` named, with its info, in the local cache, so a
    later load can start on that commit while the hub is asked (see :func:`recall`); nothing
    to write when ``kept`` (what :func:`recall` gave) says the same."""
    if kept is not None and (kept.commit, kept.info) == (resolved.commit, resolved.info):
        return
    path = _ref_file(resolved.repo_id, resolved.type, resolved.revision)
    write_cached(path, json.dumps({"commit": resolved.commit, "info": resolved.info}))


def write_cached(path: Path, text: str) -> None:
    """Replace ``path`` in the local cache with ``text`` in one step (concurrent writers and
    readers see one whole version); a cache that cannot be written only costs later loads
    their head start, so that is logged, not raised."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        log.debug("cannot write %s to the cache: %s", path, exc)


def recall(repo_id: str, repo_type: str, revision: str | None) -> Resolved | None:
    """The commit ``revision`` named at the last :func:`remember`, or None. A guess only:
    callers must check it against :func:`resolve` before they hand out anything loaded
    from it."""
    try:
        data = json.loads(_ref_file(repo_id, repo_type, revision).read_text(encoding="utf-8"))
        commit, info = data["commit"], data["info"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not (isinstance(commit, str) and isinstance(info, dict)):
        return None
    return Resolved(repo_id, repo_type, commit, revision, info)


def _missing(resolved: Resolved, paths: Sequence[str]) -> tuple[Path, list[str]]:
    """The commit's cache folder and which of ``paths`` are not in it yet (a file whose
    deferred SHA-256 check never ran is not: it is downloaded again)."""
    from workbench.client.download import unchecked

    root = connection().repo_cache(resolved.type, resolved.repo_id, resolved.commit)
    return root, [p for p in paths if not (root / p).is_file() or unchecked(root / p)]


def cached(resolved: Resolved, paths: Sequence[str]) -> bool:
    """Whether every one of ``paths`` of that commit is in the local cache already."""
    return not _missing(resolved, paths)[1]


def fetch(resolved: Resolved, paths: Sequence[str], *, defer_check: bool = False) -> dict[str, Path]:
    """Local paths of files of a pinned repo, downloaded into the cache when missing.

    ``defer_check``: the SHA-256 of what is downloaded is checked by :func:`check_fetched`,
    which the caller must call before it hands out anything read from the files.
    """
    conn = connection()
    root, missing = _missing(resolved, paths)
    if missing:
        conn.client.download(
            resolved.repo_id,
            missing,
            type=resolved.type,
            revision=resolved.commit,
            local_dir=root,
            defer_check=defer_check,
        )
    return {p: root / p for p in paths}


def check_fetched(paths: Sequence[Path], *, remove: bool = True) -> None:
    """The deferred SHA-256 checks of files :func:`fetch` downloaded with ``defer_check``:
    :class:`IntegrityError` for the first that fails, removed first unless not ``remove``
    (see ``download.check_deferred``)."""
    from workbench.client.download import check_deferred

    for path in paths:
        check_deferred(path, remove=remove)
