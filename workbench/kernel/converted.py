"""What ``wb.load_dataset`` converted, opened again without building a ``datasets`` builder.

``datasets.load_dataset`` of data it converted before spends most of its time finding out
again what it converted: for local Parquet files it resolves the files, hashes the builder's
config, locks and checks the cache folder; for a repo on the hub it asks the hub for the
repo's info, card and file list first. A
commit never changes, so the first conversion of a commit is written down (a small JSON
record beside the commit's files in the Workbench cache: the ``datasets`` cache folder, the
dataset name and each split's fingerprint), and later loads read that folder with the same
``datasets`` reader, giving the same ``Dataset`` objects (same files, info, split and
fingerprint) for less.

A record is used only while everything the builder would look at is as it was: the same
``datasets`` version and cache root, the same Parquet files (size and mtime, which the
builder's cache key covers) and features, and the converted folder still complete. Anything
else falls back to ``datasets``, which writes a new record. The record is JSON; nothing is
unpickled.

The conversion itself is ``load_dataset``'s (``load_dataset_builder``, ``download_and_prepare``
and ``as_dataset``, with its defaults). Of listed Parquet files it writes one Arrow record
batch per Parquet row group instead of batches of 1,000 rows: the builder reads a row group
as one batch anyway, so this holds no more in memory, and it writes each column in one piece
instead of a thousand (bench/README.md has the figures). Feature types for which
``datasets`` keeps batches small (images, audio, video, binary) keep its sizes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from workbench.kernel.cache import write_atomic

log = logging.getLogger(__name__)

_FORMAT = 1


class Memo:
    """The conversion of one commit: of its Parquet files (``data_files``: split -> local
    paths, with ``features``), or of the whole repo as ``datasets`` finds its data (``repo``)."""

    def __init__(
        self,
        records: Path,
        commit: str,
        *,
        data_files: dict[str, list[str]] | None = None,
        features: Any = None,
        repo: str | None = None,
    ) -> None:
        import datasets

        self.commit, self.repo = commit, repo
        self.data_files = data_files or {}
        self.features = features
        self.root = str(Path(os.path.expanduser(str(datasets.config.HF_DATASETS_CACHE))))
        what = (
            {"repo": repo}
            if repo is not None
            else {"data_files": self.data_files, "features": None if features is None else features.to_dict()}
        )
        key = json.dumps([_FORMAT, datasets.__version__, self.root, what], sort_keys=True)
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        self.path = records / f"{commit}-{digest}.json"
        self.record: dict[str, Any] | None = None

    # -- reading what was converted ----------------------------------------------------------

    def reopen(self, split: str | None) -> Any:
        """The dataset ``datasets.load_dataset`` would return for ``split`` (None: all
        splits, or one split's name), from the recorded conversion; None when there is no
        usable record or the split is one it does not know."""
        import datasets
        from datasets.arrow_reader import ArrowReader
        from datasets.utils.info_utils import is_small_dataset

        record = self._read()
        if record is None:
            return None
        fingerprints: dict[str, str] = record["fingerprints"]
        if split is not None and (not isinstance(split, str) or split not in fingerprints):
            return None
        folder = record["folder"]
        try:
            info = datasets.DatasetInfo.from_directory(folder)
            names = list(info.splits)
            if set(names) != set(fingerprints):
                return None
            reader = ArrowReader(folder, info)
            in_memory = is_small_dataset(info.dataset_size)

            def one(name: str) -> Any:
                kwargs = reader.read(
                    name=record["name"],
                    instructions=datasets.Split(name),
                    split_infos=info.splits.values(),
                    in_memory=in_memory,
                )
                return datasets.Dataset(fingerprint=fingerprints[name], **kwargs)

            if split is not None:
                return one(split)
            return datasets.DatasetDict({name: one(name) for name in names})
        except (OSError, ValueError, KeyError, TypeError) as exc:  # removed or changed
            log.debug("converted %s is gone (%s): converting again", folder, exc)
            return None

    def _read(self) -> dict[str, Any] | None:
        import datasets

        try:
            record = json.loads(self.path.read_text(encoding="utf-8"))
            folder = Path(record["folder"])
            sources = record["sources"]
            ok = (
                record.get("format") == _FORMAT
                and record["datasets"] == datasets.__version__
                and isinstance(record["name"], str)
                and isinstance(record["fingerprints"], dict)
                and Path(self.root) in folder.parents  # the cache root it was written under
                and sources == _sources(self.data_files)
                and (folder / datasets.config.DATASET_INFO_FILENAME).is_file()
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return record if ok else None

    # -- converting ---------------------------------------------------------------------------

    def convert(self, split: str | None, token: str | bool | None = None) -> Any:
        """``datasets.load_dataset`` of the Parquet files (``"parquet", data_files=...,
        features=...``) or of the repo at the commit (``repo, revision=commit``), for
        ``split``, keeping what :meth:`save` writes down."""
        import datasets
        from datasets.utils.info_utils import is_small_dataset

        if self.repo is not None:
            builder = datasets.load_dataset_builder(self.repo, revision=self.commit, token=token)
        else:
            builder = datasets.load_dataset_builder(
                "parquet",
                data_files=self.data_files,
                features=self.features,
                writer_batch_size=_batch_rows(self.data_files, self.features),
            )
        builder.download_and_prepare()
        out = builder.as_dataset(split=split, in_memory=is_small_dataset(builder.info.dataset_size))
        if not builder._check_legacy_cache():  # the reader would be given another name
            self.record = {
                "format": _FORMAT,
                "datasets": datasets.__version__,
                "folder": str(builder._output_dir),
                "name": builder.dataset_name,
                "fingerprints": {
                    name: builder._get_dataset_fingerprint(datasets.Split(name))
                    for name in builder.info.splits
                },
                "sources": _sources(self.data_files),
            }
        return out

    def save(self) -> None:
        """Write down the last :meth:`convert` (once the files it read have passed their
        checks); a cache that cannot be written only costs the next load its head start."""
        if self.record is not None:
            write_atomic(self.path, json.dumps(self.record))


def _sources(data_files: dict[str, list[str]]) -> dict[str, list[int]]:
    """Size and mtime of each Parquet file: what the builder's cache key sees of a local file."""
    out = {}
    for paths in data_files.values():
        for path in paths:
            st = os.stat(path)
            out[path] = [st.st_size, st.st_mtime_ns]
    return out


def _batch_rows(data_files: dict[str, list[str]], features: Any) -> int | None:
    """Rows per Arrow record batch: the largest Parquet row group (the builder's read size),
    or None (``datasets``' default) where ``datasets`` sizes batches by feature type."""
    import pyarrow.parquet as pq
    from datasets import Features
    from datasets.arrow_writer import get_arrow_writer_batch_size_from_features

    rows = 0
    for paths in data_files.values():
        for path in paths:
            meta = pq.read_metadata(path)
            if (
                features is None
                and get_arrow_writer_batch_size_from_features(
                    Features.from_arrow_schema(meta.schema.to_arrow_schema())
                )
                is not None
            ):
                return None
            rows = max([rows] + [meta.row_group(i).num_rows for i in range(meta.num_row_groups)])
    if features is not None and get_arrow_writer_batch_size_from_features(features) is not None:
        return None
    return rows or None
