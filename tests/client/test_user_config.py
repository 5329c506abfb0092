"""A saved token goes only to the hub it was saved for (``UserConfig``), through the client,
the CLI (real processes) and the kernel helpers.

"Another host" is a real HTTP server on loopback that records the ``Authorization`` header of
every request it gets and answers like an empty hub.
"""

from __future__ import annotations

import http.server
import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.hub import HF_ENV, HubProcess
from workbench.client import HubClient
from workbench.config import UserConfig, hub_identity, same_hub

SECRET = "wb_saved-secret"


class Recorder:
    """An HTTP server on a free loopback port; ``seen`` holds the Authorization header (or
    None) of each request, in order."""

    def __init__(self) -> None:
        seen: list[str | None] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                seen.append(self.headers.get("Authorization"))
                body = b"[]" if self.path.startswith("/api/models") else b'{"name": "someone"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.seen = seen
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Recorder:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def _recorders(n: int) -> Iterator[list[Recorder]]:
    with Recorder() as a, Recorder() as b:
        yield [a, b][:n]


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user config folder of this test's own, and no hub or token in the environment."""
    home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.delenv("WORKBENCH_HUB_URL", raising=False)
    monkeypatch.delenv("WORKBENCH_TOKEN", raising=False)
    return home


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workbench", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )


def _cli_env(config_home: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, **HF_ENV, "XDG_CONFIG_HOME": str(config_home), **extra}
    for name in ("WORKBENCH_HUB_URL", "WORKBENCH_TOKEN"):
        if name not in extra:
            env.pop(name, None)
    return env


def test_the_cli_sends_a_saved_token_only_to_its_own_hub(config_home: Path) -> None:
    with _recorders(2) as (saved, other):
        UserConfig.load().save(saved.url, SECRET)
        env = _cli_env(config_home)
        _cli("repo", "list", "--url", other.url, env=env)
        assert other.seen == [None]
        _cli("repo", "list", "--url", saved.url + "/", env=env)  # the same hub, spelled apart
        _cli("repo", "list", env=env)  # no URL: the saved hub
        assert saved.seen == [f"Bearer {SECRET}"] * 2


def test_the_client_sends_a_saved_token_only_to_its_own_hub(config_home: Path) -> None:
    with _recorders(2) as (saved, other):
        UserConfig.load().save(saved.url, SECRET)
        with HubClient(other.url) as c:
            assert c.token is None
            c.list_repos()
        localhost = saved.url.replace("127.0.0.1", "localhost")  # another name: another host
        with HubClient(localhost) as c:
            assert c.token is None
            c.list_repos()
        assert other.seen == [None] and saved.seen == [None]
        with HubClient(saved.url) as c:
            c.list_repos()
        assert saved.seen == [None, f"Bearer {SECRET}"]


def test_workbench_token_belongs_to_workbench_hub_url(config_home: Path) -> None:
    """WORKBENCH_TOKEN goes to the hub WORKBENCH_HUB_URL names, or without it to the hub used
    when no URL is given; an explicit --token goes wherever it is told."""
    with _recorders(2) as (env_hub, other):
        env = _cli_env(config_home, WORKBENCH_HUB_URL=env_hub.url, WORKBENCH_TOKEN="wb_env")
        _cli("repo", "list", "--url", other.url, env=env)
        _cli("repo", "list", env=env)
        _cli("repo", "list", "--url", other.url, "--token", "wb_explicit", env=env)
        assert env_hub.seen == ["Bearer wb_env"]
        assert other.seen == [None, "Bearer wb_explicit"]

        UserConfig.load().save(env_hub.url, SECRET)  # no WORKBENCH_HUB_URL: the saved hub's
        env = _cli_env(config_home, WORKBENCH_TOKEN="wb_env")
        _cli("repo", "list", env=env)
        _cli("repo", "list", "--url", other.url, env=env)
        assert env_hub.seen[1:] == ["Bearer wb_env"] and other.seen[2:] == [None]


def test_the_saved_hub_still_gets_its_token(hub: HubProcess, config_home: Path) -> None:
    """The hub's first start saved its admin token for its own URL: commands reach it as
    admin without a token, from a real process."""
    saved = json.loads((hub.config_home / "workbench" / "config.json").read_text())
    assert same_hub(saved["hub_url"], hub.url)
    UserConfig.load().save(saved["hub_url"], saved["token"])
    out = _cli("whoami", "--json", env=_cli_env(config_home))
    assert json.loads(out.stdout)["name"] == "admin"
    with HubClient() as c:
        assert c.whoami()["name"] == "admin"


def test_save_keeps_the_file_private_and_other_keys(config_home: Path) -> None:
    path = config_home / "workbench" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"token": "old", "hub_url": "http://old:1", "theme": "dark"}))
    path.chmod(0o644)
    assert UserConfig.load().save("https://hub.example.org/", "wb_new") == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {
        "token": "wb_new",
        "hub_url": "https://hub.example.org",
        "theme": "dark",
        "tokens": {"http://old:1": "old", "https://hub.example.org": "wb_new"},  # one per hub
    }
    assert [p.name for p in path.parent.iterdir()] == ["config.json"]
    with pytest.raises(ValueError):
        UserConfig.load().save("hub.example.org", "wb_x")


def test_an_unreadable_or_urlless_config_sends_no_token(config_home: Path) -> None:
    path = config_home / "workbench" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert UserConfig.load() == UserConfig(None, None, path)
    path.write_text(json.dumps({"token": SECRET}))  # which hub it was saved for is unknown
    assert UserConfig.load().resolve() == ("http://127.0.0.1:8765", None)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765/", True),
        ("HTTP://Hub.Example.ORG", "http://hub.example.org:80", True),
        ("https://hub.example.org/", "https://hub.example.org:443", True),
        ("https://hub.example.org/team/", "https://hub.example.org/team", True),
        ("http://127.0.0.1:8765", "http://localhost:8765", False),
        ("http://hub.example.org", "https://hub.example.org", False),
        ("http://hub.example.org:8080", "http://hub.example.org", False),
        ("https://hub.example.org/team", "https://hub.example.org/other", False),
        ("https://hub.example.org", "https://hub.example.org.evil.test", False),
        ("http://[::1]:8765", "http://[::1]:8765/", True),
        ("hub.example.org", "hub.example.org", False),  # no scheme: no hub at all
        ("http://hub.example.org:bad", "http://hub.example.org:bad", False),
    ],
)
def test_which_urls_are_the_same_hub(a: str, b: str, same: bool) -> None:
    assert same_hub(a, b) is same
    assert (hub_identity(a) == hub_identity(b) and hub_identity(a) is not None) is same


def test_jupyterhub_token_goes_only_to_the_hub_workbench_hub_url_names(
    config_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a JupyterHub single-user server (docs/teams.md): no login needed, nothing leaked."""
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "jupyterhub-secret")
    assert UserConfig.load().resolve()[1] is None  # no hub named: the token goes nowhere
    monkeypatch.setenv("WORKBENCH_HUB_URL", "https://hub.example.org")
    assert UserConfig.load().resolve() == ("https://hub.example.org", "jupyterhub-secret")
    assert UserConfig.load().resolve("https://hub.example.org:443/")[1] == "jupyterhub-secret"
    assert UserConfig.load().resolve("https://elsewhere.example.org")[1] is None
    UserConfig.load().save("https://hub.example.org", "wb_saved")
    assert UserConfig.load().resolve()[1] == "wb_saved"  # a saved login for that hub wins
    monkeypatch.setenv("WORKBENCH_TOKEN", "wb_env")
    assert UserConfig.load().resolve()[1] == "wb_env"


def test_a_token_per_hub_each_sent_only_to_its_own(config_home: Path) -> None:
    """Logging in to a second hub keeps the first hub's token, for the first hub only."""
    with _recorders(2) as (first, second):
        UserConfig.load().save(first.url, "wb_first")
        UserConfig.load().save(second.url + "/", "wb_second")
        config = UserConfig.load()
        assert config.hub_url == second.url  # the last login is the default hub
        assert config.token_for(first.url) == "wb_first"
        assert config.token_for(second.url) == "wb_second"
        assert config.token_for(first.url.replace("127.0.0.1", "localhost")) is None
        with HubClient(first.url) as c:
            c.list_repos()
        _cli("repo", "list", env=_cli_env(config_home))  # no URL: the last hub logged in to
        assert first.seen == ["Bearer wb_first"] and second.seen == ["Bearer wb_second"]
        UserConfig.load().save(first.url, "wb_again")  # a new login replaces that hub's token
        assert UserConfig.load().tokens == {first.url: "wb_again", second.url: "wb_second"}


def test_wb_login_checks_saves_and_connects(
    hub: HubProcess, hub_factory: Any, config_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import workbench as wb
    from workbench.errors import AuthenticationError

    other = hub_factory()
    try:
        conn = wb.login(other.token, url=other.url)
        assert conn.url == other.url and conn.user == "admin"
        with pytest.raises(AuthenticationError) as info:
            wb.login("wb_" + "x" * 43, url=hub.url)
        assert info.value.code == "InvalidToken"
        assert UserConfig.load().token_for(hub.url) is None  # a refused token is not saved
        monkeypatch.setattr("getpass.getpass", lambda prompt: hub.token + "\n")  # asked, typed
        wb.login(url=hub.url)
        config = UserConfig.load()
        assert config.token_for(other.url) == other.token and config.token_for(hub.url) == hub.token
        assert wb.connection().url == hub.url
        with HubClient(other.url) as c:  # the first hub's token, kept for it
            assert c.whoami()["name"] == "admin"
    finally:
        wb.connect(hub.url, hub.token)
