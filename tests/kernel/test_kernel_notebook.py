"""notebooks/quickstart.ipynb, executed by papermill in a real kernel against the session hub."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tests.support.hub import HF_ENV, HubProcess
from tests.support.kernel import seed_demo

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quickstart_notebook(hub: HubProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    papermill = pytest.importorskip("papermill")
    import nbformat

    seed_demo(hub)
    # The kernel inherits this environment, as kernels started by JupyterLab do.
    for key, value in {
        **HF_ENV,
        "HF_ENDPOINT": hub.url,
        "WORKBENCH_HUB_URL": hub.url,
        "WORKBENCH_TOKEN": hub.token,
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    suffix = f"-{secrets.token_hex(3)}"
    out = tmp_path / "quickstart.out.ipynb"
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "quickstart.ipynb"),
        str(out),
        parameters={"suffix": suffix},
        kernel_name="python3",
        cwd=str(tmp_path),
        progress_bar=False,
        execution_timeout=300,
    )
    nb = nbformat.read(out, as_version=4)
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = " ".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "test accuracy" in text
    html = " ".join(str(o.get("data", {}).get("text/html", "")) for o in outputs)
    assert f"admin/quickstart-irisnet{suffix}" in html
    assert f"admin/quickstart-iris-predictions{suffix}" in html
    widgets = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert widgets  # the search box
