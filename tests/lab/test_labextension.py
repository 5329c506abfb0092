"""The lab extension: packaging, prettier and eslint, Jest tests of the front-end models, Galata
tests in Chromium.

``make test`` installs the JS dependencies (``make labextension``) and chromium
(``scripts/ensure-chromium.sh``) first; these tests run ``jlpm`` with the venv on PATH and
fail with the tool's output.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.hub import HF_ENV, free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _env() -> dict[str, str]:
    env = {**os.environ, **HF_ENV, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "CI": "1"}
    for name in ("WORKBENCH_HUB_URL", "WORKBENCH_TOKEN", "HF_TOKEN", "HF_ENDPOINT"):
        env.pop(name, None)
    return env


def _run(cmd: list[str], cwd: Path, timeout: float, **env: str) -> str:
    done = subprocess.run(
        cmd, cwd=cwd, env={**_env(), **env}, capture_output=True, text=True, timeout=timeout, check=False
    )
    out = ANSI.sub("", done.stdout + done.stderr)
    if done.returncode != 0:
        pytest.fail(
            f"{' '.join(cmd)} in {cwd.name}/ exited with {done.returncode}:\n{out[-12000:]}", pytrace=False
        )
    return out


def _need(path: Path) -> None:
    if not path.exists():
        pytest.fail(
            f"{path.relative_to(ROOT)} is missing: run `make labextension` (make test does).", pytrace=False
        )


def test_both_extensions_are_installed_and_enabled() -> None:
    labext = _run([str(BIN / "jupyter"), "labextension", "list"], ROOT, 120)
    assert re.search(r"workbench v0\.1\.0 enabled\s+OK", labext), labext
    server = _run([str(BIN / "jupyter"), "server", "extension", "list"], ROOT, 120)
    assert re.search(r"workbench\.jupyter\s+enabled", server), server
    assert re.search(r"workbench\.jupyter\s+OK", server), server


def test_python_and_js_versions_agree() -> None:
    import json

    from workbench.version import __version__

    js = json.loads((ROOT / "labextension" / "package.json").read_text())["version"]
    assert __version__ == js, "workbench/version.py and labextension/package.json must carry the same version"


@pytest.mark.timeout(360)  # above the tool's own 300 s limit, so that one reports
@pytest.mark.parametrize("check", ["prettier:check", "eslint:check"])
def test_front_end_style(check: str) -> None:
    """The TypeScript is formatted by prettier and passes eslint (labextension/eslint.config.mjs:
    no `any`, no `console.log`); `jlpm lint` in labextension/ fixes what it can."""
    _need(ROOT / "labextension" / "node_modules")
    _run([str(BIN / "jlpm"), check], ROOT / "labextension", 300)


@pytest.mark.browser
@pytest.mark.timeout(660)  # above jlpm test's own 600 s limit, so that one reports
def test_jest_front_end_models() -> None:
    _need(ROOT / "labextension" / "node_modules")
    out = _run([str(BIN / "jlpm"), "test"], ROOT / "labextension", 600)
    assert re.search(r"Tests:\s+\d+ passed", out), out


@pytest.mark.browser
@pytest.mark.timeout(960)  # above the Playwright run's own 900 s limit, so that one reports
def test_galata_in_chromium(tmp_path: Path) -> None:
    _need(ROOT / "ui-tests" / "node_modules")
    if not Path("/usr/bin/chromium").exists() and not os.environ.get("WB_CHROMIUM"):
        pytest.fail("chromium is not installed: run `make browser-deps` (make test does).", pytrace=False)
    shutil.rmtree(ROOT / "ui-tests" / "test-results", ignore_errors=True)
    # A free port and a private state folder, so that two runs on one machine do not collide.
    out = _run(
        [str(BIN / "jlpm"), "playwright", "test"],
        ROOT / "ui-tests",
        900,
        WB_UI_PORT=str(free_port()),
        WB_UI_STATE=str(tmp_path / "ui-state"),
    )
    assert re.search(r"\d+ passed", out) and not re.search(r"\d+ (failed|flaky)", out), out
