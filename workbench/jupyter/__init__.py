"""Workbench inside Jupyter: the server extension (embedded hub, proxy, kernel environment).

Enabled on install (``jupyter-config/server-config/workbench.json``). Configure it with
traitlets, for example in ``jupyter_server_config.py``::

    c.Workbench.hub_url = "https://hub.example.org"   # else an embedded hub is started
    c.Workbench.token = "wb_..."                       # kept server-side, never sent to the browser
"""

from __future__ import annotations

from typing import Any

from workbench.jupyter.app import Workbench

__all__ = ["Workbench"]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": "workbench.jupyter", "app": Workbench}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    # Relative to this package: the built lab extension lives in workbench/labextension.
    return [{"src": "../labextension", "dest": "workbench"}]
