"""The notebook gallery (notebooks/*.ipynb): every notebook runs top to bottom with papermill,
in a real kernel, against the session hub holding the demo content.

A new notebook is covered as soon as it is added. Notebooks with a dedicated test that checks
more than "no cell failed" are listed in DEDICATED; that test must name the notebook.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from tests.support.hub import HF_ENV, HubProcess
from tests.support.kernel import seed_demo

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
DEDICATED = {
    "quickstart.ipynb": "kernel/test_kernel_notebook.py",
    "hub_tour.ipynb": "lab/test_lab.py",
    "evaluate.ipynb": "evals/test_evals_runs.py",
}
GALLERY = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))


def _parameters(nb: dict) -> str:  # type: ignore[type-arg]
    cells = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    return "".join(cells[0]["source"]) if cells else ""


@pytest.fixture(scope="module")
def demo(hub: HubProcess) -> dict[str, str]:
    return seed_demo(hub)


def test_the_gallery_is_clean_and_listed() -> None:
    """Committed without outputs (Binder users see their own), listed in the README."""
    readme = (NOTEBOOKS / "README.md").read_text()
    for name in GALLERY:
        nb = json.loads((NOTEBOOKS / name).read_text())
        assert nb["metadata"]["kernelspec"]["name"] == "python3", name
        assert nb["cells"][0]["cell_type"] == "markdown", f"{name} starts with its title"
        assert not [c for c in nb["cells"] if c["cell_type"] == "code" and c.get("outputs")], (
            f"{name} is committed with outputs: clear them"
        )
        assert f"`{name}`" in readme, f"notebooks/README.md does not list {name}"
    for name, test in DEDICATED.items():
        assert name in (ROOT / "tests" / test).read_text(), f"{test} no longer runs {name}"


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in GALLERY if n not in DEDICATED])
def test_gallery_notebook_runs(
    name: str, hub: HubProcess, demo: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    papermill = pytest.importorskip("papermill")
    import nbformat

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
    source = NOTEBOOKS / name
    declared = _parameters(json.loads(source.read_text()))
    # Published repo names get a suffix so that runs never collide on the shared hub.
    params = {"suffix": f"-{secrets.token_hex(3)}"} if "suffix" in declared else {}
    out = tmp_path / name
    papermill.execute_notebook(
        str(source),
        str(out),
        parameters=params,
        kernel_name="python3",
        cwd=str(tmp_path),
        progress_bar=False,
        execution_timeout=300,
    )
    nb = nbformat.read(out, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "every cell ran"
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert outputs, f"{name} shows nothing"
