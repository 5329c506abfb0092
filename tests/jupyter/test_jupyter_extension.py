"""The Jupyter server extension over HTTP: embedded hub, authenticated proxy, token kept server-side.

A real ``jupyter server`` with ``workbench.jupyter`` starts its own embedded hub; the tests talk
to it the way the lab extension does, and check that the hub stops with the server.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from huggingface_hub import HfApi

from tests.support.hub import HF_ENV, free_port
from workbench.jupyter.handlers import refused

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "jupyter-test-token"


@dataclass
class Lab:
    url: str
    proc: subprocess.Popen[bytes]
    data: Path
    log: Path

    def get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.get(
            self.url + path, headers={"Authorization": f"token {TOKEN}", **(headers or {})}, timeout=30
        )

    def hub_token(self) -> str:
        return (self.data / "jupyter-token").read_text().strip()


def _start(tmp: Path, *extra: str) -> Lab:
    port = free_port()
    env = {
        **os.environ,
        **HF_ENV,
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "XDG_CONFIG_HOME": str(tmp / "config"),
    }
    for name in ("WORKBENCH_HUB_URL", "WORKBENCH_TOKEN", "HF_TOKEN", "HF_ENDPOINT"):
        env.pop(name, None)
    (tmp / "root").mkdir(parents=True, exist_ok=True)
    log = tmp / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter",
                "server",
                "--allow-root",
                "--no-browser",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={TOKEN}",
                f"--ServerApp.root_dir={tmp / 'root'}",
                f"--Workbench.data_dir={tmp / 'hub'}",
                *extra,
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    lab = Lab(f"http://127.0.0.1:{port}", proc, tmp / "hub", log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"jupyter server exited:\n{log.read_text()[-4000:]}")
        try:
            if lab.get("/api/status").status_code == 200:
                return lab
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"jupyter server did not start:\n{log.read_text()[-4000:]}")


def _stop(lab: Lab) -> None:
    if lab.proc.poll() is None:
        os.killpg(lab.proc.pid, signal.SIGTERM)
        try:
            lab.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(lab.proc.pid, signal.SIGKILL)
            lab.proc.wait()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab = _start(tmp_path_factory.mktemp("jupyter"), "--Workbench.demo=True")
    try:
        deadline = time.monotonic() + 180
        while lab.get("/workbench/status").json().get("demo") == "loading":
            assert time.monotonic() < deadline, "demo content did not finish loading"
            time.sleep(0.5)
        yield lab
    finally:
        _stop(lab)


def test_status_names_the_embedded_hub(lab: Lab) -> None:
    status = lab.get("/workbench/status").json()
    assert status["embedded"] is True and status["reachable"] is True
    assert status["demo"] == "ready" and status["user"] == "admin"
    assert status["hubUrl"].startswith("http://127.0.0.1:")
    assert httpx.get(status["hubUrl"] + "/api/health").json()["status"] == "ok"


@pytest.mark.parametrize(
    "path", ["/workbench/status", "/workbench/hub/api/search?q=tiny", "/workbench/hub/api/whoami-v2"]
)
def test_every_handler_requires_jupyter_auth(lab: Lab, path: str) -> None:
    assert httpx.get(lab.url + path).status_code == 403
    assert httpx.get(lab.url + path, headers={"Authorization": "token wrong"}).status_code == 403
    assert httpx.put(lab.url + "/workbench/connection", content=b"{}").status_code == 403


def test_proxy_adds_the_token_and_never_returns_it(lab: Lab) -> None:
    token = lab.hub_token()
    who = lab.get("/workbench/hub/api/whoami-v2")
    assert who.status_code == 200 and who.json()["name"] == "admin"  # the proxy authenticated
    for path in (
        "/workbench/status",
        "/workbench/hub/api/whoami-v2",
        "/workbench/hub/api/search?q=iris",
        "/workbench/hub/api/models/admin/tiny-classifier",
        "/workbench/hub/admin/tiny-classifier/resolve/main/README.md",
    ):
        r = lab.get(path)
        assert r.status_code == 200, path
        assert token not in r.text and token not in json.dumps(dict(r.headers)), path
    refused = lab.get("/workbench/hub/api/models/admin/tiny-classifier/xet-read-token/main")
    assert refused.status_code == 403 and refused.headers["X-Error-Code"] == "ProxyRefused"
    minted = httpx.post(
        lab.url + "/workbench/hub/api/tokens",
        json={"name": "from-browser"},
        headers={"Authorization": f"token {TOKEN}"},
    )
    assert minted.status_code == 403 and minted.headers["X-Error-Code"] == "ProxyRefused"
    assert "wb_" not in minted.text


def test_proxy_passes_hub_errors_through(lab: Lab) -> None:
    r = lab.get("/workbench/hub/api/models/admin/no-such-model")
    assert r.status_code == 404
    assert r.headers["X-Error-Code"] == "RepoNotFound"
    # the public hub's short header text, which the HF clients match; the body names the repo
    assert r.headers["X-Error-Message"] == "Repository not found"
    assert "no-such-model" in r.json()["message"]
    bad = lab.get("/workbench/hub/api/search?limit=100000")
    assert bad.status_code in (400, 422) and bad.headers.get("X-Error-Code")


def test_proxy_keeps_encoded_slashes_in_revisions(lab: Lab) -> None:
    # refs%2Fpr%2F99 is one revision: the hub must say which one is missing, not "no route".
    r = lab.get("/workbench/hub/api/models/admin/tiny-classifier/tree/refs%2Fpr%2F99")
    assert r.status_code == 404 and r.headers["X-Error-Code"] == "RevisionNotFound", r.text
    assert "refs/pr/99" in r.headers["X-Error-Message"]
    hub = lab.get("/workbench/status").json()["hubUrl"]  # decoded, the hub reads another revision
    decoded = httpx.get(f"{hub}/api/models/admin/tiny-classifier/tree/refs/pr/99")
    assert "refs/pr/99" not in decoded.headers.get("X-Error-Message", "")
    spaced = lab.get("/workbench/hub/admin/tiny-classifier/resolve/main/no%20such%20file.txt")
    assert spaced.status_code == 404 and "no such file.txt" in spaced.headers["X-Error-Message"]


def test_proxy_streams_files_and_ranges(lab: Lab) -> None:
    full = lab.get("/workbench/hub/admin/tiny-classifier/resolve/main/config.json")
    assert full.status_code == 200 and json.loads(full.content)["n_classes"] == 3
    assert len(full.headers["X-Repo-Commit"]) == 40
    part = lab.get(
        "/workbench/hub/admin/tiny-classifier/resolve/main/config.json", headers={"Range": "bytes=0-9"}
    )
    assert part.status_code == 206 and part.content == full.content[:10]


def test_own_tokens_through_their_own_door(lab: Lab) -> None:
    # the Team panel's tokens: /workbench/tokens lists, creates (the secret once) and revokes
    auth = {"Authorization": f"token {TOKEN}"}
    assert httpx.get(lab.url + "/workbench/tokens").status_code == 403  # Jupyter's auth first
    made = httpx.post(lab.url + "/workbench/tokens", json={"name": "panel", "scope": "read"}, headers=auth)
    assert made.status_code == 200, made.text
    secret, token_id = made.json()["token"], made.json()["id"]
    assert made.json()["scope"] == "read" and secret.startswith("wb_")
    hub_url = lab.get("/workbench/status").json()["hubUrl"]
    who = httpx.get(hub_url + "/api/whoami-v2", headers={"Authorization": f"Bearer {secret}"})
    assert who.status_code == 200 and who.json()["name"] == "admin"
    listed = lab.get("/workbench/tokens").json()
    assert any(t["id"] == token_id and t["name"] == "panel" for t in listed)
    assert all("token" not in t for t in listed)  # a listing never carries a secret
    for method, path in (("PUT", "/workbench/tokens"), ("DELETE", "/workbench/tokens")):
        assert httpx.request(method, lab.url + path, headers=auth).status_code == 405
    assert httpx.get(lab.url + "/workbench/tokens/../hub/api/tokens", headers=auth).status_code in (403, 404)
    revoked = httpx.delete(f"{lab.url}/workbench/tokens/{token_id}", headers=auth)
    assert revoked.status_code == 200, revoked.text
    who = httpx.get(hub_url + "/api/whoami-v2", headers={"Authorization": f"Bearer {secret}"})
    assert who.status_code == 401


@pytest.mark.parametrize("prefix", ["/lab/workbench/", "/workbench/open/"])
def test_deep_links_open_in_the_lab(lab: Lab, prefix: str) -> None:
    # ahead of JupyterLab's own /lab/... rules, which would answer "Path Not Found"
    r = httpx.get(
        lab.url + prefix + "model/admin/tiny-classifier/pr/2",
        headers={"Authorization": f"token {TOKEN}"},
        follow_redirects=False,
    )
    assert r.status_code == 302
    assert r.headers["location"] == "/lab?workbench-open=model%2Fadmin%2Ftiny-classifier%2Fpr%2F2"
    anonymous = httpx.get(lab.url + prefix + "model/admin/x", follow_redirects=False)
    assert anonymous.status_code in (302, 403) and "workbench-open" not in anonymous.headers.get(
        "location", ""
    )


def test_proxy_forwards_writes(lab: Lab) -> None:
    created = httpx.post(
        lab.url + "/workbench/hub/api/repos/create",
        headers={"Authorization": f"token {TOKEN}"},
        json={"name": "from-the-proxy", "organization": None},
        timeout=30,
    )
    assert created.status_code == 200, created.text
    info = lab.get("/workbench/hub/api/models/admin/from-the-proxy")
    assert info.status_code == 200 and info.json()["id"] == "admin/from-the-proxy"


def test_proxy_refuses_only_the_credential_endpoints(lab: Lab) -> None:
    """A repo named ``tokens`` with a folder ``token`` is an ordinary repo; /api/tokens is not."""
    auth = {"Authorization": f"token {TOKEN}"}
    created = httpx.post(
        lab.url + "/workbench/hub/api/repos/create",
        headers=auth,
        json={"name": "tokens", "organization": None},
        timeout=30,
    )
    assert created.status_code in (200, 409), created.text
    text = b"not a secret\n"
    lines = [
        {"key": "header", "value": {"summary": "a folder named token"}},
        {
            "key": "file",
            "value": {
                "path": "token/tokens.txt",
                "encoding": "base64",
                "content": base64.b64encode(text).decode(),
            },
        },
    ]
    committed = httpx.post(
        lab.url + "/workbench/hub/api/models/admin/tokens/commit/main",
        headers={**auth, "Content-Type": "application/x-ndjson"},
        timeout=30,
        content="".join(json.dumps(line) + "\n" for line in lines),
    )
    assert committed.status_code == 200, committed.text
    for path in (
        "/workbench/hub/api/models/admin/tokens",
        "/workbench/hub/api/models/admin/tokens/tree/main/token",
        "/workbench/hub/api/models/admin/tokens/commits/main",
        "/workbench/hub/api/search?q=tokens",
    ):
        r = lab.get(path)
        assert r.status_code == 200, (path, r.text)
    assert lab.get("/workbench/hub/api/models/admin/tokens").json()["id"] == "admin/tokens"
    assert lab.get("/workbench/hub/admin/tokens/resolve/main/token/tokens.txt").content == text
    for path in (
        "/workbench/hub/api/tokens",
        "/workbench/hub/api/tokens/1",
        "/workbench/hub/api//tokens",
        "/workbench/hub/api/%74okens",
        "/workbench/hub/API/Tokens",
        "/workbench/hub/api/models/admin/tokens/xet-read-token/main",
        "/workbench/hub/api/datasets/admin/iris-mini/xet-write-token/main",
    ):
        r = lab.get(path)
        assert r.status_code == 403 and r.headers["X-Error-Code"] == "ProxyRefused", path
    # Paths as tornado hands them over (decoded); dot segments cannot hide a refused one.
    assert refused("api/./tokens/") and refused("api/models/../tokens") and refused("/api/tokens")
    assert not refused("api/models/admin/tokens") and not refused("admin/tokens/resolve/main/token")
    assert not refused("api/models/admin/xet-read-token")  # a repo with that name


def test_hub_url_setting_never_sends_the_token_elsewhere(lab: Lab) -> None:
    auth = {"Authorization": f"token {TOKEN}"}
    bad = httpx.put(lab.url + "/workbench/connection", headers=auth, json={"hubUrl": "ftp://x"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "InvalidHubUrl"
    assert httpx.put(lab.url + "/workbench/connection", headers=auth, content=b"[").status_code == 400
    other = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    switched = httpx.put(lab.url + "/workbench/connection", headers=auth, json={"hubUrl": other})
    try:
        assert switched.json()["hubUrl"] == other and switched.json()["authenticated"] is False
        status = lab.get("/workbench/status").json()
        assert status["reachable"] is False and "does not answer" in status["error"]
        down = lab.get("/workbench/hub/api/search")
        assert down.status_code == 502 and down.headers["X-Error-Code"] == "HubUnavailable"
        assert "does not answer" in down.json()["error"]["message"]
    finally:
        back = httpx.put(lab.url + "/workbench/connection", headers=auth, json={"hubUrl": ""})
    assert back.json()["authenticated"] is True and back.json()["embedded"] is True
    assert lab.get("/workbench/hub/api/whoami-v2").json()["name"] == "admin"


def test_embedded_hub_reuses_its_token_and_stops_with_the_server(tmp_path: Path) -> None:
    lab = _start(tmp_path)
    hub_url = lab.get("/workbench/status").json()["hubUrl"]
    token = lab.hub_token()
    assert oct((lab.data / "jupyter-token").stat().st_mode & 0o777) == "0o600"
    hub_pids = [
        p.pid
        for p in psutil.Process(lab.proc.pid).children(recursive=True)
        if "hub" in p.cmdline() and "serve" in p.cmdline()
    ]
    assert len(hub_pids) == 1
    _stop(lab)
    with pytest.raises(httpx.HTTPError):
        httpx.get(hub_url + "/api/health", timeout=2)
    assert not psutil.pid_exists(hub_pids[0]) or psutil.Process(hub_pids[0]).status() == "zombie"
    again = _start(tmp_path)
    try:
        assert again.hub_token() == token
        assert again.get("/workbench/hub/api/whoami-v2").json()["name"] == "admin"
        # The restarted hub listens on a new port; the saved login follows it, so a terminal
        # outside this server reaches it with no token given.
        new_url = again.get("/workbench/status").json()["hubUrl"]
        saved = json.loads((tmp_path / "config" / "workbench" / "config.json").read_text())
        assert (saved["hub_url"], saved["token"]) == (new_url, token)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKBENCH_", "HF_TOKEN"))}
        whoami = subprocess.run(
            [sys.executable, "-m", "workbench", "whoami", "--url", new_url],
            env={**env, "XDG_CONFIG_HOME": str(tmp_path / "config")},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert whoami.returncode == 0 and "admin" in whoami.stdout, whoami.stderr
    finally:
        _stop(again)


def test_a_login_to_a_remote_hub_is_kept(tmp_path: Path) -> None:
    from workbench.config import UserConfig

    path = tmp_path / "config" / "workbench" / "config.json"
    UserConfig.load(path).save("https://hub.example.org", "wb_team")
    lab = _start(tmp_path)
    try:
        assert lab.get("/workbench/status").json()["embedded"] is True
        saved = json.loads(path.read_text())
        assert (saved["hub_url"], saved["token"]) == ("https://hub.example.org", "wb_team")
    finally:
        _stop(lab)


def test_evaluation_run_reports_progress_and_its_record(lab: Lab) -> None:
    auth = {"Authorization": f"token {TOKEN}"}
    bad = httpx.post(lab.url + "/workbench/evals", headers=auth, json={"model": "admin/tiny-classifier"})
    assert bad.status_code == 400 and "dataset" in bad.json()["error"]["message"]
    assert lab.get("/workbench/evals/0123abcd").status_code == 404
    started = httpx.post(
        lab.url + "/workbench/evals",
        headers=auth,
        timeout=30,
        json={
            "model": "admin/tiny-classifier",
            "dataset": "admin/iris-mini",
            "split": "test",
            "metrics": ["accuracy"],
        },
    )
    assert started.status_code == 202, started.text
    run_id, seen, events = started.json()["id"], 0, []
    deadline = time.monotonic() + 400
    while True:
        out = lab.get(f"/workbench/evals/{run_id}?since={seen}").json()
        events += out["events"]
        seen = out["next"]
        if out["status"] in ("succeeded", "failed"):
            break
        assert time.monotonic() < deadline, events
        time.sleep(1)
    assert out["status"] == "succeeded", out
    assert events[0]["event"] == "resolve" and events[-1]["event"] == "done"
    # each cell is named for the lab's progress bar: its tag, or its first line of text
    names = [e["name"] for e in events if e["event"] == "cell_start"]
    assert "injected-parameters" in names, names
    assert any(n.startswith("net = wb.load_model(model") for n in names), names
    record = out["record"]
    assert 0.5 < record["metrics"]["accuracy"] <= 1.0
    stored = lab.get(f"/workbench/hub/api/evals/{record['id']}").json()
    assert stored["metrics"]["accuracy"] == record["metrics"]["accuracy"]
    assert lab.hub_token() not in json.dumps(out)


def _publish(lab: Lab, body: dict[str, object]) -> httpx.Response:
    return httpx.post(lab.url + "/workbench/publish", headers={"Authorization": f"token {TOKEN}"}, json=body)


def _finish(lab: Lab, task_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    seen, events, deadline = 0, [], time.monotonic() + 120
    while True:
        out = lab.get(f"/workbench/publish/{task_id}?since={seen}").json()
        events += out["events"]
        seen = out["next"]
        if out["status"] in ("succeeded", "failed"):
            return out, events
        assert time.monotonic() < deadline, events
        time.sleep(0.3)


def test_publish_a_file_and_a_folder_from_the_file_browser(lab: Lab) -> None:
    root = lab.data.parent / "root"
    (root / "weights").mkdir(exist_ok=True)
    (root / "weights" / "model.bin").write_bytes(os.urandom(300_000))
    (root / "weights" / "config.json").write_text('{"hidden": 4}')
    (root / "notes.md").write_text("# Notes\n")
    hub = lab.get("/workbench/status").json()["hubUrl"]
    api = HfApi(endpoint=hub, token=lab.hub_token())

    started = _publish(lab, {"path": "weights", "repo": "admin/published", "private": True})
    assert started.status_code == 202, started.text
    out, events = _finish(lab, started.json()["id"])
    assert out["status"] == "succeeded", out
    record = out["record"]
    assert record["repo"] == "admin/published" and record["files"] == 2 and not record["unchanged"]
    assert record["commit"] == api.model_info("admin/published").sha
    assert api.model_info("admin/published").private is True
    assert set(api.list_repo_files("admin/published")) >= {"model.bin", "config.json"}
    uploads = [e for e in events if e["event"] == "upload"]
    assert uploads and uploads[-1]["done"] == uploads[-1]["total"] > 0  # progress to the end
    assert lab.hub_token() not in json.dumps(out)

    # a file into an existing dataset repo; publishing the same again changes nothing
    for unchanged in (False, True):
        r = _publish(lab, {"path": "notes.md", "repo": "admin/published-notes", "type": "dataset"})
        out, _ = _finish(lab, r.json()["id"])
        assert out["status"] == "succeeded" and out["record"]["unchanged"] is unchanged, out
    assert "notes.md" in api.list_repo_files("admin/published-notes", repo_type="dataset")

    # bad input: a clear 400 and nothing started
    for body, words in (
        ({"path": "../outside", "repo": "admin/x"}, "outside the JupyterLab root"),
        ({"path": "/etc/passwd", "repo": "admin/x"}, "relative to the JupyterLab root"),
        ({"path": "missing.txt", "repo": "admin/x"}, "does not exist"),
        ({"path": "notes.md", "repo": "no-slash"}, "namespace/name"),
        ({"path": "notes.md", "repo": "admin/x", "type": "paper"}, "model, dataset or space"),
    ):
        r = _publish(lab, body)
        assert r.status_code == 400, (body, r.text)
        assert words in r.json()["error"]["message"], (body, r.text)
    (root / "link").unlink(missing_ok=True)
    (root / "link").symlink_to("/etc")
    r = _publish(lab, {"path": "link/hostname", "repo": "admin/x"})
    assert r.status_code == 400 and "outside the JupyterLab root" in r.text
    assert lab.get("/workbench/publish/0123abcd").status_code == 404

    # the hub's refusal comes back in its own words
    r = _publish(lab, {"path": "notes.md", "repo": "someone-else/x"})
    out, _ = _finish(lab, r.json()["id"])
    assert out["status"] == "failed" and out["record"]["error"]["code"], out
