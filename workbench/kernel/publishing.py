"""Publishing to the hub: everything in one commit, with a card.

Each ``publish_*`` prepares every file locally first (weights, program, Parquet, card; all
checked), then creates the repo if needed and uploads in a single commit. If anything fails
before the commit, nothing is visible on the hub; a repo created by the failed call is removed.
This module holds what they share: that commit (:func:`commit_repo`) and the card pieces
(:func:`compose_card`, :func:`provenance`). What is published is in
:mod:`workbench.kernel.model_publishing`, :mod:`workbench.kernel.dataset_publishing` and
:mod:`workbench.kernel.notebook_publishing`.

>>> wb.publish_model(model, "me/tiny", example_inputs=torch.randn(8, 4), license="mit")  # doctest: +SKIP
CommitInfo('me/tiny', type='model', oid='3f2a...')
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from workbench.errors import AuthenticationError, Conflict, NotFound, PermissionDenied, RepoNotFound
from workbench.kernel.display import CommitInfo
from workbench.kernel.inputs import InputRecord
from workbench.kernel.session import check_repo_id, connection
from workbench.repocard import render_card, split_card

log = logging.getLogger(__name__)

Files = dict[str, Path | bytes]


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


def as_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]
