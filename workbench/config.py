"""Settings of the hub and the CLI, built once at start-up and passed in.

Order of precedence: explicit arguments, then ``WORKBENCH_*`` environment variables,
then defaults. Every field is documented in ``docs/configuration.md`` (a test checks it).

>>> s = HubSettings(data_dir="/tmp/wb")  # doctest: +SKIP
>>> s.resolved_database_url()            # doctest: +SKIP
'sqlite:////tmp/wb/hub.sqlite'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "workbench"


def user_config_path() -> Path:
    """Where the CLI, the kernel helpers and the first hub start keep the user's token."""
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(xdg) / "workbench" / "config.json"


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
    upload_mode: Literal["auto", "regular", "lfs"] = Field(
        "auto",
        description="What preupload answers for large or binary files: `auto` = git-LFS for "
        "clients that announce it (`X-Workbench-Lfs: 1`), inline for stock clients (which would "
        "otherwise need Xet); `regular` = always inline; `lfs` = always git-LFS (every client must set "
        "HF_HUB_DISABLE_XET=1).",
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
    viewer_workers: int = Field(
        1,
        ge=0,
        description="Background threads per hub process (in a "
        "child process of the hub) that "
        "convert dataset commits to Parquet for the dataset viewer "
        "(0: this process converts nothing; others sharing the store may).",
    )
    viewer_lease_seconds: float = Field(
        60.0,
        gt=0,
        description="How long a conversion job stays "
        "claimed without a heartbeat before another worker takes "
        "it over (a worker that crashed).",
    )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{Path(self.data_dir).absolute() / 'hub.sqlite'}"

    def resolved_storage_url(self) -> str:
        if self.storage_url:
            return self.storage_url
        return str(Path(self.data_dir).absolute() / "blobs")
