"""The user commands (login, repo, upload, download, log) as a user runs them: real processes."""

from __future__ import annotations

import json
import os
import secrets
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.support.hub import HubProcess

COMMANDS = [
    [],
    ["login"],
    ["whoami"],
    ["repo"],
    ["repo", "create"],
    ["repo", "list"],
    ["repo", "info"],
    ["repo", "delete"],
    ["upload"],
    ["download"],
    ["log"],
]


def _rid(prefix: str) -> str:
    return f"admin/{prefix}-{secrets.token_hex(3)}"


def test_every_command_has_help(hub: HubProcess) -> None:
    with ThreadPoolExecutor(len(COMMANDS)) as pool:
        results = list(pool.map(lambda cmd: hub.cli(*cmd, "--help", check=False), COMMANDS))
    for cmd, res in zip(COMMANDS, results, strict=True):
        assert res.returncode == 0, (cmd, res.stderr)
        assert "Usage:" in res.stdout and "--help" in res.stdout, cmd


def test_repo_create_list_info_delete(hub: HubProcess) -> None:
    rid = _rid("cli-repo")
    out = hub.cli("repo", "create", rid, "--type", "dataset", "--private")
    assert out.stdout.strip() == f"{hub.url}/datasets/{rid}"
    again = hub.cli("repo", "create", rid, "--type", "dataset", check=False)
    assert again.returncode == 1 and again.stderr.startswith("error: ")
    assert "Traceback" not in again.stderr
    hub.cli("repo", "create", rid, "--type", "dataset", "--exist-ok")
    listed = json.loads(
        hub.cli("repo", "list", "--type", "dataset", "--search", rid.split("/")[1], "--json").stdout
    )
    assert [r["id"] for r in listed] == [rid] and listed[0]["private"] is True
    info = json.loads(hub.cli("repo", "info", rid, "--type", "dataset", "--json").stdout)
    assert info["id"] == rid and len(info["sha"]) == 40
    human = hub.cli("repo", "info", rid, "--type", "dataset").stdout
    assert rid in human and info["sha"] in human
    refused = hub.cli("repo", "delete", rid, "--type", "dataset", check=False, input="n\n")
    assert refused.returncode == 1
    hub.cli("repo", "info", rid, "--type", "dataset")  # still there
    hub.cli("repo", "delete", rid, "--type", "dataset", "--yes")
    gone = hub.cli("repo", "info", rid, "--type", "dataset", check=False)
    assert gone.returncode == 1 and gone.stderr.startswith("error: ") and rid in gone.stderr


def test_upload_download_log(hub: HubProcess, tmp_path: Path) -> None:
    rid = _rid("cli-files")
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "config.json").write_text('{"a": 1}\n')
    (src / "sub" / "weights.bin").write_bytes(os.urandom(300_000))
    (src / "sub" / "ü notes.txt").write_text("hello\n")
    up = json.loads(hub.cli("upload", rid, str(src), "--create", "-m", "Add files", "--json").stdout)
    assert len(up["commitOid"]) == 40 and up["stats"]["files_uploaded"] == 3
    again = hub.cli("upload", rid, str(src))
    assert "Nothing to commit" in again.stdout
    single = hub.cli("upload", rid, str(src / "config.json"), "--path-in-repo", "conf/c.json")
    assert "Uploaded 1 files" in single.stdout

    out = tmp_path / "out"
    res = json.loads(
        hub.cli("download", rid, "--revision", up["commitOid"], "--local-dir", str(out), "--json").stdout
    )
    assert len(res["files"]) == 4  # with the .gitattributes every repo starts with
    for p in ("config.json", "sub/weights.bin", "sub/ü notes.txt"):
        assert (out / p).read_bytes() == (src / p).read_bytes()
    one = hub.cli("download", rid, "conf/c.json", "--local-dir", str(tmp_path / "one"))
    assert "Downloaded 1 files" in one.stdout
    assert (tmp_path / "one" / "conf" / "c.json").read_bytes() == (src / "config.json").read_bytes()

    commits = json.loads(hub.cli("log", rid, "--json").stdout)
    assert commits[1]["id"] == up["commitOid"] and commits[1]["title"] == "Add files"
    lines = hub.cli("log", rid, "--limit", "2").stdout.splitlines()
    assert len(lines) == 2 and lines[1].startswith(up["commitOid"][:8])
    assert lines[1].endswith("Add files") and "admin" in lines[1]


def test_errors_exit_1_without_traceback(hub: HubProcess, tmp_path: Path) -> None:
    for args in (
        ["upload", "admin/nope-" + secrets.token_hex(3), str(tmp_path)],
        ["upload", "admin/x", str(tmp_path / "missing.txt")],
        ["download", "admin/nope-" + secrets.token_hex(3), "--local-dir", str(tmp_path)],
        ["log", "not-a-repo-id"],
    ):
        res = hub.cli(*args, check=False)
        assert res.returncode == 1, args
        assert res.stderr.startswith("error: ") and "Traceback" not in res.stderr, args


def test_login(hub: HubProcess) -> None:
    config = hub.config_home / "workbench" / "config.json"
    original = config.read_bytes()
    try:
        bad = hub.cli("login", "--token", "wb_wrong", check=False)
        assert bad.returncode == 1 and bad.stderr.startswith("error: ")
        assert config.read_bytes() == original

        config.write_text(json.dumps({"token": "stale", "hub_url": "http://stale:1"}))
        config.chmod(0o644)
        ok = hub.cli("login", "--url", hub.url, input=hub.token + "\n")  # token from the prompt
        assert "as admin" in ok.stdout
        assert stat.S_IMODE(config.stat().st_mode) == 0o600
        saved = json.loads(config.read_text())
        assert (saved["token"], saved["hub_url"]) == (hub.token, hub.url)
        assert saved["tokens"] == {"http://stale:1": "stale", hub.url: hub.token}
        assert "admin" in hub.cli("whoami").stdout
        assert json.loads(hub.cli("whoami", "--json").stdout)["name"] == "admin"
    finally:
        config.write_bytes(original)
        config.chmod(0o600)


def test_path_in_repo_needs_one_source(hub: HubProcess, tmp_path: Path) -> None:
    (tmp_path / "a").write_text("a")
    (tmp_path / "b").write_text("b")
    res = hub.cli(
        "upload", "admin/any", str(tmp_path / "a"), str(tmp_path / "b"), "--path-in-repo", "x", check=False
    )
    assert res.returncode == 1 and "--path-in-repo" in res.stderr
