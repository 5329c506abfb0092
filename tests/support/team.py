"""An organization with one user per role, made in a running hub's store, for access tests.

>>> team = make_team(hub)                       # doctest: +SKIP
>>> team.tokens["writer"], team.org             # doctest: +SKIP
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx

from workbench.config import HubSettings
from workbench.store.accounts import create_org, create_token, create_user, set_membership
from workbench.store.store import Store

ROLES = ("reader", "writer", "admin")


@dataclass
class Team:
    org: str
    users: dict[str, str]  # who -> user name: reader, writer, admin, outsider
    tokens: dict[str, str | None] = field(default_factory=dict)  # who -> token (anonymous: None)
    read_tokens: dict[str, str] = field(default_factory=dict)  # who -> read-scope token

    def client(self, hub: Any, who: str, *, read_scope: bool = False) -> httpx.Client:
        token = self.read_tokens[who] if read_scope else self.tokens.get(who)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=hub.url, headers=headers, timeout=60)


def make_team(hub: Any, prefix: str = "team") -> Team:
    """Org ``{prefix}-xxxx`` with a reader, a writer and an admin member, plus an outsider."""
    tag = secrets.token_hex(3)
    team = Team(org=f"{prefix}-{tag}", users={})
    store = Store.open(
        HubSettings(
            data_dir=hub.data,
            write_user_config=False,
            **({"database_url": hub.database_url} if hub.database_url else {}),
        )
    )
    try:
        with store.write() as s:
            org = create_org(s, team.org)
            for who in (*ROLES, "outsider"):
                name = f"{who}-{tag}"
                user = create_user(s, name)
                team.users[who] = name
                team.tokens[who] = create_token(s, user, "rw", scope="write")
                team.read_tokens[who] = create_token(s, user, "ro", scope="read")
                if who != "outsider":
                    set_membership(s, org, user, {"reader": "read", "writer": "write", "admin": "admin"}[who])
    finally:
        store.close()
    team.tokens["anonymous"] = None
    return team
