"""Pytest plugin: run huggingface_hub's own tests, unedited, against a Workbench hub.

Loaded with ``-p plugin`` by ``scripts/interop/run.py`` (which sets the ``WB_INTEROP_*``
variables), from the root of the unpacked source archive. With ``conftest.py`` (the
fixtures) it stands in for the suite's own conftest, which the archive does not ship:

- points ``tests.testing_constants`` (staging endpoint, users, tokens, org) at the hub,
  before any test module imports them;
- applies the suite's marker policy (``xet``, ``no_xet``, ``git_lfs``);
- skips the out-of-scope tests listed in ``scope.toml``, each with its reason;
- refuses name resolution of any host but loopback, so no test reaches a public hub (hf_xet
  resolves names itself, but only talks to the CAS URL the hub hands out).
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import os
import socket
import tomllib
from pathlib import Path

import pytest

SCOPE_FILE = Path(__file__).with_name("scope.toml")
LOOPBACK = {"127.0.0.1", "localhost", "::1", None}

_real_getaddrinfo = socket.getaddrinfo


def _loopback_only(host, *args, **kwargs):  # type: ignore[no-untyped-def]
    name = host.decode() if isinstance(host, bytes) else host
    if name not in LOOPBACK:
        raise socket.gaierror(socket.EAI_NONAME, f"interop: {name} is not loopback")
    return _real_getaddrinfo(host, *args, **kwargs)


def load_scope() -> dict:
    """``files`` to run and ``[[skip]]`` rules: ``markers`` or ``tests`` (node id patterns), ``reason``."""
    return tomllib.loads(SCOPE_FILE.read_text())


def _point_constants_at_hub() -> None:
    """Rebind the suite's constants; test modules import them by name afterwards."""
    values = json.loads(os.environ["WB_INTEROP_CONSTANTS"])
    import tests.testing_constants as constants

    for name, value in values.items():
        setattr(constants, name, value)


def pytest_configure(config: pytest.Config) -> None:
    socket.getaddrinfo = _loopback_only
    if "WB_INTEROP_CONSTANTS" in os.environ:
        _point_constants_at_hub()
    # A marker of pytest-vcr, which is not installed (it records inference calls, out of scope).
    config.addinivalue_line("markers", "vcr: recorded HTTP (pytest-vcr, not installed)")


def _skip_reason(item: pytest.Item, rules: list[dict]) -> str | None:
    for rule in rules:
        if any(item.get_closest_marker(m) for m in rule.get("markers", [])):
            return rule["reason"]
        if any(fnmatch.fnmatchcase(item.nodeid, p) for p in rule.get("tests", [])):
            return rule["reason"]
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rules = load_scope()["skip"]
    xet_installed = importlib.util.find_spec("hf_xet") is not None
    for item in items:
        reason = _skip_reason(item, rules)
        if reason:
            item.add_marker(pytest.mark.skip(reason=f"out of scope: {reason}"))
        # The suite's own policy (its conftest.py, not shipped in the archive).
        if item.get_closest_marker("no_xet") and xet_installed:
            item.add_marker(pytest.mark.skip(reason="no_xet: runs only without hf_xet"))
        if item.get_closest_marker("xet") and not xet_installed:
            item.add_marker(pytest.mark.skip(reason="xet: needs hf_xet"))
        if item.get_closest_marker("git_lfs") and not os.environ.get("RUN_GIT_LFS_TESTS"):
            item.add_marker(pytest.mark.skip(reason="git_lfs: RUN_GIT_LFS_TESTS is not set"))
