"""First start of a hub: the local admin user, and its token in the user's config file."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from sqlalchemy import select

from workbench.config import HubSettings, user_config_path
from workbench.store import models as m
from workbench.store.accounts import create_token, create_user
from workbench.store.store import Store

log = logging.getLogger(__name__)


def write_user_config(url: str | None, token: str, path: Path | None = None) -> Path:
    """Write (or update) the user config with mode 0600, atomically."""
    path = path or user_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data: dict[str, str] = {}
    if path.exists():
        try:
            data = json.loads(path.read_text())
        except ValueError:
            data = {}
    data["token"] = token
    if url:
        data["hub_url"] = url
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)
    os.chmod(path, 0o600)
    return path


def ensure_admin(store: Store, settings: HubSettings, *, url: str | None = None) -> str | None:
    """Create the admin user on an empty hub; return its new token (None if users exist)."""
    with store.write() as s:
        if s.scalar(select(m.Account.id).where(m.Account.kind == "user").limit(1)) is not None:
            return None
        user = create_user(s, settings.admin_user, admin=True)
        token = create_token(s, user, "local-admin", scope="write")
    log.info("created admin user %r", settings.admin_user)
    if settings.write_user_config:
        path = write_user_config(url, token)
        log.info("wrote the admin token to %s", path)
    return token
