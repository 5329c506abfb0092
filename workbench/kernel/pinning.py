"""Pinning: a repo at a revision becomes one commit, and its files come from the cache.

:func:`resolve` asks the hub which commit a revision names; :func:`pin` does that for a
load, keeps the answer in the cache (:func:`remember`) and, while the hub cannot be reached,
falls back to the commit the revision named when last asked (:func:`recall`, with a
:class:`~workbench.errors.CachedCopyWarning`). :func:`fetch` gives the local paths of a
pinned commit's files, downloading what the cache lacks. Where things live on disk:
:mod:`workbench.kernel.cache`.

>>> pinned = pin("admin/iris-mini", "dataset")                  # doctest: +SKIP
>>> fetch(pinned, ["data/train.parquet"])                          # doctest: +SKIP
{'data/train.parquet': PosixPath('.../datasets/admin/iris-mini/3f2a.../data/train.parquet')}
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.client.download import check_deferred, unchecked
from workbench.errors import CachedCopyWarning, HubUnreachable, InvalidRequest, RepoNotFound, RevisionNotFound
from workbench.kernel.cache import write_atomic
from workbench.kernel.session import LOADER, check_repo_id, connection, find_type, not_found


@dataclass
class Resolved:
    """A repo pinned to one commit, with its info at that commit."""

    repo_id: str
    type: str
    commit: str
    revision: str | None
    info: dict[str, Any] = field(repr=False)

    @property
    def files(self) -> list[str]:
        return [s["rfilename"] for s in self.info.get("siblings") or []]


def resolve(repo_id: str, repo_type: str, revision: str | None = None) -> Resolved:
    """Pin ``repo_id`` to the commit ``revision`` (default: main) points at.

    Raises :class:`RepoNotFound` (saying which type it is, if it is another type),
    :class:`RevisionNotFound`, or :class:`InvalidRequest` for a malformed id.
    """
    conn = connection()
    check_repo_id(repo_id)
    try:
        info = conn.client.repo_info(repo_id, type=repo_type, revision=revision)
    except RepoNotFound:
        other = find_type(repo_id, exclude=repo_type)
        if other is not None:
            raise InvalidRequest(
                f"{repo_id} is a {other} repo, not a {repo_type}: use {LOADER[other]}({repo_id!r}).",
                code="WrongRepoType",
                repo_type=other,
            ) from None
        raise not_found(repo_id, f"{repo_type} repo") from None
    except RevisionNotFound:
        raise RevisionNotFound(
            f"{repo_type.capitalize()} repo {repo_id} has no revision {revision!r}: use a "
            "branch, a tag or a commit id (see wb.info(...) and "
            "connection().client.log(...))."
        ) from None
    if conn.unverified:  # made while the hub could not be reached; it answers now
        conn.verify()
    return Resolved(repo_id, repo_type, info["sha"], revision, info)


def pin(repo_id: str, repo_type: str, revision: str | None = None) -> Resolved:
    """:func:`resolve` for a load, kept for :func:`recall`; when the hub cannot be reached,
    the commit ``revision`` named when last asked here (with a :class:`CachedCopyWarning`)
    so that work from the local cache goes on. Files missing from the cache still need the
    hub (see :func:`unreachable`)."""
    try:
        pinned = resolve(repo_id, repo_type, revision)
    except HubUnreachable as exc:
        return unreachable(exc, recall(repo_id, repo_type, revision))
    remember(pinned, recall(repo_id, repo_type, revision))
    return pinned


def unreachable(exc: HubUnreachable, kept: Resolved | None) -> Resolved:
    """After ``exc`` from asking the hub where a revision points: ``kept`` (the commit it
    named last time, whose files the caller has in the cache), with a warning; without a
    kept commit, :class:`HubUnreachable` saying so. Callers catch only
    :class:`HubUnreachable`: every other answer (not found, no access, a timeout or a
    broken connection) is raised as it is."""
    if kept is None:
        raise HubUnreachable(
            f"{exc.message} No copy of what that revision named is in the "
            "local cache to use meanwhile (a load made while the hub "
            "answers keeps one)."
        ) from None
    warnings.warn(
        CachedCopyWarning(
            f"The hub at {connection().url} cannot be reached: {kept.repo_id} is loaded from the "
            f"local cache at commit {kept.commit[:12]}, which {kept.revision or 'main'!r} named "
            "when it was last asked (it may have moved since)."
        ),
        stacklevel=4,
    )
    return kept


def remember(resolved: Resolved, kept: Resolved | None = None) -> None:
    """Keep which commit ``resolved.revision`` named, with its info, in the local cache, so a
    later load can start on that commit while the hub is asked (see :func:`recall`); nothing
    to write when ``kept`` (what :func:`recall` gave) says the same."""
    if kept is not None and (kept.commit, kept.info) == (resolved.commit, resolved.info):
        return
    path = connection().cache.ref(resolved.type, resolved.repo_id, resolved.revision)
    write_atomic(path, json.dumps({"commit": resolved.commit, "info": resolved.info}))


def recall(repo_id: str, repo_type: str, revision: str | None) -> Resolved | None:
    """The commit ``revision`` named at the last :func:`remember`, or None. A guess only:
    callers must check it against :func:`resolve` before they hand out anything loaded
    from it."""
    try:
        data = json.loads(connection().cache.ref(repo_type, repo_id, revision).read_text(encoding="utf-8"))
        commit, info = data["commit"], data["info"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not (isinstance(commit, str) and isinstance(info, dict)):
        return None
    return Resolved(repo_id, repo_type, commit, revision, info)


def _missing(resolved: Resolved, paths: Sequence[str]) -> tuple[Path, list[str]]:
    """The commit's cache folder and which of ``paths`` are not in it yet (a file whose
    deferred SHA-256 check never ran is not: it is downloaded again)."""
    root = connection().cache.commit(resolved.type, resolved.repo_id, resolved.commit)
    return root, [p for p in paths if not (root / p).is_file() or unchecked(root / p)]


def cached(resolved: Resolved, paths: Sequence[str]) -> bool:
    """Whether every one of ``paths`` of that commit is in the local cache already."""
    return not _missing(resolved, paths)[1]


def fetch(resolved: Resolved, paths: Sequence[str], *, defer_check: bool = False) -> dict[str, Path]:
    """Local paths of files of a pinned repo, downloaded into the cache when missing.

    ``defer_check``: the SHA-256 of what is downloaded is checked by :func:`check_fetched`,
    which the caller must call before it hands out anything read from the files.
    """
    conn = connection()
    root, missing = _missing(resolved, paths)
    if missing:
        conn.client.download(
            resolved.repo_id,
            missing,
            type=resolved.type,
            revision=resolved.commit,
            local_dir=root,
            defer_check=defer_check,
        )
    return {p: root / p for p in paths}


def check_fetched(paths: Sequence[Path], *, remove: bool = True) -> None:
    """The deferred SHA-256 checks of files :func:`fetch` downloaded with ``defer_check``:
    :class:`IntegrityError` for the first that fails, removed first unless not ``remove``
    (see ``download.check_deferred``)."""
    for path in paths:
        check_deferred(path, remove=remove)
