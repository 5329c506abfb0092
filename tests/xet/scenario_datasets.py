"""Run in a fresh process: ``datasets`` publishes a private dataset and loads it back.

Usage: ``python -m tests.xet.scenario_datasets REPO_ID`` with ``HF_ENDPOINT`` and ``HF_TOKEN``
set, and ``HF_HUB_DISABLE_XET`` as the test wants. Pushes a ``DatasetDict`` (train/test), a
second configuration, then the first again with more rows, all ``private=True``, and loads
each configuration. Prints one JSON line: the rows per config and split, and the LFS and
Xet state of the Parquet files the hub lists.
"""

from __future__ import annotations

import json
import sys

from datasets import Dataset, DatasetDict, load_dataset
from huggingface_hub import HfApi


def _split(n: int, start: int = 0) -> Dataset:
    return Dataset.from_dict(
        {"idx": list(range(start, start + n)), "text": [f"row {i}" for i in range(start, start + n)]}
    )


def main() -> None:
    repo_id = sys.argv[1]
    DatasetDict(train=_split(100), test=_split(20)).push_to_hub(repo_id, private=True)
    DatasetDict(train=_split(7, 1000)).push_to_hub(repo_id, config_name="other", private=True)
    DatasetDict(train=_split(150), test=_split(30)).push_to_hub(repo_id, private=True)
    rows = {}
    for config in ("default", "other"):
        loaded = load_dataset(repo_id, config)
        rows[config] = {split: len(ds) for split, ds in loaded.items()}
    last = load_dataset(repo_id, "default", split="train")[-1]["idx"]
    files = [
        f
        for f in HfApi().list_repo_tree(repo_id, repo_type="dataset", recursive=True)
        if getattr(f, "path", "").endswith(".parquet")
    ]
    print(
        json.dumps(
            {
                "rows": rows,
                "last_train_idx": last,
                "private": HfApi().dataset_info(repo_id).private,
                "parquet_lfs": sorted({f.lfs is not None for f in files}),
                "parquet_xet": sorted({f.xet_hash is not None for f in files}),
            }
        )
    )


if __name__ == "__main__":
    main()
