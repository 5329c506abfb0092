"""Publishing a dataset: one Parquet file per split and a card ``datasets`` reads, in one commit.

>>> wb.publish_dataset({"train": train_df, "test": test_df}, "me/iris")   # doctest: +SKIP
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from workbench.errors import InvalidRequest
from workbench.kernel.display import CommitInfo
from workbench.kernel.inputs import inputs
from workbench.kernel.publishing import Files, as_list, commit_repo, compose_card, provenance
from workbench.kernel.session import check_repo_id


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
            "task_categories": as_list(task),
            "tags": [*as_list(tags)],
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
