"""Loading datasets from the hub, each pinned to the exact commit it came from.

>>> ds = wb.load_dataset("admin/iris-mini", split="train")       # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.errors import HubUnreachable, IntegrityError, InvalidRequest
from workbench.kernel.converted import Memo
from workbench.kernel.inputs import record
from workbench.kernel.pinning import (
    Resolved,
    cached,
    check_fetched,
    fetch,
    recall,
    remember,
    resolve,
    unreachable,
)
from workbench.kernel.session import connection


def load_dataset(
    repo_id: str,
    split: str | None = None,
    *,
    revision: str | None = None,
    streaming: bool = False,
    **kwargs: Any,
) -> Any:
    """``datasets.load_dataset`` of a dataset repo, pinned to the commit ``revision`` names.

    >>> train = wb.load_dataset("admin/iris-mini", split="train")     # doctest: +SKIP
    """
    import datasets
    from datasets.data_files import EmptyDatasetError
    from datasets.exceptions import DataFilesNotFoundError

    conn = connection()
    token: str | bool = kwargs.pop("token", None) or conn.token or False
    plain = not streaming and not {"name", "data_files", "data_dir"} & kwargs.keys()
    pinned: Resolved | None = None
    try:
        pinned, out = _load_listed(repo_id, revision, split, kwargs, token) if plain else (None, None)
        if out is None:
            pinned = pinned or resolve(repo_id, "dataset", revision)
            out = datasets.load_dataset(
                repo_id, split=split, revision=pinned.commit, streaming=streaming, token=token, **kwargs
            )
    except (EmptyDatasetError, DataFilesNotFoundError, FileNotFoundError) as exc:
        where = f" at {pinned.commit[:12]}" if pinned is not None else ""
        raise InvalidRequest(
            f"Dataset {repo_id}{where} has no data files that "
            f"datasets.load_dataset recognizes ({exc}). Add files such as "
            "data/train-00000-of-00001.parquet (or train.csv, test.jsonl), or a `configs:` "
            "block in README.md; wb.publish_dataset writes both.",
            code="NoSplits",
        ) from exc
    except ValueError as exc:
        if "split" not in str(exc).lower():
            raise
        raise InvalidRequest(f"Dataset {repo_id}: {exc}", code="UnknownSplit") from exc
    assert pinned is not None
    record(repo_id, "dataset", pinned.commit, revision=revision, via="wb.load_dataset", hub=conn.url)
    return out


def _load_listed(
    repo_id: str, revision: str | None, split: str | None, kwargs: dict[str, Any], token: str | bool
) -> tuple[Resolved | None, Any]:
    """The layout ``wb.publish_dataset`` writes (the card lists the split's Parquet files):
    the commit's files, read from the local cache as ``datasets`` reads local Parquet (same
    splits, rows and features). Other layouts, called with no options: ``datasets`` of the
    repo at the commit, or what it converted of that commit before (:mod:`workbench.kernel.converted`).
    ``(pinned, dataset)``, or ``(pinned or None, None)`` when ``datasets`` must be asked with
    the options.

    When the commit ``revision`` named last time is cached here, it is loaded while the hub is
    asked where ``revision`` points now, and kept only if the answer is that same commit (else
    the new commit is loaded): a cached load costs the slower of the two, not their sum.
    """
    from concurrent.futures import ThreadPoolExecutor

    guess, out = None, None
    with ThreadPoolExecutor(1, thread_name_prefix="wb-resolve") as pool:
        asked = pool.submit(resolve, repo_id, "dataset", revision)  # first: it is the longest
        try:
            guess = recall(repo_id, "dataset", revision)
            listed = _listed_parquet(guess) if guess is not None else None
            if guess is not None and listed is not None and cached(guess, _paths(listed)):
                out = _read_listed(guess, listed, split, dict(kwargs))
            elif guess is not None and listed is None and not kwargs:
                out = _memo(guess, repo=guess.repo_id).reopen(split)
        except Exception:  # the hub's answer decides what to load, and which error to raise
            out = None
        try:
            pinned = asked.result()
        except HubUnreachable as exc:  # what was loaded from the cache will do
            return unreachable(exc, guess if out is not None else None), out
    remember(pinned, guess)
    if out is not None and guess is not None and pinned.commit == guess.commit:
        return pinned, out
    listed = _listed_parquet(pinned)
    if listed:
        return pinned, _read_listed(pinned, listed, split, kwargs)
    if kwargs:
        return pinned, None
    memo = _memo(pinned, repo=pinned.repo_id)
    out = memo.reopen(split)
    if out is None:
        out = memo.convert(split, token)
        memo.save()
    return pinned, out


def _memo(pinned: Resolved, **what: Any) -> Memo:
    """The record of what ``datasets`` converted at ``pinned.commit`` (of the repo, or of
    its listed files: see :class:`Memo`)."""
    return Memo(connection().cache.conversions(pinned.type, pinned.repo_id), pinned.commit, **what)


def _paths(listed: tuple[dict[str, list[str]], Any]) -> list[str]:
    return [p for paths in listed[0].values() for p in paths]


def _read_listed(
    pinned: Resolved, listed: tuple[dict[str, list[str]], Any], split: str | None, kwargs: dict[str, Any]
) -> Any:
    """``datasets.load_dataset("parquet", ...)`` of the listed files, downloaded if missing.

    What is downloaded is hashed beside the conversion rather than as it arrives (hashing in
    the download loop paced the download): until the check passes each
    file carries a marker, so a crash before it leaves a file the next load downloads again;
    a mismatch removes the file and what was converted from it, and raises IntegrityError.
    Called with no options, a conversion of these files made before is opened again without
    building a ``datasets`` builder (:class:`workbench.kernel.converted.Memo`).
    """
    from concurrent.futures import ThreadPoolExecutor

    import datasets

    from workbench.client.download import unchecked

    files, features = listed
    local = fetch(pinned, _paths(listed), defer_check=True)
    data_files = {s: [str(local[p]) for p in paths] for s, paths in files.items()}
    # with no options, what was converted from this commit before is opened again directly
    memo = None if kwargs else _memo(pinned, data_files=data_files, features=features)
    pending = [path for path in local.values() if unchecked(path)]
    if memo is not None and not pending:
        out = memo.reopen(split)
        if out is not None:
            return out
    if features is not None:
        kwargs.setdefault("features", features)

    def read() -> Any:
        if memo is not None:
            return memo.convert(split)
        return datasets.load_dataset("parquet", data_files=data_files, split=split, **kwargs)

    if not pending:
        out = read()
    else:
        with ThreadPoolExecutor(1, thread_name_prefix="wb-sha256") as pool:
            checked = pool.submit(check_fetched, pending, remove=False)
            try:
                out = read()
            except BaseException as exc:
                bad = checked.exception()
                if isinstance(bad, IntegrityError):  # what was read is not what the hub holds
                    _discard(pending)
                    raise bad from exc
                raise
            bad = checked.exception()
        if bad is not None:
            _drop_converted(out)
            _discard(pending)
            raise bad
    if memo is not None:
        memo.save()
    return out


def _discard(paths: list[Path]) -> None:
    """Remove the files whose check failed or never finished (the next load downloads them)."""
    from workbench.client.download import discard, unchecked

    for path in paths:
        if unchecked(path):
            discard(path)


def _drop_converted(out: Any) -> None:
    """Remove the ``datasets`` cache converted from files that failed their check."""
    import shutil

    for ds in out.values() if isinstance(out, dict) else [out]:
        for entry in getattr(ds, "cache_files", None) or []:
            shutil.rmtree(Path(entry["filename"]).parent, ignore_errors=True)


def _listed_parquet(pinned: Resolved) -> tuple[dict[str, list[str]], Any] | None:
    """``({split: [parquet paths]}, features)`` when the card's one ``configs`` entry lists
    Parquet files of the commit by name (no patterns), else None.

    The card of ``main`` comes with the repo info (``cardData``, read in the same transaction
    as the commit ``sha``); at any other revision ``README.md`` is read from that commit.
    """
    from workbench.repocard import README, split_card

    if README not in pinned.files:
        return None
    if pinned.revision in (None, "main") and pinned.info.get("sha") == pinned.commit:
        card = pinned.info.get("cardData")
        meta = card if isinstance(card, dict) else {}
    else:
        try:
            meta, _ = split_card(fetch(pinned, [README])[README].read_text(encoding="utf-8"))
        except (InvalidRequest, UnicodeDecodeError):
            return None
    configs = meta.get("configs")
    if not (
        isinstance(configs, list)
        and len(configs) == 1
        and isinstance(configs[0], dict)
        and configs[0].get("config_name", "default") == "default"
        and isinstance(configs[0].get("data_files"), list)
    ):
        return None
    present = set(pinned.files)
    files: dict[str, list[str]] = {}
    for entry in configs[0]["data_files"]:
        paths = entry.get("path") if isinstance(entry, dict) else None
        paths = [paths] if isinstance(paths, str) else paths
        if not (
            isinstance(entry.get("split"), str)
            and isinstance(paths, list)
            and paths
            and all(isinstance(p, str) and p.endswith(".parquet") and p in present for p in paths)
        ):
            return None
        files.setdefault(entry["split"], []).extend(paths)
    features = None
    info = meta.get("dataset_info")
    if isinstance(info, dict) and isinstance(info.get("features"), list):
        from datasets import Features

        try:
            features = Features._from_yaml_list(info["features"])
        except (TypeError, ValueError, KeyError):
            return None
    return files, features
