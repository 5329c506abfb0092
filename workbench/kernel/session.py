"""The kernel's connection to one hub.

``connect`` picks the hub and token as ``workbench.config.UserConfig.resolve`` does (a
saved token goes only to its own hub), checks the token, and points ``huggingface_hub``,
``datasets`` and ``evaluate`` in this process at the hub
(:mod:`workbench.kernel.hf_endpoint`). Pinning repos to commits is
:mod:`workbench.kernel.pinning`; the local cache, :mod:`workbench.kernel.cache`.

>>> import workbench as wb
>>> wb.connect("http://127.0.0.1:8765", token="wb_...")    # doctest: +SKIP
Connection('http://127.0.0.1:8765', user='admin')
"""

from __future__ import annotations

import atexit
import html
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.errors import AuthenticationError, HubUnreachable, InvalidRequest, RepoNotFound, WorkbenchError
from workbench.kernel.cache import CacheLayout, default_cache_dir
from workbench.kernel.hf_endpoint import point_libraries

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

    def verify(self) -> None:
        """Learn the user of a connection made while the hub could not be reached."""
        try:
            self.user = self.client.whoami().get("name")
        except WorkbenchError as exc:
            log.debug("still cannot verify the token on %s: %s", self.url, exc.message)
            return
        self.unverified = False

    @property
    def cache(self) -> CacheLayout:
        """Where this hub's files live in the local cache (:mod:`workbench.kernel.cache`)."""
        return CacheLayout(self.cache_dir, self.url)


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


def login(token: str | None = None, url: str | None = None) -> Connection:
    """``workbench login`` from a notebook: check ``token`` against the hub at ``url``
    (default: ``WORKBENCH_HUB_URL``, else the saved hub), save it for that hub in the user
    config (tokens of other hubs are kept, each sent only to its own hub), and connect.

    >>> wb.login("wb_...", url="https://hub.example.org")      # doctest: +SKIP
    """
    from workbench.client import HubClient
    from workbench.config import UserConfig

    if not token:
        import getpass

        token = getpass.getpass("Token: ").strip()
    with HubClient(url, token, progress=False) as client:
        client.whoami()  # 401 with the code that says why: unknown, revoked, expired, disabled
        UserConfig.load().save(client.url, token)
        chosen = client.url
    return connect(chosen, token)


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


# -- which repo ----------------------------------------------------------------------------


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
