"""Settings of the hub and the CLI, built once at start-up and passed in; the user config.

Order of precedence: explicit arguments, then ``WORKBENCH_*`` environment variables,
then defaults. Every field is documented in ``docs/configuration.md`` (a test checks it).
:class:`UserConfig` is the one reader and writer of the user config file (the saved login),
and the one place that decides which token goes to which hub.

>>> s = HubSettings(data_dir="/tmp/wb")  # doctest: +SKIP
>>> s.resolved_database_url()            # doctest: +SKIP
'sqlite:////tmp/wb/hub.sqlite'
>>> UserConfig.load().resolve("https://elsewhere.example")   # doctest: +SKIP
('https://elsewhere.example', None)
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "workbench"


log = logging.getLogger(__name__)

#: The hub used when neither an argument, ``WORKBENCH_HUB_URL`` nor a saved login names one.
DEFAULT_HUB_URL = "http://127.0.0.1:8765"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def user_config_path() -> Path:
    """Where the CLI, the kernel helpers and the first hub start keep the user's token."""
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(xdg) / "workbench" / "config.json"


def hub_identity(url: str) -> tuple[str, str, int, str] | None:
    """What makes two hub URLs the same hub: scheme, host, port (the scheme's default when
    left out) and path without its trailing slash; None for a URL that names no http(s) host.

    Deliberately strict: ``127.0.0.1`` and ``localhost`` are different hosts, and http and
    https different hubs, so a token never travels anywhere its owner did not name.

    >>> hub_identity("HTTPS://Hub.Example.org:443/") == hub_identity("https://hub.example.org")
    True
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except (ValueError, AttributeError):
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme], parts.path.rstrip("/")


def same_hub(a: str | None, b: str | None) -> bool:
    """Whether two URLs name the same hub (see :func:`hub_identity`)."""
    if not a or not b:
        return False
    ident = hub_identity(a)
    return ident is not None and ident == hub_identity(b)


def is_local_hub(url: str | None) -> bool:
    """Whether ``url`` names a hub on this machine (a loopback address or ``localhost``).

    >>> is_local_hub("http://127.0.0.1:41237"), is_local_hub("https://hub.example.org")
    (True, False)
    """
    ident = hub_identity(url) if url else None
    if ident is None:
        return False
    host = ident[1]
    return host == "localhost" or host == "::1" or host.startswith("127.")


def jupyterhub_token() -> str | None:
    """The JupyterHub API token of the single-user server this process runs in (JupyterHub
    puts ``JUPYTERHUB_API_TOKEN`` in every single-user server's environment), else None.

    It identifies the JupyterHub user to a hub configured for JupyterHub; it goes only to the
    hub the administrator named (``WORKBENCH_HUB_URL``, ``c.Workbench.hub_url``).
    """
    return os.environ.get("JUPYTERHUB_API_TOKEN") or None


@dataclass(frozen=True)
class UserConfig:
    """The user config file: the hub the user logged in to last, and a token per hub.

    Written by ``workbench login`` (``wb.login``) and by a hub's first start (mode 0600);
    read by the CLI, the kernel helpers and :class:`~workbench.client.HubClient`, all through
    :meth:`resolve`. A saved token belongs to the hub it was saved for and is sent nowhere
    else; logging in to another hub makes that hub the default and keeps the first hub's
    token for it (``tokens``: hub URL -> token).

    >>> UserConfig.load().token_for("http://127.0.0.1:8765")   # doctest: +SKIP
    'wb_...'
    """

    hub_url: str | None = None
    token: str | None = None
    path: Path | None = None
    tokens: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def load(cls, path: Path | None = None) -> UserConfig:
        """Read the file (a missing or unreadable one is an empty config, with a warning
        for the unreadable one)."""
        path = path or user_config_path()
        data = _read_json(path)
        url, token, tokens = data.get("hub_url"), data.get("token"), data.get("tokens")
        return cls(
            url if isinstance(url, str) and url else None,
            token if isinstance(token, str) and token else None,
            path,
            {u: t for u, t in tokens.items() if isinstance(t, str) and t} if isinstance(tokens, dict) else {},
        )

    def token_for(self, url: str) -> str | None:
        """The token saved for the hub at ``url`` (None: none was)."""
        if self.token and same_hub(url, self.hub_url):
            return self.token
        return next((t for u, t in self.tokens.items() if same_hub(url, u)), None)

    def resolve(self, url: str | None = None, token: str | None = None) -> tuple[str, str | None]:
        """The hub URL (without a trailing slash) and the token to send it.

        URL: ``url``, then ``WORKBENCH_HUB_URL``, then the saved hub, then
        :data:`DEFAULT_HUB_URL`. Token: ``token`` (sent wherever it is told), then
        ``WORKBENCH_TOKEN``, which belongs to the hub ``WORKBENCH_HUB_URL`` names (or, when
        that is unset, to the hub used without a URL: the saved one, else the default), then
        the saved token if the URL is its hub, then, in a JupyterHub single-user server, its
        ``JUPYTERHUB_API_TOKEN`` for the hub ``WORKBENCH_HUB_URL`` names (a hub that accepts
        JupyterHub tokens; see docs/teams.md). Any other URL gets no token.
        """
        env_url = os.environ.get("WORKBENCH_HUB_URL") or None
        default = env_url or self.hub_url or DEFAULT_HUB_URL
        chosen = (url or default).rstrip("/")
        if token:
            return chosen, token
        env_token = os.environ.get("WORKBENCH_TOKEN") or None
        if env_token and same_hub(chosen, default):
            return chosen, env_token
        saved = self.token_for(chosen)
        if saved is None and same_hub(chosen, env_url):
            return chosen, jupyterhub_token()
        return chosen, saved

    def save_local(self, url: str, token: str) -> Path | None:
        """Save the token of a hub on this machine, unless a login to a hub on another machine
        is saved (the user's choice, which a local hub starting never replaces); returns the
        path written, or None when the saved login was kept."""
        if self.hub_url is not None and not is_local_hub(self.hub_url):
            return None
        return self.save(url, token)

    def save(self, url: str, token: str) -> Path:
        """Save ``token`` for the hub at ``url`` and make that hub the default, atomically,
        readable by the user only (mode 0600); the tokens of other hubs and other keys in
        the file are kept."""
        path = self.path or user_config_path()
        if hub_identity(url) is None:
            raise ValueError(f"Cannot save a token for {url!r}: expected an http:// or https:// URL.")
        path.parent.mkdir(parents=True, exist_ok=True)
        data = _read_json(path)
        saved = data.get("tokens")
        tokens = {u: t for u, t in saved.items() if not same_hub(u, url)} if isinstance(saved, dict) else {}
        old_url, old_token = data.get("hub_url"), data.get("token")
        if (
            isinstance(old_url, str)
            and isinstance(old_token, str)
            and old_token
            and not same_hub(old_url, url)
        ):
            tokens.setdefault(old_url, old_token)  # a file written before per-hub tokens
        tokens[url.rstrip("/")] = token
        data.update(hub_url=url.rstrip("/"), token=token, tokens=tokens)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, indent=2)
            os.chmod(tmp, 0o600)  # an existing temporary file keeps its mode on open
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return path


def _jupyterhub_service_env(name: str) -> str | None:
    # JupyterHub's variables configure the hub only where JupyterHub started it as a managed
    # service (it then sets JUPYTERHUB_SERVICE_NAME); a single-user server has the same
    # variables for its own, different purpose.
    if not os.environ.get("JUPYTERHUB_SERVICE_NAME"):
        return None
    return os.environ.get(name) or None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable user config %s: %s", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


class HubSettings(BaseSettings):
    """Settings of one hub process (``workbench hub serve``)."""

    model_config = SettingsConfigDict(env_prefix="WORKBENCH_", extra="ignore", populate_by_name=True)

    data_dir: Path = Field(
        default_factory=default_data_dir,
        validation_alias=AliasChoices("data_dir", "WORKBENCH_DATA", "WORKBENCH_DATA_DIR"),
        description="Folder holding the SQLite database, blobs and temporary "
        "uploads (environment: `WORKBENCH_DATA`).",
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the metadata store; default: SQLite in the data folder."
    )
    storage_url: str | None = Field(
        None,
        description="fsspec URL of the blob store (a folder or "
        "s3://bucket/prefix); default: `blobs/` in the data folder.",
    )
    storage_redirects: bool = Field(
        False,
        description="Answer downloads of LFS files (and hf_xet's xorb fetches) with a redirect "
        "to a short-lived presigned URL of the storage (S3), so that file bytes bypass the hub.",
    )
    storage_timeout_seconds: float = Field(
        15.0,
        gt=0,
        description="How long a request to an S3 blob store may wait for a connection or for "
        "data, tried twice, before the hub answers 503 `StorageUnavailable` (a storage that does "
        "not answer never makes a client hang); botocore's own `connect_timeout`, "
        "`read_timeout` and `retries` in FSSPEC_S3_CONFIG_KWARGS take precedence.",
    )
    host: str = Field("127.0.0.1", description="Interface `workbench hub serve` listens on.")
    port: int = Field(8765, description="Port `workbench hub serve` listens on.")
    public_url: str | None = Field(
        None,
        description="Base URL clients use to reach the hub "
        "(used in returned URLs and Link headers); default: from the request.",
    )
    secret_key: str | None = Field(
        None, description="Key that signs upload URLs; default: a random key kept in the data folder."
    )
    max_body_bytes: int = Field(
        8 * 1024**3,
        description="Largest request body accepted (inline commits and LFS uploads); larger bodies get 413.",
    )
    max_json_bytes: int = Field(
        16 * 1024**2,
        description="Largest JSON body accepted by API endpoints other than commits and uploads.",
    )
    request_body_timeout_seconds: float = Field(
        60.0,
        ge=0,
        description="How long the hub waits for a request body to advance by 64 KiB (or end): "
        "an upload that stalls or trickles slower is answered 408 `RequestBodyTimeout` and "
        "nothing of it is kept; 0: wait for ever.",
    )
    upload_mode: Literal["auto", "regular", "lfs"] = Field(
        "auto",
        description="What preupload answers: `auto` = as the public hub (`lfs` for files the "
        "repo's .gitattributes puts in LFS, weight/data formats, binary and large files, which "
        "stock clients then upload through Xet, or git-LFS with HF_HUB_DISABLE_XET=1; `regular` "
        "for small text files); `regular` = every file inline; `lfs` = the older name of `auto`.",
    )
    lfs_threshold_bytes: int = Field(
        10 * 1024**2,
        description="Files at least this large are stored as LFS files (with `upload_mode` permitting).",
    )
    multipart_chunk_bytes: int = Field(
        64 * 1024**2,
        description="Part size offered for multipart "
        "LFS uploads; files larger than one part upload in parts.",
    )
    anonymous_read: bool = Field(True, description="Allow requests without a token to read public repos.")
    admin_user: str = Field("admin", description="Name of the local admin user created on first start.")
    jupyterhub_api_url: str | None = Field(
        default_factory=lambda: _jupyterhub_service_env("JUPYTERHUB_API_URL"),
        description="JupyterHub's API URL (`http://127.0.0.1:8081/hub/api`): accept JupyterHub "
        "API tokens as their users (docs/teams.md). Unset: JupyterHub tokens are refused; when "
        "JupyterHub runs the hub as a managed service, its `JUPYTERHUB_API_URL`.",
    )
    jupyterhub_api_token: str | None = Field(
        default_factory=lambda: _jupyterhub_service_env("JUPYTERHUB_API_TOKEN"),
        description="The `api_token` of the hub's JupyterHub service, with which it asks "
        "JupyterHub who a token belongs to; when JupyterHub runs the hub as a managed service, "
        "its `JUPYTERHUB_API_TOKEN`.",
    )
    jupyterhub_service_name: str = Field(
        default_factory=lambda: _jupyterhub_service_env("JUPYTERHUB_SERVICE_NAME") or "workbench",
        description="The hub's service name in JupyterHub: a JupyterHub token is accepted only "
        "with the scope `access:services!service=<name>`.",
    )
    jupyterhub_group_roles: str = Field(
        "",
        description="JupyterHub groups to organization roles, `GROUP=ORG:ROLE` separated by "
        "commas (`ml-team=acme:write,leads=acme:admin`): applied at each sign-in; membership "
        "of the organizations named here follows the groups alone.",
    )
    jupyterhub_admins_are_admins: bool = Field(
        False, description="JupyterHub admins are hub admins (and only they, among JupyterHub users)."
    )
    jupyterhub_cache_seconds: int = Field(
        60,
        ge=1,
        le=60,
        description="How long the answer of JupyterHub about a token is reused: a revoked token "
        "or a deleted user is refused at most this many seconds later.",
    )
    builtin_metrics: bool = Field(
        True,
        description="Publish Workbench's built-in `evaluate` metric "
        "modules (accuracy, precision, recall, f1, exact_match, mse, mae) as "
        "the spaces `evaluate-metric/*` on start and `workbench hub init`, so "
        '`evaluate.load("accuracy")` works offline.',
    )
    write_user_config: bool = Field(
        True,
        description="On first start, write the admin token to the "
        "user config file (mode 0600) so the embedded hub needs no log-in.",
    )
    max_comment_chars: int = Field(
        65536,
        gt=0,
        description="Longest discussion comment or description "
        "accepted (characters); longer ones get 413 CommentTooLong.",
    )
    tree_page_size: int = Field(1000, description="Entries per page of tree listings (50 with expand).")
    list_page_size: int = Field(1000, description="Repos per page of list endpoints.")
    log_level: str = Field("info", description="Log level of the hub process.")
    log_format: Literal["text", "json"] = Field(
        "text",
        description="`json`: every log line of the hub is one JSON object (time, level, logger, "
        "message, request id, process; access lines add method, route, status, duration).",
    )
    viewer_workers: int = Field(
        1,
        ge=0,
        description="Background threads per `workbench hub serve` (in one child process, "
        "whatever `--workers` says) that convert dataset commits to Parquet for the dataset "
        "viewer (0: this hub converts nothing; others sharing the store may).",
    )
    viewer_lease_seconds: float = Field(
        60.0,
        gt=0,
        description="How long a conversion job stays "
        "claimed without a heartbeat before another worker takes "
        "it over (a worker that crashed).",
    )
    runner_lease_seconds: float = Field(
        30.0,
        gt=0,
        description="How long an evaluation job stays leased to a runner without a heartbeat "
        "(runners renew it every third of this) before another runner may lease it again.",
    )
    webhook_workers: int = Field(
        4,
        ge=0,
        description="Webhook deliveries sent at once per `workbench hub serve` (threads of "
        "the job process; 0: this hub sends none, others sharing the store may).",
    )
    webhook_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="How long one webhook delivery may take in all (connect, send, answer) "
        "before it counts as failed and is retried.",
    )
    webhook_allowed_hosts: str = Field(
        "",
        description="Comma-separated hosts (names or addresses) webhooks may send to although "
        "they are loopback, link-local or private; every other internal address is refused.",
    )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{Path(self.data_dir).absolute() / 'hub.sqlite'}"

    def resolved_storage_url(self) -> str:
        if self.storage_url:
            return self.storage_url
        return str(Path(self.data_dir).absolute() / "blobs")
