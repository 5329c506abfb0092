"""``workbench collection create/add/list/show/remove/delete`` against a real hub."""

from __future__ import annotations

import json
import secrets

import pytest

COMMANDS = ("create", "add", "remove", "list", "show", "delete")


@pytest.mark.parametrize("command", COMMANDS)
def test_help(hub, command: str) -> None:  # type: ignore[no-untyped-def]
    out = hub.cli("collection", command, "--help")
    assert "Usage" in out.stdout


def test_collection_commands(hub, api) -> None:  # type: ignore[no-untyped-def]
    tag = secrets.token_hex(3)
    model = f"admin/cli-model-{tag}"
    api.create_repo(model)
    slug = hub.cli("collection", "create", f"CLI {tag}", "--description", "from the shell").stdout.strip()
    assert slug.startswith(f"admin/cli-{tag}-")
    again = hub.cli("collection", "create", f"CLI {tag}", "--exist-ok").stdout.strip()
    assert again == slug
    taken = hub.cli("collection", "create", f"CLI {tag}", check=False)
    assert taken.returncode == 1 and "already has a collection" in taken.stderr
    out = hub.cli("collection", "add", slug, model, "--note", "the floor").stdout
    assert f"model    {model}  - the floor" in out
    missing = hub.cli("collection", "add", slug, f"admin/nothing-{tag}", "--type", "dataset", check=False)
    assert missing.returncode == 1 and "not found" in missing.stderr
    shown = hub.cli("collection", "show", slug).stdout
    assert shown.splitlines()[:3] == [f"{slug}  (1 items)", f"  CLI {tag}", "  from the shell"]
    data = json.loads(hub.cli("collection", "show", slug, "--json").stdout)
    assert data["items"][0]["id"] == model and data["items"][0]["note"]["text"] == "the floor"
    assert slug in hub.cli("collection", "list", "--owner", "admin").stdout
    listed = json.loads(hub.cli("collection", "list", "--item", f"models/{model}", "--json").stdout)
    assert [c["slug"] for c in listed] == [slug]
    assert hub.cli("collection", "remove", slug, model).stdout.strip() == f"removed {model} from {slug}"
    assert api.get_collection(slug).items == []
    hub.cli("collection", "delete", slug, "--yes")
    gone = hub.cli("collection", "show", slug, check=False)
    assert gone.returncode == 1 and "not found" in gone.stderr
