"""Start the hub the UI tests browse, and remember how to stop and restart it.

The Galata server config (jupyter_server_test_config.py) calls ``start`` once with demo
content; the "hub goes down and comes back" test kills the process whose pid is in
``state.json`` and runs ``python hub_control.py start`` to bring it back on the same port
and data folder.
"""

from __future__ import annotations

import json
import os
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
    owner = int(str(state.get("owner", os.getpid())))
    subprocess.Popen([sys.executable, "-c", WATCHDOG, str(owner), str(proc.pid)],
                     start_new_session=True, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc.pid


def stop() -> None:
    if STATE.exists():
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
    else:
        raise SystemExit("usage: python hub_control.py start|stop")
