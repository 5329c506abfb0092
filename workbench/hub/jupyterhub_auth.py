"""JupyterHub as the hub's identity: its API tokens are accepted as the users they belong to.

With ``jupyterhub_api_url`` set, a bearer token that is not a Workbench token (``wb_...``)
is checked with JupyterHub's API through JupyterHub's own service library
(:class:`jupyterhub.services.auth.HubAuth`: ``user_for_token`` and its cache, at most
``jupyterhub_cache_seconds`` old, so a revoked token or a deleted user stops working within
that bound). The token must carry the Workbench service's access scope
(``access:services!service=<jupyterhub_service_name>``). At sign-in (a user's first request
to this process, any answer of JupyterHub that shows other groups or admin flag, and at
least once per cache period) the user is made a Workbench user of the same name on first
sight and their groups and admin flag are applied (:mod:`workbench.store.identity_sync`).

JupyterHub not answering is a 503 ``JupyterHubUnavailable``, never a fallback to anonymous.

>>> auth = JupyterHubAuth.from_settings(settings)       # doctest: +SKIP
>>> auth.principal(store, "d2f1...")                    # doctest: +SKIP
Principal(user_id=4, name='alice', ...)
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy.exc import IntegrityError

from workbench.config import HubSettings
from workbench.errors import AuthenticationError, ServiceUnavailable
from workbench.store.access import Principal
from workbench.store.accounts import TOKEN_PREFIX
from workbench.store.identity_sync import parse_group_roles, principal_of, sync_user
from workbench.store.store import Store

log = logging.getLogger(__name__)

#: The scope of a JupyterHub token acting on the hub: a JupyterHub user may do what their
#: Workbench user may (JupyterHub's own scopes decide only whether they reach the hub at all).
TOKEN_SCOPE = "write"


def is_jupyterhub_token(token: str) -> bool:
    """Whether a bearer token is for JupyterHub to check (anything not a Workbench token)."""
    return not token.startswith(TOKEN_PREFIX)


class JupyterHubAuth:
    """Turns JupyterHub API tokens into principals; one per hub process (it holds the cache)."""

    def __init__(self, settings: HubSettings) -> None:
        try:
            from jupyterhub.services.auth import HubAuth
        except ImportError:
            raise ValueError(
                "jupyterhub_api_url is set but JupyterHub's library is not installed: install the "
                "`jupyterhub` extra (pip install 'workbench[jupyterhub]')."
            ) from None
        if not settings.jupyterhub_api_token:
            raise ValueError(
                "jupyterhub_api_url is set but jupyterhub_api_token is not: give the hub the "
                "api_token of its JupyterHub service (WORKBENCH_JUPYTERHUB_API_TOKEN)."
            )
        self.api_url = settings.jupyterhub_api_url.rstrip("/") if settings.jupyterhub_api_url else ""
        self.api_token = settings.jupyterhub_api_token
        self.access_scope = f"access:services!service={settings.jupyterhub_service_name}"
        self.group_roles = parse_group_roles(settings.jupyterhub_group_roles)
        self.admins_are_admins = settings.jupyterhub_admins_are_admins
        self.local_admin = settings.admin_user
        self.cache_seconds = settings.jupyterhub_cache_seconds
        self.hub_auth = HubAuth(
            api_url=self.api_url,
            api_token=self.api_token,
            cache_max_age=settings.jupyterhub_cache_seconds,
            access_scopes={self.access_scope},
        )
        # Per user, what the last sign-in applied: (groups, admin flag, when). A user is signed
        # in again when JupyterHub's answer shows other groups or admin flag, and at least
        # every cache period, whichever of their tokens they use.
        self._signed_in: dict[str, tuple[tuple[str, ...], bool | None, float]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: HubSettings) -> JupyterHubAuth | None:
        """None when the hub is not configured for JupyterHub (``jupyterhub_api_url`` unset)."""
        return cls(settings) if settings.jupyterhub_api_url else None

    def principal(self, store: Store, token: str) -> Principal:
        """The Workbench principal of a JupyterHub token: 401 ``InvalidToken`` for a token
        JupyterHub does not know (forged, revoked, its user deleted), 401
        ``JupyterHubScopeMissing`` for one without the Workbench service's access scope, 503
        ``JupyterHubUnavailable`` when JupyterHub does not answer."""
        model = self._user_model(token)
        name = model.get("name")
        if model.get("kind", "user") != "user" or not isinstance(name, str):
            raise AuthenticationError(
                "This JupyterHub token belongs to a service, not a user; use a user's token.",
                code="InvalidToken",
            )
        if name == self.local_admin:
            # Whoever JupyterHub calls by that name (open sign-up may let anyone take it) must
            # not become the hub's local admin account.
            raise AuthenticationError(
                f"JupyterHub user {name!r} has the name of this hub's local admin account "
                "(admin_user), which JupyterHub tokens never act as; use jupyterhub_admins_are_admins "
                "to make JupyterHub's admins hub admins.",
                code="ExternalUserRefused",
            )
        if not self.hub_auth.check_scopes(self.hub_auth.access_scopes, model):
            raise AuthenticationError(
                f"This JupyterHub token lacks the scope {self.access_scope!r}: give the users "
                "(and their servers) that scope in jupyterhub_config.py (docs/teams.md).",
                code="JupyterHubScopeMissing",
            )
        groups = tuple(sorted(g for g in model.get("groups") or () if isinstance(g, str)))
        with self._lock:
            last = self._signed_in.get(name)
        if (
            last is None
            or last[0] != groups
            or (self.admins_are_admins and "admin" in model and bool(model["admin"]) != last[1])
            or time.monotonic() - last[2] > self.cache_seconds
        ):
            self._sign_in(store, name, groups, model)
        with store.read() as s:
            principal = principal_of(s, name, TOKEN_SCOPE)
        if principal is None:  # removed on the hub since this process signed them in
            with self._lock:
                self._signed_in.pop(name, None)
            raise AuthenticationError(f"User {name!r} no longer exists on this hub.", code="InvalidToken")
        return principal

    def _cached_model(self, token: str) -> dict[str, Any] | None:
        """HubAuth's cached answer for ``token``, read in this thread: ``user_for_token``
        answers even a cache hit in HubAuth's own event-loop thread, which costs more than the
        rest of the request's authentication. Read only (HubAuth's thread alone writes), by
        ``user_for_token``'s own key; anything unexpected is a miss."""
        key = f"token::{hashlib.sha256(token.encode('utf8', 'replace')).hexdigest()}"
        cache = self.hub_auth.cache
        try:
            stamp, model = cache.timestamps.get(key), cache.values.get(key)
        except AttributeError:
            return None
        if stamp is None or not isinstance(model, dict) or time.monotonic() - stamp > self.cache_seconds:
            return None
        return model

    def _user_model(self, token: str) -> dict[str, Any]:
        from tornado.web import HTTPError

        cached = self._cached_model(token)
        if cached is not None:
            return cached
        try:
            model = self.hub_auth.user_for_token(token)
        except HTTPError as exc:
            raise ServiceUnavailable(
                f"JupyterHub's API at {self.api_url} did not identify the token: "
                f"{exc.log_message or exc}. Try again shortly; if it persists, check that "
                "JupyterHub is up and jupyterhub_api_url and jupyterhub_api_token are right.",
                code="JupyterHubUnavailable",
            ) from None
        if not model:
            raise AuthenticationError(
                "Invalid JupyterHub token: JupyterHub does not know it (revoked, expired or its "
                "user deleted). Restart your server from JupyterHub, or create a new token there.",
                code="InvalidToken",
            )
        return model  # type: ignore[no-any-return]

    def _sign_in(self, store: Store, name: str, groups: tuple[str, ...], model: dict[str, Any]) -> None:
        admin: bool | None = None
        if self.admins_are_admins:
            admin = bool(model["admin"]) if "admin" in model else self._is_admin(name)
        for attempt in (1, 2):
            try:
                with store.write() as s:
                    sync_user(s, name, groups=groups, group_roles=self.group_roles, admin=admin)
                break
            except IntegrityError:  # another request or process signed them in at the same time
                if attempt == 2:
                    raise
        with self._lock:
            self._signed_in[name] = (groups, admin, time.monotonic())
        log.info("JupyterHub user %s signed in (groups %s)", name, ", ".join(groups) or "none")

    def _is_admin(self, name: str) -> bool:
        # The token's own model holds the admin flag only with read:users; the service's token
        # (role with read:users) asks for it.
        try:
            r = httpx.get(
                f"{self.api_url}/users/{quote(name, safe='')}",
                headers={"Authorization": f"token {self.api_token}"},
                timeout=10,
            )
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(
                f"JupyterHub's API at {self.api_url} did not answer: {exc}.", code="JupyterHubUnavailable"
            ) from None
        if r.status_code != 200:
            raise ServiceUnavailable(
                f"JupyterHub's API at {self.api_url} answered {r.status_code} for user {name!r}: "
                "give the Workbench service's role the scope read:users (docs/teams.md).",
                code="JupyterHubUnavailable",
            )
        return bool(r.json().get("admin"))
