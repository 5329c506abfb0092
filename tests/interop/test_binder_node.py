"""On Binder the lab extension is built at image build time: a fresh clone has no
``workbench/labextension/`` (it is build output, ignored by Git), so repo2docker's
``pip install .`` runs hatch-jupyter-builder, hence ``jlpm build:prod`` with the Node.js of
repo2docker's base environment. The replayed Binder start (test_binder_start.py) copies the
locally built extension to save minutes; this test checks, without Docker, that the Node.js
repo2docker would put in the image satisfies what the extension's bundler asks for."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _version(text: str) -> tuple[int, int, int]:
    major, minor, patch = (int(p) for p in re.findall(r"\d+", text)[:3])
    return major, minor, patch


def _satisfies(version: tuple[int, int, int], ranges: str) -> bool:
    """npm ranges of the forms the bundler uses: ``^A.B.C`` and ``>=A.B.C``, joined by ``||``."""
    for part in (p.strip() for p in ranges.split("||")):
        low = _version(part)
        if part.startswith("^") and version[0] == low[0] and version >= low:
            return True
        if part.startswith(">=") and version >= low:
            return True
    return False


def test_satisfies() -> None:
    assert _satisfies((20, 19, 5), "^20.19.0 || >=22.12.0")
    assert not _satisfies((20, 18, 9), "^20.19.0 || >=22.12.0")
    assert not _satisfies((21, 0, 0), "^20.19.0 || >=22.12.0")
    assert _satisfies((24, 1, 0), "^20.19.0 || >=22.12.0")


def test_binder_image_node_can_build_the_lab_extension() -> None:
    import importlib.util

    spec = importlib.util.find_spec("repo2docker")  # located, not imported (its import warns)
    assert spec is not None and spec.submodule_search_locations, "jupyter-repo2docker is missing"
    package = Path(next(iter(spec.submodule_search_locations)))
    python = (ROOT / "binder" / "runtime.txt").read_text().strip().removeprefix("python-")
    lock = package / "buildpacks" / "conda" / f"environment.py-{python}-linux-64.lock"
    if not lock.is_file():
        pytest.fail(
            f"repo2docker has no base environment for Python {python} ({lock.name}); "
            "binder/runtime.txt names a Python it does not support.",
            pytrace=False,
        )
    found = re.search(r"/nodejs-(\d+\.\d+\.\d+)-", lock.read_text())
    assert found, f"{lock.name} installs no Node.js: the lab extension could not be built"
    rspack = ROOT / "labextension" / "node_modules" / "@rspack" / "core" / "package.json"
    if not rspack.is_file():
        pytest.fail("labextension/node_modules is missing: run `make labextension`.", pytrace=False)
    wanted = json.loads(rspack.read_text())["engines"]["node"]
    assert _satisfies(_version(found.group(1)), wanted), (
        f"repo2docker's Node.js {found.group(1)} does not satisfy the bundler's {wanted!r}: "
        "the Binder image could not build the lab extension"
    )
