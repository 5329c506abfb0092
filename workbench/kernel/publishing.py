"""Publishing models, datasets and notebooks: everything in one commit, with a card.

Each ``publish_*`` prepares every file locally first (weights, program, Parquet, card; all
checked), then creates the repo if needed and uploads in a single commit. If anything fails
before the commit, nothing is visible on the hub; a repo created by the failed call is removed.

>>> wb.publish_model(model, "me/tiny", example_inputs=torch.randn(8, 4), license="mit")  # doctest: +SKIP
CommitInfo('me/tiny', type='model', oid='3f2a...')
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from workbench.binder import GitSource, badge_markdown, detect_git_source, parse_source_url
from workbench.errors import (
    AuthenticationError,
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RepoNotFound,
)
from workbench.kernel.constructors import RESERVED, read_arguments
from workbench.kernel.display import CommitInfo
from workbench.kernel.inputs import InputRecord, inputs
from workbench.kernel.programs import PROGRAM_FILE, export_program
from workbench.kernel.session import check_repo_id, connection
from workbench.repocard import render_card, split_card

log = logging.getLogger(__name__)

Files = dict[str, Path | bytes]


# -- the one-commit transaction --------------------------------------------------------------


def _no_write(repo_id: str, repo_type: str, exc: Exception) -> PermissionDenied:
    conn = connection()
    ns, name = repo_id.split("/")
    if not conn.token:
        hint = "publishing needs a token: wb.connect(url, token=...) or `workbench login`"
    else:
        own = f"{conn.user}/{name}" if conn.user else "your own namespace"
        hint = (
            f"publish under {own}, ask an admin of {ns!r} for write access, or use a token with write scope"
        )
    return PermissionDenied(
        f"{conn.user or 'An anonymous caller'} cannot write to {repo_type} "
        f"repo {repo_id} on {conn.url} ({getattr(exc, 'message', exc)}): "
        f"{hint}.",
        code="NoWriteAccess",
    )


def commit_repo(
    repo_id: str, repo_type: str, files: Files, *, private: bool = False, message: str
) -> CommitInfo:
    """Create the repo if needed (``private`` applies then) and commit ``files`` at once."""
    client = connection().client
    check_repo_id(repo_id)
    created = False
    try:
        client.repo_info(repo_id, type=repo_type)
    except RepoNotFound:
        try:
            client.create_repo(repo_id, type=repo_type, private=private)
            created = True
        except Conflict:
            pass  # created in between by someone else: commit on top of it
        except (AuthenticationError, PermissionDenied, NotFound) as exc:
            raise _no_write(repo_id, repo_type, exc) from None
    try:
        result = client.upload(repo_id, dict(files), type=repo_type, message=message)
    except BaseException as exc:
        if created:
            try:
                client.delete_repo(repo_id, type=repo_type, missing_ok=True)
            except Exception:  # the original error matters more
                log.exception("could not remove %s %s after a failed publish", repo_type, repo_id)
        if isinstance(exc, AuthenticationError | PermissionDenied):
            raise _no_write(repo_id, repo_type, exc) from None
        raise
    oid = result["commitOid"]
    return CommitInfo(
        repo_id,
        repo_type,
        oid,
        result.get("commitUrl") or "",
        client.repo_url(repo_id, type=repo_type),
        created=created,
    )


def compose_card(metadata: Mapping[str, Any], body: str, card: str | None) -> str:
    """README text: ``card`` (markdown, optionally with front matter) merged with ours.

    Metadata given as arguments wins over metadata in ``card``'s front matter; ``card``'s
    text replaces the generated description, and the generated sections follow it.
    """
    extra: dict[str, Any] = {}
    text = ""
    if card:
        extra, text = split_card(card)
    meta = {**extra, **{k: v for k, v in metadata.items() if v not in (None, [], (), "")}}
    return render_card(meta, f"{text.strip()}\n\n{body}" if text.strip() else body)


def provenance(records: Sequence[InputRecord]) -> str:
    """A markdown section listing what the session loaded from the hub."""
    if not records:
        return ""
    prefix = {"model": "", "dataset": "datasets/", "paper": "papers/", "space": "spaces/"}
    rows = "\n".join(
        f"| {r.type} | [{r.repo}](/{prefix.get(r.type, '')}{r.repo}) | `{r.commit}` |" for r in records
    )
    return (
        "## Inputs\n\nLoaded from the hub in the session that published this, each pinned "
        f"to a commit:\n\n| type | repo | commit |\n|---|---|---|\n{rows}\n"
    )


def _as_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


# -- models ----------------------------------------------------------------------------------


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
        "tags": _as_list(tags),
        "datasets": _as_list(datasets),
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


# -- datasets --------------------------------------------------------------------------------


def _size_category(rows: int) -> str:
    bounds = (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
        (100_000_000, "10M<n<100M"),
        (1_000_000_000, "100M<n<1B"),
    )
    return next((label for bound, label in bounds if rows < bound), "n>1B")


def _to_splits(data: Any) -> dict[str, Any]:
    """``{split: datasets.Dataset}`` from the accepted input shapes."""
    import datasets

    def one(value: Any, split: str) -> datasets.Dataset:
        if isinstance(value, datasets.Dataset):
            return value
        try:
            import pandas as pd

            if isinstance(value, pd.DataFrame):
                return datasets.Dataset.from_pandas(value, preserve_index=False)
        except ImportError:
            pass
        if isinstance(value, list) and all(isinstance(r, Mapping) for r in value):
            if not value:
                raise InvalidRequest(f"Split {split!r} is empty.", code="EmptySplit")
            return datasets.Dataset.from_list([dict(r) for r in value])
        raise InvalidRequest(
            f"Split {split!r} is a {type(value).__name__}; give a "
            "datasets.Dataset, a pandas DataFrame or a list of dicts.",
            code="InvalidDataset",
        )

    if isinstance(data, datasets.IterableDataset | datasets.IterableDatasetDict):
        raise InvalidRequest(
            "Streaming datasets cannot be published; load them without streaming=True first.",
            code="InvalidDataset",
        )
    if isinstance(data, Mapping):
        if not data:
            raise InvalidRequest("No splits to publish.", code="EmptySplit")
        return {str(k): one(v, str(k)) for k, v in data.items()}
    return {"train": one(data, "train")}


def publish_dataset(
    data: Any,
    repo_id: str,
    *,
    card: str | None = None,
    private: bool = False,
    message: str | None = None,
    license: str | None = None,
    tags: Sequence[str] = (),
    task: str | Sequence[str] | None = None,
    pretty_name: str | None = None,
) -> CommitInfo:
    """Publish a dataset as one Parquet file per split, with a card ``datasets`` reads.

    ``data``: a ``datasets.Dataset`` / ``DatasetDict``, a pandas DataFrame (one ``train``
    split), or a dict of split name -> DataFrame, Dataset or list of dicts.

    >>> wb.publish_dataset({"train": train_df, "test": test_df}, "me/iris")   # doctest: +SKIP
    """
    import re

    check_repo_id(repo_id)
    splits = _to_splits(data)
    bad = [s for s in splits if not re.fullmatch(r"\w+(\.\w+)*", s)]
    if bad:
        raise InvalidRequest(
            f"Invalid split names {bad}: use letters, digits and '_' (e.g. train, test, validation).",
            code="InvalidSplit",
        )
    first = next(iter(splits.values()))
    for split, ds in list(splits.items()):
        if ds.features != first.features:
            try:  # e.g. large_string from pandas vs string from a list of dicts
                splits[split] = ds.cast(first.features)
            except (ValueError, TypeError, KeyError) as exc:
                raise InvalidRequest(
                    f"Split {split!r} has other columns or types than {next(iter(splits))!r} "
                    f"({exc}); all splits of a dataset must share them.",
                    code="InvalidDataset",
                ) from None
    files: Files = {}
    with tempfile.TemporaryDirectory(prefix="wb-publish-") as tmp:
        rows: dict[str, int] = {}
        for split, ds in splits.items():
            path = Path(tmp) / f"{split}.parquet"
            ds.to_parquet(str(path))
            files[f"data/{split}-00000-of-00001.parquet"] = path
            rows[split] = ds.num_rows
        info = {"features": first.features._to_yaml_list()}  # the YAML form datasets reads
        meta = {
            "license": license,
            "pretty_name": pretty_name,
            "task_categories": _as_list(task),
            "tags": [*_as_list(tags)],
            "size_categories": [_size_category(sum(rows.values()))],
            "configs": [
                {
                    "config_name": "default",
                    "data_files": [{"split": s, "path": f"data/{s}-00000-of-00001.parquet"} for s in splits],
                }
            ],
            "dataset_info": info,
        }
        table = "\n".join(f"| {s} | {n:,} |" for s, n in rows.items())
        columns = ", ".join(f"`{c}`" for c in first.column_names)
        body = (
            f"# {pretty_name or repo_id.split('/')[1]}\n\n| split | rows |\n|---|---|\n"
            f"{table}\n\nColumns: {columns}.\n\n## How to use\n\n```python\n"
            f'import workbench as wb\nds = wb.load_dataset("{repo_id}")\n```\n\n'
            "Stored as Parquet, one file per split (`data/{split}-00000-of-00001.parquet`); "
            "`datasets.load_dataset` reads it too.\n\n" + provenance(inputs())
        )
        files["README.md"] = compose_card(meta, body, card).encode()
        return commit_repo(
            repo_id,
            "dataset",
            files,
            private=private,
            message=message or f"Publish {len(splits)} split(s) as Parquet",
        )


# -- notebooks -------------------------------------------------------------------------------


def notebook_source(nb_path: Path, source_url: str | None, ref: str | None) -> GitSource | None:
    """Where the notebook lives on a Git host: from ``source_url``, else its folder's remote.

    A repository URL without a file path gets the notebook's path inside its Git clone, or
    its file name when it is not in one.
    """
    if source_url is None:
        detected = detect_git_source(nb_path)
        if detected is None or ref is None:
            return detected
        return GitSource(detected.repo_url, ref, detected.path)
    source = parse_source_url(source_url, ref=ref)
    if source.path is None:
        detected = detect_git_source(nb_path)
        path = detected.path if detected is not None else nb_path.name
        source = GitSource(source.repo_url, source.ref, path)
    return source


def publish_notebook(
    path: str | Path,
    repo_id: str,
    *,
    message: str | None = None,
    private: bool = False,
    type: str = "model",
    source_url: str | None = None,
    source_ref: str | None = None,
) -> CommitInfo:
    """Publish a notebook file, with a card listing what this session loaded (``wb.inputs()``).

    When the notebook's source is on a Git host (``source_url``: the repository's URL or the
    notebook's ``.../blob/REF/PATH`` URL; else the ``origin`` remote of the notebook's folder,
    if it is a Git clone), the card carries an "Open in Binder" badge for it.

    >>> wb.publish_notebook("train.ipynb", "me/tiny")          # doctest: +SKIP
    >>> wb.publish_notebook("train.ipynb", "me/tiny",
    ...     source_url="https://github.com/acme/research/blob/main/train.ipynb")  # doctest: +SKIP
    """
    check_repo_id(repo_id)
    nb_path = Path(path)
    if nb_path.suffix != ".ipynb" or not nb_path.is_file():
        raise InvalidRequest(
            f"{nb_path} is not a notebook file (.ipynb); save the notebook and pass its path.",
            code="NotANotebook",
        )
    try:
        notebook = json.loads(nb_path.read_text(encoding="utf-8"))
        if not isinstance(notebook, dict) or "cells" not in notebook:
            raise ValueError("no cells")
    except ValueError as exc:
        raise InvalidRequest(f"{nb_path} is not a valid notebook ({exc}).", code="NotANotebook") from None
    source = notebook_source(nb_path, source_url, source_ref)
    records = inputs()
    meta = {
        "tags": ["notebook"],
        "datasets": sorted({r.repo for r in records if r.type == "dataset"}),
        "inputs": [{"repo": r.repo, "type": r.type, "commit": r.commit} for r in records],
    }
    badge = ""
    if source is not None:
        meta["source"] = {"repo": source.repo_url, "ref": source.ref, "path": source.path}
        badge = f"{badge_markdown(source.binder_url())}\n\n"
    body = (
        f"# {nb_path.stem}\n\n{badge}The notebook `{nb_path.name}`, published with "
        f"`wb.publish_notebook`.\n\n" + (provenance(records) or "It loaded nothing from the hub.\n")
    )
    files: Files = {nb_path.name: nb_path, "README.md": compose_card(meta, body, None).encode()}
    return commit_repo(
        repo_id, type, files, private=private, message=message or f"Publish notebook {nb_path.name}"
    )
