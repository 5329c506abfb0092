"""JupyterLab server for the Galata tests: the real Workbench server extension and a real hub.

The hub is started here (not embedded) so that a test can stop it and start it again; the
server extension reaches it through ``c.Workbench.hub_url`` with the token kept server-side.
"""

import atexit
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from jupyterlab.galata import configure_jupyter_server

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hub_control

from workbench.jupyter.embedded import ensure_token, free_port

configure_jupyter_server(c)  # noqa: F821 - token '', xsrf off, temp root_dir, galata helpers
c.ServerApp.ip = "127.0.0.1"  # noqa: F821
c.ServerApp.port = int(os.environ.get("WB_UI_PORT", "18890"))  # noqa: F821
c.ServerApp.allow_root = True  # noqa: F821

os.environ.update(HF_HUB_DISABLE_TELEMETRY="1", HF_UPDATE_DOWNLOAD_COUNTS="0")
shutil.rmtree(hub_control.STATE_DIR, ignore_errors=True)
hub_control.STATE_DIR.mkdir(parents=True)
# This Jupyter server owns the hub: the hub's watchdog stops it when this process is gone.
hub_control.STATE.write_text(json.dumps({"owner": os.getpid()}))
_data = hub_control.STATE_DIR / "hub"
_token = ensure_token(_data)
hub_control.start(_data, free_port())
atexit.register(hub_control.stop)
_url = str(hub_control.read_state()["url"])
subprocess.run([sys.executable, "-m", "workbench", "demo", "--url", _url], check=True,
               env={**os.environ, "WORKBENCH_HUB_URL": _url, "WORKBENCH_TOKEN": _token},
               stdout=subprocess.DEVNULL)

c.Workbench.hub_url = _url  # noqa: F821
c.Workbench.token = _token  # noqa: F821
