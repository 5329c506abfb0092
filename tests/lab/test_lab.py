"""`make lab`'s script: JupyterLab whose server extension starts the hub with demo content,
the Workbench lab extension (sidebar) installed, and the tour notebook."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.hub import HF_ENV, free_port

ROOT = Path(__file__).resolve().parents[2]


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"lab.sh exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer:\n{log.read_text()[-4000:]}")


@pytest.mark.slow
def test_lab_script_starts_hub_with_demo_and_jupyterlab(tmp_path: Path) -> None:
    from huggingface_hub import HfApi, hf_hub_download

    hub_port, lab_port = free_port(), free_port()
    env = {
        **os.environ,
        **HF_ENV,
        "WORKBENCH_DATA": str(tmp_path / "hub"),
        "WORKBENCH_PORT": str(hub_port),
        "LAB_PORT": str(lab_port),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
    }
    env.pop("HF_TOKEN", None)
    log = tmp_path / "lab.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            ["bash", "scripts/lab.sh", "--IdentityProvider.token=wbtest"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    hub_url = f"http://127.0.0.1:{hub_port}"
    try:
        _wait(f"http://127.0.0.1:{lab_port}/lab?token=wbtest", proc, log)
        lab_url = f"http://127.0.0.1:{lab_port}"
        page = httpx.get(f"{lab_url}/lab?token=wbtest").text
        assert "JupyterLab" in page
        status = _wait_for_demo(lab_url, log)
        assert status["embedded"] is True and status["hubUrl"] == hub_url and status["reachable"]
        # The sidebar: the Workbench lab extension is among those JupyterLab serves.
        extensions = httpx.get(f"{lab_url}/lab/api/extensions?token=wbtest").json()
        assert "workbench" in {e["name"] for e in extensions}
        assert (
            httpx.get(f"{lab_url}/lab/extensions/workbench/static/style.js?token=wbtest").status_code == 200
        )
        api = HfApi(endpoint=hub_url, token=False)  # anonymous: public demo repos
        ids = {m.id for m in api.list_models(author="admin")}
        assert "admin/tiny-classifier" in ids
        assert "admin/iris-mini" in {d.id for d in api.list_datasets(author="admin")}
        config = hf_hub_download(
            "admin/tiny-classifier",
            "config.json",
            endpoint=hub_url,
            cache_dir=tmp_path / "cache",
            token=False,
        )
        assert '"n_classes": 3' in Path(config).read_text()
        _run_tour_notebook(hub_url, tmp_path)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the hub goes away with JupyterLab
        try:
            httpx.get(f"{hub_url}/api/health", timeout=1)
        except httpx.HTTPError:
            break
        time.sleep(0.5)
    else:
        raise AssertionError("the hub still answers after JupyterLab stopped")


def _wait_for_demo(lab_url: str, log: Path, timeout: float = 180) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status: dict[str, object] = httpx.get(f"{lab_url}/workbench/status?token=wbtest").json()
        if status.get("demo") != "loading":
            assert status.get("demo") == "ready", f"{status}\n{log.read_text()[-4000:]}"
            return status
        time.sleep(0.5)
    raise AssertionError(f"the demo content did not load:\n{log.read_text()[-4000:]}")


def _run_tour_notebook(hub_url: str, tmp_path: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / "notebooks" / "hub_tour.ipynb", as_version=4)
    kernel_env = {
        **os.environ,
        **HF_ENV,
        "HF_ENDPOINT": hub_url,
        "WORKBENCH_HUB_URL": hub_url,
        "HF_HOME": str(tmp_path / "nb-hf"),
    }
    kernel_env.pop("HF_TOKEN", None)
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute(env=kernel_env)
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = " ".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "admin/tiny-classifier" in text and "'fc1.weight'" in text
