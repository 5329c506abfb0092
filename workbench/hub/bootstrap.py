"""First start of a hub: the local admin user, and its token in the user's config file."""

from __future__ import annotations

import logging

from sqlalchemy import select

from workbench.config import HubSettings, UserConfig
from workbench.store import models as m
from workbench.store.accounts import create_token, create_user
from workbench.store.store import Store

log = logging.getLogger(__name__)


def ensure_admin(store: Store, settings: HubSettings, *, url: str | None = None) -> str | None:
    """Create the admin user on an empty hub; return its new token (None if users exist).

    With ``settings.write_user_config`` the token is saved in the user config for ``url``
    (default: the address the hub listens on), the only hub it will be sent to.
    """
    with store.write() as s:
        if s.scalar(select(m.Account.id).where(m.Account.kind == "user").limit(1)) is not None:
            return None
        user = create_user(s, settings.admin_user, admin=True)
        token = create_token(s, user, "local-admin", scope="write")
    log.info("created admin user %r", settings.admin_user)
    if settings.write_user_config:
        path = UserConfig.load().save_local(
            url or f"http://{_reachable(settings.host)}:{settings.port}", token
        )
        if path is None:
            log.info("kept the saved login to another hub; the admin token was not saved")
        else:
            log.info("wrote the admin token to %s", path)
    return token


def _reachable(host: str) -> str:
    """The address a client on this machine uses for a hub listening on ``host``.

    A hub on every interface (``0.0.0.0``, ``::``) is reached at the loopback address, which is
    what the saved token must be bound to for the CLI and kernels of this machine to send it.
    """
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host
