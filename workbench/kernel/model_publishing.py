"""Publishing a ``torch.nn.Module``: weights, ``config.json``, a program and a card, in one commit.

>>> wb.publish_model(model, "me/tiny", example_inputs=torch.randn(8, 4), license="mit")  # doctest: +SKIP
CommitInfo('me/tiny', type='model', oid='3f2a...')
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from workbench.errors import InvalidRequest
from workbench.kernel.constructors import RESERVED, read_arguments
from workbench.kernel.display import CommitInfo
from workbench.kernel.inputs import inputs
from workbench.kernel.programs import PROGRAM_FILE, export_program
from workbench.kernel.publishing import Files, as_list, commit_repo, compose_card, provenance
from workbench.kernel.session import check_repo_id


def _init_kwargs(model: Any, config: Mapping[str, Any] | None) -> dict[str, Any]:
    if config is not None:
        source: Any = config
    elif isinstance(getattr(model, "init_kwargs", None), Mapping):
        source = model.init_kwargs
    else:
        source = getattr(model, "config", None)
    if source is None:
        return {}
    if hasattr(source, "to_dict"):
        source = source.to_dict()
    elif not isinstance(source, Mapping) and hasattr(source, "__dict__"):
        source = vars(source)
    if not isinstance(source, Mapping):
        raise InvalidRequest(
            "config must be a mapping of the model's constructor arguments.", code="InvalidConfig"
        )
    out = dict(source)
    try:
        json.dumps(out)
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(
            f"The model's config must be JSON-serializable ({exc}).", code="InvalidConfig"
        ) from None
    return out


def _model_config(model: Any, config: Mapping[str, Any] | None, *, has_program: bool) -> dict[str, Any]:
    """config.json: the class, where to import it from, and its constructor arguments.

    With a program (``has_program``) the arguments are a courtesy: ``wb.load_model`` uses
    the program, so those that cannot be found are left out. Without one they must all be
    there, given or read from the instance.
    """
    import importlib

    cls = type(model)
    kwargs = _init_kwargs(model, config)
    reserved = RESERVED & set(kwargs)
    if reserved:
        raise InvalidRequest(
            f"config may not set {', '.join(sorted(reserved))}: Workbench writes them.", code="InvalidConfig"
        )
    if not callable(getattr(cls, "from_config", None)):
        found = read_arguments(model, kwargs)
        if not has_program and (found.missing or found.problem):
            fix = (
                "Pass example_inputs=(...) to publish a torch.export program, which loads "
                "without the class or its arguments, or pass config={...} with the "
                "constructor arguments (or give the model an `init_kwargs` dict)."
            )
            if found.missing:
                raise InvalidRequest(
                    f"{cls.__name__}() needs {', '.join(found.missing)}, which the instance "
                    "does not keep as attributes of that name, so wb.load_model could not "
                    f"rebuild it. {fix}",
                    code="InvalidConfig",
                )
            raise InvalidRequest(
                f"The constructor arguments read from the {cls.__name__} instance do not "
                f"rebuild it: {found.problem}. {fix}",
                code="InvalidConfig",
            )
        kwargs = found.found
    out: dict[str, Any] = {"architectures": [cls.__name__]}
    module = cls.__module__
    if module != "__main__":
        try:
            if getattr(importlib.import_module(module), cls.__name__, None) is cls:
                out["module"] = module
        except ImportError:
            pass
    return {**out, **kwargs}


def _model_body(repo_id: str, model: Any, has_program: bool, library: str) -> str:
    n_params = sum(p.numel() for p in model.parameters())
    routes = (
        "`model.pt2` (a `torch.export` program with a dynamic batch dimension: no Python class needed), "
        if has_program
        else ""
    )
    return (
        f"# {repo_id.split('/')[1]}\n\n"
        f"`{type(model).__name__}` ({library}), {n_params:,} parameters.\n\n"
        "## How to use\n\n```python\nimport workbench as wb\n"
        f'model = wb.load_model("{repo_id}")\n```\n\n'
        f"Files: {routes}`model.safetensors` (weights) and `config.json` (class and "
        "constructor arguments). Published with `wb.publish_model`.\n"
    )


def publish_model(
    model: Any,
    repo_id: str,
    *,
    example_inputs: Any = None,
    card: str | None = None,
    private: bool = False,
    message: str | None = None,
    config: Mapping[str, Any] | None = None,
    license: str | None = None,
    tags: Sequence[str] = (),
    datasets: Sequence[str] = (),
    base_model: str | Sequence[str] | None = None,
    task: str | None = None,
) -> CommitInfo:
    """Publish a ``torch.nn.Module``: safetensors weights, ``config.json``, a card, and a
    ``torch.export`` program (``model.pt2``) when ``example_inputs`` are given.

    >>> wb.publish_model(net, "me/tiny", example_inputs=torch.randn(4, 4), license="mit",
    ...                  datasets=["me/iris"], task="tabular-classification")  # doctest: +SKIP
    """
    import torch

    check_repo_id(repo_id)
    if not isinstance(model, torch.nn.Module):
        raise InvalidRequest(
            f"publish_model needs a torch.nn.Module, not {type(model).__name__}.", code="NotAModel"
        )
    transformers = sys.modules.get("transformers")  # a transformers model imported it already
    is_transformers = transformers is not None and isinstance(model, transformers.PreTrainedModel)
    library = "transformers" if is_transformers else "pytorch"
    meta = {
        "library_name": library,
        "license": license,
        "pipeline_tag": task,
        "tags": as_list(tags),
        "datasets": as_list(datasets),
        "base_model": base_model,
    }
    with tempfile.TemporaryDirectory(prefix="wb-publish-") as tmp:
        folder = Path(tmp)
        files: Files = {}
        if is_transformers:
            model.save_pretrained(folder, safe_serialization=True)  # type: ignore[operator]
            files.update({p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file()})
        else:
            from safetensors.torch import save_model

            cfg = _model_config(model, config, has_program=example_inputs is not None)
            save_model(model, str(folder / "model.safetensors"), metadata={"format": "pt"})
            (folder / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
            files["model.safetensors"] = folder / "model.safetensors"
            files["config.json"] = folder / "config.json"
        if example_inputs is not None:
            export_program(model, example_inputs, folder / PROGRAM_FILE)
            files[PROGRAM_FILE] = folder / PROGRAM_FILE
        body = _model_body(repo_id, model, example_inputs is not None, library)
        body += "\n" + provenance(inputs())
        files["README.md"] = compose_card(meta, body, card).encode()
        return commit_repo(
            repo_id,
            "model",
            files,
            private=private,
            message=message or f"Publish {type(model).__name__} weights",
        )
