"""Which files of a dataset commit make which config and split: ``datasets``' own detection.

The hub answers ``load_dataset(repo)`` with whatever ``datasets`` decides from the file names
and the card's ``configs:`` block, so the viewer must decide the same way. Rather than
re-implement those rules, the repo's file names are laid out as empty files in a temporary
folder and ``datasets`` resolves its patterns there (names are all it looks at).

>>> plan = plan_layout(tree, card, tmp_dir=Path("/tmp"))       # doctest: +SKIP
>>> [(c.name, [s.split for s in c.splits]) for c in plan]      # doctest: +SKIP
[('default', ['train', 'test'])]
"""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.names import validate_path
from workbench.store.trees import Tree, TreeEntry

SUPPORTED = {"csv": "CSV/TSV", "json": "JSON Lines/JSON", "parquet": "Parquet", "arrow": "Arrow"}
SUPPORTED_TEXT = "CSV, TSV, JSON Lines, JSON, Parquet and Arrow files"
# Parameters of a card's config that change how files are read (the rest is ignored).
READ_OPTIONS = {"csv": ("sep", "delimiter"), "json": ("field",)}


class LayoutError(ValueError):
    """The repo's files or card do not make a dataset the viewer can convert."""


@dataclass(frozen=True)
class SplitLayout:
    split: str
    files: tuple[TreeEntry, ...]


@dataclass(frozen=True)
class ConfigLayout:
    name: str
    module: str  # csv | json | parquet | arrow
    options: dict[str, Any] = field(default_factory=dict)
    splits: tuple[SplitLayout, ...] = ()
    default: bool = False


def _materialize(tree: Tree, root: Path) -> None:
    for path in tree.entries:
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch()


def _card_configs(card: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    from datasets.utils.metadata import MetadataConfigs

    try:
        configs = MetadataConfigs.from_dataset_card_data(card or {})  # type: ignore[arg-type]
    except (ValueError, TypeError, AttributeError) as exc:
        raise LayoutError(f"The `configs` block of README.md is invalid: {exc}") from None
    return {str(k): dict(v) for k, v in configs.items()}


# `datasets` resolves patterns with tqdm's thread_map, whose class-level lock is not safe to
# set up from several threads at once: one resolution at a time per process (it takes ms).
_datasets_lock = threading.Lock()


def plan_layout(tree: Tree, card: dict[str, Any] | None, *, tmp_dir: Path) -> list[ConfigLayout]:
    """Configs and splits of a commit with their files, as ``datasets.load_dataset`` sees them."""
    with _datasets_lock:
        return _plan_layout(tree, card, tmp_dir=tmp_dir)


def _plan_layout(tree: Tree, card: dict[str, Any] | None, *, tmp_dir: Path) -> list[ConfigLayout]:
    from datasets.data_files import (
        DataFilesDict,
        EmptyDatasetError,
        get_data_patterns,
        sanitize_patterns,
    )
    from datasets.load import infer_module_for_data_files
    from datasets.packaged_modules import _ALL_ALLOWED_EXTENSIONS, _MODULE_TO_EXTENSIONS

    configs = _card_configs(card)
    default_name = next((n for n, p in configs.items() if p.get("default")), None)
    if not configs:
        configs = {"default": {}}
    if default_name is None:
        default_name = "default" if "default" in configs else next(iter(configs))
    tmp_dir.mkdir(parents=True, exist_ok=True)
    out: list[ConfigLayout] = []
    with tempfile.TemporaryDirectory(dir=tmp_dir, prefix="layout-") as tmp:
        root = Path(tmp)
        _materialize(tree, root)
        for name, params in configs.items():
            try:
                if "/" in name:
                    raise ValueError(name)
                validate_path(f"{name}/x")
            except ValueError:
                raise LayoutError(f"Config name {name!r} cannot be a folder name.") from None
            data_dir = params.get("data_dir")
            base = str(root / data_dir) if data_dir else str(root)
            where = f"config {name!r}" if len(configs) > 1 or name != "default" else "the repo"
            try:
                patterns = (
                    sanitize_patterns(params["data_files"])
                    if params.get("data_files") is not None
                    else get_data_patterns(base)
                )
                data_files = DataFilesDict.from_patterns(
                    patterns, base_path=base, allowed_extensions=_ALL_ALLOWED_EXTENSIONS
                )
                module, kwargs = infer_module_for_data_files(data_files)
            except EmptyDatasetError:
                raise LayoutError(
                    f"No data files found in {where}: the viewer converts {SUPPORTED_TEXT}."
                ) from None
            except (FileNotFoundError, ValueError) as exc:
                raise LayoutError(f"The data files of {where} cannot be resolved: {exc}") from None
            if module not in SUPPORTED:
                raise LayoutError(
                    f"The data files of {where} are read by the {module!r} builder "
                    f"of `datasets`; the viewer converts {SUPPORTED_TEXT}."
                )
            data_files = data_files.filter(extensions=_MODULE_TO_EXTENSIONS[module])
            options = {**kwargs, **{k: params[k] for k in READ_OPTIONS.get(module, ()) if k in params}}
            splits = []
            for split, files in data_files.items():
                entries = []
                for f in files:
                    rel = os.path.relpath(str(f), root).replace(os.sep, "/")
                    entry = tree.get(rel)
                    if entry is not None:
                        entries.append(entry)
                if not entries:
                    continue
                try:
                    validate_path(f"{name}/{split}/x")
                except ValueError:
                    raise LayoutError(f"Split name {split!r} cannot be a folder name.") from None
                splits.append(SplitLayout(str(split), tuple(entries)))
            if not splits:
                raise LayoutError(f"No data files found in {where}: the viewer converts {SUPPORTED_TEXT}.")
            out.append(ConfigLayout(name, module, options, tuple(splits), name == default_name))
    return out
