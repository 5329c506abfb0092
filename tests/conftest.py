"""Shared fixtures: one real hub process per session, the HF clients pointed at it.

The HF libraries read HF_ENDPOINT at import, so the session hub's port is chosen and the
environment set here, before any test module imports them.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.hub import HF_ENV, HubProcess, free_port

pytest_plugins = ["tests.support.pg_fixtures"]

_SESSION_ROOT = Path(tempfile.mkdtemp(prefix="wb-tests-"))
_PORT = free_port()
os.environ.update(HF_ENV)
os.environ["HF_ENDPOINT"] = f"http://127.0.0.1:{_PORT}"
os.environ["HF_HOME"] = str(_SESSION_ROOT / "hf-home")
os.environ["HF_DATASETS_CACHE"] = str(_SESSION_ROOT / "hf-datasets")
os.environ["HF_EVALUATE_CACHE"] = str(_SESSION_ROOT / "hf-evaluate")
os.environ["HF_MODULES_CACHE"] = str(_SESSION_ROOT / "hf-modules")
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ.pop("HF_HUB_DISABLE_XET", None)
os.environ.pop("HF_TOKEN", None)


@pytest.fixture(scope="session")
def hub() -> Iterator[HubProcess]:
    """The session's hub: a real ``workbench hub serve`` on a free loopback port."""
    proc = HubProcess(_SESSION_ROOT / "hub", port=_PORT).start()
    os.environ["HF_TOKEN"] = proc.token
    yield proc
    proc.stop()


@pytest.fixture
def hub_factory(tmp_path: Path) -> Iterator[callable]:
    """Start extra hubs with their own data folders (for crash and restart tests)."""
    started: list[HubProcess] = []

    def make(**kwargs: object) -> HubProcess:
        h = HubProcess(tmp_path / f"hub{len(started)}", **kwargs)  # type: ignore[arg-type]
        started.append(h)
        return h.start()

    yield make
    for h in started:
        h.stop()


@pytest.fixture
def api(hub: HubProcess):  # type: ignore[no-untyped-def]
    from huggingface_hub import HfApi

    return HfApi(endpoint=hub.url, token=hub.token)


@pytest.fixture
def repo_id(api, request) -> str:  # type: ignore[no-untyped-def]
    """A fresh model repo under the admin user, named after the test."""
    import re
    import secrets

    name = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name)[:60].strip("-")
    rid = f"admin/{name}-{secrets.token_hex(3)}"
    api.create_repo(rid)
    return rid
