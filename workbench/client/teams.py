"""Organizations, roles, tokens, the audit log, access requests to gated repos and paper
BibTeX over the workbench API.

>>> hub.set_role("acme", "bob", "write")                               # doctest: +SKIP
{'name': 'bob', 'role': 'write', 'fullname': 'bob', 'type': 'user'}
>>> token = hub.create_token("ci", scope="read")["token"]             # shown only now
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from workbench.client.hub_client import HubClient


def _seg(value: str) -> str:
    return quote(value, safe="")


def org_members(hub: HubClient, org: str) -> list[dict[str, Any]]:
    return hub.request("GET", f"/api/organizations/{_seg(org)}/members").json()  # type: ignore[no-any-return]


def set_role(hub: HubClient, org: str, user: str, role: str) -> dict[str, Any]:
    return hub.request(
        "PUT",
        f"/api/organizations/{_seg(org)}/members/{_seg(user)}",  # type: ignore[no-any-return]
        json={"role": role},
    ).json()


def remove_member(hub: HubClient, org: str, user: str) -> None:
    hub.request("DELETE", f"/api/organizations/{_seg(org)}/members/{_seg(user)}")


def tokens(hub: HubClient) -> list[dict[str, Any]]:
    return hub.request("GET", "/api/tokens").json()  # type: ignore[no-any-return]


def create_token(
    hub: HubClient,
    name: str,
    *,
    scope: str = "read",
    expires_in: int | None = None,
    limits: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "scope": scope}
    if expires_in is not None:
        body["expiresIn"] = expires_in
    if limits:
        body["limits"] = limits
    return hub.request("POST", "/api/tokens", json=body).json()  # type: ignore[no-any-return]


def revoke_token(hub: HubClient, token_id: int) -> None:
    hub.request("DELETE", f"/api/tokens/{int(token_id)}")


def audit(hub: HubClient, **filters: Any) -> list[dict[str, Any]]:
    """Audit events, newest first; filters: namespace, action, actor, repo, limit, before."""
    params = {k: v for k, v in filters.items() if v is not None}
    return hub.request("GET", "/api/audit", params=params).json()["events"]  # type: ignore[no-any-return]


def request_access(hub: HubClient, repo_id: str, *, type: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Ask for access to a gated repo with the answers its card's form asks for."""
    return hub.request("POST", hub.web_path(repo_id, type, "ask-access"), json=fields).json()  # type: ignore[no-any-return]


def paper_bibtex(hub: HubClient, repo_id: str) -> str:
    return hub.request("GET", hub.api_path(repo_id, "paper", "bibtex")).text
