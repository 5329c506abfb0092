"""Pointing the Hugging Face libraries in this process at a hub.

``huggingface_hub``, ``datasets`` and ``evaluate`` read ``HF_ENDPOINT`` once, at import, so
:func:`point_libraries` sets the environment for later imports, patches the module constants
of those already imported and, through an import hook, of those imported later. Tokens are
never put in the environment; Workbench passes them explicitly.

>>> point_libraries("http://127.0.0.1:8765")       # doctest: +SKIP
"""

from __future__ import annotations

import importlib.abc
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit


def _patch(name: str, module: Any, url: str) -> None:
    host = urlsplit(url).hostname
    if name == "huggingface_hub.constants":
        module.ENDPOINT = url
        module.HUGGINGFACE_CO_URL_TEMPLATE = url + "/{repo_id}/resolve/{revision}/{filename}"
        if host:
            module.HF_URL_HOSTS = frozenset(module.HF_URL_HOSTS | {host.lower()})
        module.HF_HUB_DISABLE_TELEMETRY = True
    elif name == "huggingface_hub.hf_api" and getattr(module, "api", None) is not None:
        module.api.endpoint = url  # the module-level HfApi behind hf_hub's free functions
    elif name == "huggingface_hub.hf_file_system":
        module.HfFileSystem.clear_instance_cache()  # cached instances keep their endpoint
        fs = getattr(module, "hffs", None)
        if fs is not None:
            fs.endpoint = url
            fs._api.endpoint = url
    elif name == "datasets.config":
        module.HF_ENDPOINT = url
        module.HUB_DATASETS_URL = url + "/datasets/{repo_id}/resolve/{revision}/{path}"
        # Otherwise datasets asks datasets-server.<hub host> for exports, with the token.
        module.USE_PARQUET_EXPORT = False
        module.HF_UPDATE_DOWNLOAD_COUNTS = False
    elif name == "evaluate.config":
        module.HF_ENDPOINT = url
        module.HF_LIST_ENDPOINT = url + "/api/spaces?filter={type}"
        module.HUB_EVALUATE_URL = url + "/spaces/{path}/resolve/{revision}/{name}"
        module.HF_UPDATE_DOWNLOAD_COUNTS = False


_PATCHED = (
    "huggingface_hub.constants",
    "huggingface_hub.hf_api",
    "huggingface_hub.hf_file_system",
    "datasets.config",
    "evaluate.config",
)


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Patches the HF libraries' config modules right after they are first executed."""

    def __init__(self) -> None:
        self.url: str | None = None

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        if fullname not in _PATCHED or self.url is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is not None and hasattr(loader, "exec_module"):
            original = loader.exec_module

            def exec_module(module: ModuleType) -> None:
                original(module)
                if self.url:
                    _patch(fullname, module, self.url)

            loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


_hook = _PatchOnImport()


def point_libraries(url: str) -> None:
    """Point huggingface_hub, datasets and evaluate (imported or not yet) at ``url``."""
    os.environ["HF_ENDPOINT"] = url
    os.environ["HF_UPDATE_DOWNLOAD_COUNTS"] = "0"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    _hook.url = url
    if _hook not in sys.meta_path:
        sys.meta_path.insert(0, _hook)
    for name in _PATCHED:
        module = sys.modules.get(name)
        if module is not None:
            _patch(name, module, url)
