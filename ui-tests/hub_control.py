"""Start the hub the UI tests browse, and remember how to stop and restart it.

The Galata server config (jupyter_server_test_config.py) calls ``start`` once with demo
content; the "hub goes down and comes back" test kills the process whose pid is in
``state.json`` and runs ``python hub_control.py start`` to bring it back on the same port
and data folder. ``python hub_control.py runner-start NAME`` registers a runner (as the hub's
admin) and starts a ``workbench runner`` process for it; ``runner-stop NAME`` stops it (SIGTERM:
it hands its jobs back) and removes it from the hub.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
STATE_DIR = Path(os.environ.get("WB_UI_STATE", HERE / ".state"))
STATE = STATE_DIR / "state.json"
# Stops the hub when the Jupyter server that owns it is gone, however it ended (Playwright
# may SIGKILL the web server, which skips atexit), and exits when the hub does.
WATCHDOG = """
import os, sys, time
owner, hub = int(sys.argv[1]), int(sys.argv[2])
def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
while alive(hub):
    if not alive(owner):
        os.kill(hub, 15)
        break
    time.sleep(0.5)
"""


def read_state() -> dict[str, object]:
    return json.loads(STATE.read_text())


def start(data: Path, port: int) -> int:
    env = {**os.environ, "HF_HUB_DISABLE_TELEMETRY": "1", "HF_UPDATE_DOWNLOAD_COUNTS": "0",
           "WORKBENCH_WRITE_USER_CONFIG": "false"}
    log = open(STATE_DIR / "hub.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "hub", "serve", "--host", "127.0.0.1",
                             "--port", str(port), "--data", str(data)], env=env, stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"hub exited with {proc.returncode}; see {STATE_DIR / 'hub.log'}")
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    else:
        proc.kill()
        raise SystemExit(f"hub did not answer on {url}")
    state = read_state() if STATE.exists() else {}
    state.update(url=url, port=port, data=str(data), pid=proc.pid)
    STATE.write_text(json.dumps(state))
    _watch(proc.pid)
    return proc.pid


def _watch(pid: int) -> None:
    owner = int(str(read_state().get("owner", os.getpid())))
    subprocess.Popen([sys.executable, "-c", WATCHDOG, str(owner), str(pid)],
                     start_new_session=True, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _admin() -> httpx.Client:
    state = read_state()
    token = (Path(str(state["data"])) / "jupyter-token").read_text().strip()
    return httpx.Client(base_url=str(state["url"]), headers={"Authorization": f"Bearer {token}"},
                        timeout=30)


def start_runner(name: str) -> int:
    """Register runner ``name`` on the hub and start its process; answers its pid."""
    with _admin() as hub:
        hub.delete(f"/api/runners/{name}")  # a runner of an earlier run of the test
        got = hub.post("/api/runners", json={"name": name, "labels": []})
        got.raise_for_status()
        token, url = got.json()["token"], str(hub.base_url).rstrip("/")
    env = {**os.environ, "XDG_CACHE_HOME": str(STATE_DIR / "runner-cache")}
    log = open(STATE_DIR / f"runner-{name}.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "runner", "--hub", url, "--token", token,
                             "--name", name], env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    state = read_state()
    state["runners"] = {**dict(state.get("runners") or {}), name: proc.pid}  # type: ignore[arg-type]
    STATE.write_text(json.dumps(state))
    _watch(proc.pid)
    return proc.pid


def stop_runner(name: str, *, remove: bool = True) -> None:
    """Stop runner ``name``'s process (it hands its jobs back) and remove it from the hub."""
    pid = dict(read_state().get("runners") or {}).get(name)  # type: ignore[call-overload]
    if pid is not None:
        try:
            os.kill(int(pid), signal.SIGTERM)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                os.kill(int(pid), 0)
                time.sleep(0.2)
        except ProcessLookupError:
            pass
    if remove:
        with _admin() as hub:
            hub.delete(f"/api/runners/{name}")


def stop() -> None:
    if STATE.exists():
        for name in dict(read_state().get("runners") or {}):  # type: ignore[call-overload]
            stop_runner(str(name), remove=False)
        try:
            os.kill(int(read_state()["pid"]), 15)  # type: ignore[call-overload]
        except (ProcessLookupError, KeyError):
            pass


if __name__ == "__main__":
    if sys.argv[1:] == ["start"]:
        s = read_state()
        start(Path(str(s["data"])), int(str(s["port"])))
    elif sys.argv[1:] == ["stop"]:
        stop()
    elif len(sys.argv) == 3 and sys.argv[1] == "runner-start":
        start_runner(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "runner-stop":
        stop_runner(sys.argv[2])
    else:
        raise SystemExit("usage: python hub_control.py start|stop|runner-start NAME|runner-stop NAME")
