"""Loading models from the hub, each pinned to the exact commit it came from.

A model comes back as a ready ``torch.nn.Module`` in eval mode, by the first route that fits:
a ``transformers`` model (config with ``transformers_version`` or a known ``model_type``,
transformers installed; safetensors only), a ``torch.export`` program (``model.pt2``, vetted
by :mod:`workbench.kernel.programs`; no class needed), or the class named in ``config.json``
(``architectures[0]``, found in the registry, in the module named by ``"module"``, or in
``__main__``) built from the config and filled from ``model.safetensors``. Nothing from a repo
is ever unpickled, and no code from a repo is ever run.

>>> model = wb.load_model("admin/tiny-classifier")                # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import inspect
import json
import logging
import re
import sys
from typing import Any, TypeVar

from workbench.errors import InvalidRequest, NotFound, WorkbenchError
from workbench.kernel.constructors import RESERVED, construct
from workbench.kernel.inputs import record
from workbench.kernel.pinning import Resolved, fetch, pin
from workbench.kernel.programs import PROGRAM_FILE, load_program
from workbench.kernel.session import connection

log = logging.getLogger(__name__)

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
WEIGHTS_INDEX = "model.safetensors.index.json"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib")
_MODULE_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")

_registry: dict[str, type] = {}
T = TypeVar("T", bound=type)


def register_model(cls: T | None = None, *, name: str | None = None) -> Any:
    """Make a model class findable by ``wb.load_model`` under its name (or ``name``).

    >>> @wb.register_model
    ... class TinyMLP(torch.nn.Module): ...
    """

    def add(klass: T) -> T:
        _registry[name or klass.__name__] = klass
        return klass

    return add(cls) if cls is not None else add


def load_model(repo_id: str, *, revision: str | None = None, device: Any = None) -> Any:
    """A ``torch.nn.Module`` in eval mode from a model repo, pinned to ``revision``'s commit.

    >>> model = wb.load_model("admin/tiny-classifier", device="cpu")   # doctest: +SKIP
    """
    pinned = pin(repo_id, "model", revision)
    files = set(pinned.files)
    config = _read_config(pinned) if CONFIG in files else {}
    if _is_transformers(config):
        model = _load_transformers(pinned, config).eval()
    elif PROGRAM_FILE in files:
        model = load_program(fetch(pinned, [PROGRAM_FILE])[PROGRAM_FILE])
    else:
        model = _load_from_class(pinned, config, files).eval()
    if device is not None:
        model = model.to(device)
    record(repo_id, "model", pinned.commit, revision=revision, via="wb.load_model", hub=connection().url)
    return model


def _read_config(pinned: Resolved) -> dict[str, Any]:
    path = fetch(pinned, [CONFIG])[CONFIG]
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InvalidRequest(
            f"config.json of {pinned.repo_id} is not valid JSON: {exc}.", code="InvalidConfig"
        ) from None
    if not isinstance(config, dict):
        raise InvalidRequest(f"config.json of {pinned.repo_id} is not a JSON object.", code="InvalidConfig")
    return config


def _is_transformers(config: dict[str, Any]) -> bool:
    if not config or not ("transformers_version" in config or config.get("model_type")):
        return False
    try:
        from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES
    except ImportError:
        if "transformers_version" in config:
            log.warning(
                "config.json says transformers, which is not installed; trying the "
                "other ways to load the model"
            )
        return False
    return "transformers_version" in config or config.get("model_type") in CONFIG_MAPPING_NAMES


def _refuse_pickle_only(pinned: Resolved, files: set[str]) -> None:
    pickles = sorted(f for f in files if f.endswith(PICKLE_SUFFIXES))
    raise InvalidRequest(
        f"Model {pinned.repo_id} has no safetensors weights"
        + (f", only pickle files ({', '.join(pickles)}), which Workbench never loads" if pickles else "")
        + ". Publish it again with wb.publish_model (safetensors) or "
        "model.save_pretrained(..., safe_serialization=True).",
        code="NoSafeWeights",
    )


def _load_transformers(pinned: Resolved, config: dict[str, Any]) -> Any:
    import transformers

    files = set(pinned.files)
    if WEIGHTS not in files and WEIGHTS_INDEX not in files:
        _refuse_pickle_only(pinned, files)
    arch = (config.get("architectures") or [None])[0]
    cls = getattr(transformers, arch, None) if isinstance(arch, str) else None
    if not (inspect.isclass(cls) and hasattr(cls, "from_pretrained")):
        cls = transformers.AutoModel
    token: str | bool = connection().token or False
    try:
        return cls.from_pretrained(
            pinned.repo_id, revision=pinned.commit, use_safetensors=True, token=token, trust_remote_code=False
        )
    except (OSError, ValueError) as exc:
        raise InvalidRequest(
            f"transformers could not load {pinned.repo_id} at {pinned.commit[:12]}: {exc}", code="LoadFailed"
        ) from exc


def _find_class(name: str, config: dict[str, Any]) -> type | None:
    if name in _registry:
        return _registry[name]
    module_name = config.get("module")
    if isinstance(module_name, str) and _MODULE_NAME.match(module_name) and module_name != "__main__":
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            log.info("module %s named in config.json is not importable", module_name)
        else:
            cls = getattr(module, name, None)
            if inspect.isclass(cls):
                return cls
    main = sys.modules.get("__main__")
    cls = getattr(main, name, None) if main is not None else None
    return cls if inspect.isclass(cls) else None


def _load_from_class(pinned: Resolved, config: dict[str, Any], files: set[str]) -> Any:
    import torch
    from safetensors.torch import load_model as load_weights

    archs = config.get("architectures")
    name = archs[0] if isinstance(archs, list) and archs and isinstance(archs[0], str) else None
    if name is None:
        raise InvalidRequest(
            f"Model {pinned.repo_id} has no model.pt2 and its config.json names no class "
            '("architectures": ["ClassName"]), so Workbench cannot tell what to build. '
            "Publish it with wb.publish_model, which writes both.",
            code="NoModelClass",
        )
    if WEIGHTS not in files:
        _refuse_pickle_only(pinned, files)
    cls = _find_class(name, config)
    if cls is None:
        where = f" or import module {config['module']!r}" if config.get("module") else ""
        raise NotFound(
            f"Model class {name} of {pinned.repo_id} is not defined here. Define it in the "
            f"notebook{where}, or register it: @wb.register_model above `class {name}"
            "(torch.nn.Module)`; then call wb.load_model again. (Workbench never runs code "
            "from the repo.)",
            code="ModelClassNotFound",
        )
    if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
        raise InvalidRequest(f"{name} is not a torch.nn.Module subclass.", code="NoModelClass")
    model = construct(cls, config)
    path = fetch(pinned, [WEIGHTS])[WEIGHTS]
    try:
        load_weights(model, str(path), strict=True)
    except (RuntimeError, WorkbenchError) as exc:
        raise InvalidRequest(
            f"The weights of {pinned.repo_id} do not fit {name}({_kwargs_text(config)}): {exc}",
            code="WeightsMismatch",
        ) from exc
    return model


def _kwargs_text(config: dict[str, Any]) -> str:
    return ", ".join(
        f"{k}={v!r}" for k, v in config.items() if k not in RESERVED and not isinstance(v, dict | list)
    )
