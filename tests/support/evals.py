"""Helpers for the evaluation tests (``tests/test_evals_*.py``): CLI runs, a cheap notebook.

>>> result = eval_cli(hub, tmp, "eval", "run", "--model", m, "--dataset", d, "--json")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from tests.support.hub import HubProcess
from workbench.store.evals import RunInput

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "notebooks" / "evaluate.ipynb"


def eval_env(hub: HubProcess, cache: Path) -> dict[str, str]:
    """The environment of a CLI process (and so of its kernels) pointed at ``hub``."""
    return {
        **hub.env(),
        "WORKBENCH_HUB_URL": hub.url,
        "WORKBENCH_TOKEN": hub.token,
        "HF_ENDPOINT": hub.url,
        "XDG_CACHE_HOME": str(cache),
    }


def eval_cli(
    hub: HubProcess, cache: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``python -m workbench ARGS`` against ``hub``; never raises on a non-zero exit."""
    return subprocess.run(
        [sys.executable, "-m", "workbench", *args],
        capture_output=True,
        text=True,
        env={**eval_env(hub, cache), **(env or {})},
        cwd=cache,
        timeout=timeout,
    )


def as_json(proc: subprocess.CompletedProcess[str]) -> Any:
    assert proc.stdout.strip(), proc.stderr[-3000:]
    return json.loads(proc.stdout)


def quick_notebook(path: Path, *, parameters: bool = True) -> Path:
    """A notebook that evaluates nothing real, so its kernel starts fast: ``mode`` picks a
    random metric (not reproducible), a fixed one, a kernel that kills itself, a hang, or a
    run that fails when repeated in the same output folder (``once``)."""
    params = 'model = "admin/tiny-classifier"\ndataset = "admin/iris-mini"\nsplit = "test"\nmode = "fixed"\n'
    body = (
        "import os, random, signal, time\nimport workbench as wb\n"
        "if mode == 'kill':\n    os.kill(os.getpid(), signal.SIGKILL)\n"
        "if mode == 'sleep':\n    time.sleep(120)\n"
        "if mode == 'once':  # succeeds the first time in a folder, fails after\n"
        "    if os.path.exists('ran-once'):\n"
        "        raise RuntimeError('this notebook ran here before')\n"
        "    open('ran-once', 'w').close()\n"
        "value = random.random() if mode == 'random' else 0.5\n"
        "wb.report({'accuracy': value}, model=model, dataset=dataset, split=split,\n"
        "          metric_info={'accuracy': {'higher_is_better': True, 'tolerance': 0.0}})\n"
    )
    first = new_code_cell(params, metadata={"tags": ["parameters"]} if parameters else {})
    nb = new_notebook(
        cells=[first, new_code_cell(body)],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    nbformat.write(nb, path)
    return path


def run_input(commits: dict[str, str], **changes: Any) -> RunInput:
    """A succeeded record of alice/m on alice/d at ``commits`` (``{"model": oid, "dataset":
    oid}``), as a store test posts it; ``changes`` set its other fields."""
    data = RunInput(
        model="alice/m",
        dataset="alice/d",
        model_commit=commits["model"],
        dataset_commit=commits["dataset"],
        split="test",
        notebook_name="e.ipynb",
        notebook_sha256="a" * 64,
        status="succeeded",
        metrics={"accuracy": 0.5},
        metric_info={"accuracy": {"tolerance": 0.0}},
    )
    for key, value in changes.items():
        setattr(data, key, value)
    return data
