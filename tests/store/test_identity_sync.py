"""Users and memberships that JupyterHub decides (workbench.store.identity_sync)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from workbench.config import HubSettings
from workbench.errors import AuthenticationError, InvalidRequest
from workbench.store import models as m
from workbench.store.accounts import create_org, create_user, get_account, principal_for, set_membership
from workbench.store.identity_sync import parse_group_roles, principal_of, roles_for, sync_user
from workbench.store.store import Store

MAPPING = parse_group_roles("ml-team=acme:write,leads=acme:admin,leads=labs:read")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    s = Store.open(HubSettings(data_dir=tmp_path, database_url=url, write_user_config=False))
    yield s
    s.close()


def _orgs(store: Store, name: str) -> dict[str, str]:
    with store.read() as s:
        user = get_account(s, name)
        assert user is not None
        expected = principal_for(s, user, "write")
        assert principal_of(s, name, "write") == expected  # the one-statement form agrees
        return expected.org_names


def test_parse_group_roles() -> None:
    assert MAPPING == {"ml-team": (("acme", "write"),), "leads": (("acme", "admin"), ("labs", "read"))}
    assert parse_group_roles("") == {}
    for bad in ("ml-team", "ml-team=acme", "ml-team=acme:owner", "=acme:read", "g=bad name:read"):
        with pytest.raises(InvalidRequest):
            parse_group_roles(bad)


def test_highest_role_of_the_groups_wins() -> None:
    assert roles_for(["ml-team", "leads"], MAPPING) == {"acme": "admin", "labs": "read"}
    assert roles_for(["other"], MAPPING) == {}


def test_first_sight_creates_the_user_and_the_mapped_orgs(store: Store) -> None:
    with store.write() as s:
        user = sync_user(s, "alice", groups=["ml-team", "other"], group_roles=MAPPING)
        assert user.kind == "user" and not user.is_admin
    assert _orgs(store, "alice") == {"acme": "write"}
    with store.read() as s:
        actions = [e.action for e in s.scalars(select(m.AuditEvent).order_by(m.AuditEvent.id))]
        actors = {e.actor for e in s.scalars(select(m.AuditEvent))}
    assert actions == ["user.create", "org.create", "member.add"] and actors == {"jupyterhub"}


def test_each_sign_in_follows_the_groups_and_leaves_other_orgs_alone(store: Store) -> None:
    with store.write() as s:
        alice = create_user(s, "alice")  # an existing Workbench user of the same name
        other = create_org(s, "other")
        set_membership(s, other, alice, "read")  # not an org the mapping names
    with store.write() as s:
        sync_user(s, "alice", groups=["ml-team", "leads"], group_roles=MAPPING)
    assert _orgs(store, "alice") == {"acme": "admin", "labs": "read", "other": "read"}
    with store.write() as s:
        sync_user(s, "alice", groups=["ml-team"], group_roles=MAPPING)
    assert _orgs(store, "alice") == {"acme": "write", "other": "read"}
    with store.write() as s:
        sync_user(s, "alice", groups=[], group_roles=MAPPING)
    assert _orgs(store, "alice") == {"other": "read"}


def test_admin_flag_follows_only_when_asked(store: Store) -> None:
    with store.write() as s:
        assert sync_user(s, "root", admin=True).is_admin
    with store.write() as s:
        assert sync_user(s, "root").is_admin  # admin=None: left as it is
    with store.write() as s:
        assert not sync_user(s, "root", admin=False).is_admin


def test_names_that_are_no_user_are_refused(store: Store) -> None:
    with store.write() as s:
        create_org(s, "acme")
    for name in ("acme", "not a name", "api"):
        with store.write() as s, pytest.raises(AuthenticationError) as err:
            sync_user(s, name)
        assert err.value.code == "ExternalUserRefused"


def test_principal_of_a_missing_user_or_an_org_is_none(store: Store) -> None:
    with store.write() as s:
        create_org(s, "acme")
    with store.read() as s:
        assert principal_of(s, "nobody", "write") is None
        assert principal_of(s, "acme", "write") is None


def test_a_disabled_user_is_refused_whatever_token_they_bring(store: Store) -> None:
    """JupyterHub tokens too: disabling a user on the hub stops them at once."""
    with store.write() as s:
        create_user(s, "mallory").disabled = True
    with store.read() as s, pytest.raises(AuthenticationError) as info:
        principal_of(s, "mallory", "write")
    assert info.value.code == "AccountDisabled"
    with store.write() as s:
        user = get_account(s, "mallory")
        assert user is not None
        user.disabled = False
    with store.read() as s:
        assert principal_of(s, "mallory", "write") is not None
