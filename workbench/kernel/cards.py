"""Repo cards: ``README.md`` with YAML metadata in front, read, edited and pushed.

>>> card = wb.card("admin/tiny-classifier")              # doctest: +SKIP
>>> card.metadata["license"]                             # doctest: +SKIP
'apache-2.0'
>>> card.update(license="mit", tags=["demo"]).push(message="Relicense")   # doctest: +SKIP
CommitInfo('admin/tiny-classifier', type='model', oid='9c1d...')
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

import yaml

from workbench.errors import Conflict, InvalidRequest
from workbench.kernel.display import CommitInfo, badge, table
from workbench.markdown import esc, render_markdown, safe_markdown
from workbench.repocard import README, dump_metadata, render_card, split_card

log = logging.getLogger(__name__)


def card_markdown(meta: Mapping[str, Any], body: str) -> str:
    """Markdown to show a card: its metadata as a YAML block, then its (defused) body."""
    front = f"```yaml\n{dump_metadata(meta)}```\n\n" if meta else ""
    return front + safe_markdown(body)


class Card:
    """A repo's card: ``metadata`` (the YAML front matter) and ``text`` (the markdown body)."""

    def __init__(
        self,
        repo_id: str,
        type: str,
        metadata: dict[str, Any] | None = None,
        text: str = "",
        *,
        commit: str | None = None,
        original: str | None = None,
    ) -> None:
        self.repo_id = repo_id
        self.type = type
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.text = text
        self.commit = commit  # the commit the card was read at (None: not on the hub yet)
        self._original = original  # README text at that commit (None: there was none)
        self.error: str | None = None  # why the README on the hub could not be parsed

    @property
    def content(self) -> str:
        """The whole README.md as it would be pushed."""
        return render_card(self.metadata, self.text)

    @content.setter
    def content(self, value: str) -> None:
        self.metadata, self.text = split_card(value)
        self.error = None

    def update(self, values: Mapping[str, Any] | None = None, /, **meta: Any) -> Card:
        """Set metadata keys (a value of None removes the key); returns the card.

        ``card.update({"model-index": [...]}, license="mit")``
        """
        for key, value in {**(values or {}), **meta}.items():
            if value is None:
                self.metadata.pop(key, None)
            else:
                self.metadata[key] = value
        dump_metadata(self.metadata)
        return self

    def push(self, *, message: str | None = None) -> CommitInfo:
        """Commit the card as README.md; refuses if someone changed it since it was read."""
        from workbench.kernel.pinning import resolve
        from workbench.kernel.session import connection

        content = self.content  # validates the metadata
        split_card(content)
        client = connection().client
        head = resolve(self.repo_id, self.type)
        if self.commit is not None and head.commit != self.commit:
            current = _read_readme(head)
            if current != self._original:
                raise Conflict(
                    f"README.md of {self.repo_id} changed since this card was read "
                    f"(at {self.commit[:12]}, now {head.commit[:12]}): read it again "
                    f"with wb.card({self.repo_id!r}) and reapply your edits."
                )
        result = client.upload(
            self.repo_id,
            {README: content.encode()},
            type=self.type,
            message=message or "Update the card",
            parent_commit=head.commit,
        )
        oid = result["commitOid"]
        self.commit, self._original = oid, content
        return CommitInfo(
            self.repo_id,
            self.type,
            oid,
            result.get("commitUrl") or "",
            client.repo_url(self.repo_id, type=self.type),
        )

    def __repr__(self) -> str:
        keys = f"invalid YAML: {self.error}" if self.error else ", ".join(self.metadata) or "no metadata"
        return f"Card({self.repo_id!r}, type={self.type!r}, metadata: {keys})"

    def _repr_markdown_(self) -> str:
        return card_markdown(self.metadata, self.text)

    def _repr_html_(self) -> str:
        rows = [
            (k, v if isinstance(v, str | int | float) else yaml.safe_dump(v).strip())
            for k, v in self.metadata.items()
        ]
        meta = (
            (
                f"<details><summary>metadata ({len(rows)} keys)</summary>"
                f"{table(('key', 'value'), rows)}</details>"
            )
            if rows
            else ""
        )
        return (
            f"<div>{badge(self.type)} <b>{esc(self.repo_id)}</b> "
            f"<span style='color:#57606a'>README.md</span>{meta}"
            f"<div>{render_markdown(self.text)}</div></div>"
        )


def _read_readme(pinned: Any) -> str | None:
    from workbench.kernel.pinning import fetch

    if README not in pinned.files:
        return None
    return fetch(pinned, [README])[README].read_text(encoding="utf-8")


def card(repo_id: str, *, type: str | None = None, revision: str | None = None) -> Card:
    """The card of a repo (of any type unless ``type`` is given), ready to edit and push.

    >>> c = wb.card("admin/iris-mini"); c.metadata.get("license")     # doctest: +SKIP
    """
    from workbench.kernel.pinning import resolve
    from workbench.kernel.session import check_repo_id, find_type, not_found

    if type is None:
        type = find_type(check_repo_id(repo_id))
        if type is None:
            raise not_found(repo_id)
    pinned = resolve(repo_id, type, revision)
    text = _read_readme(pinned)
    error = None
    try:
        meta, body = split_card(text) if text is not None else ({}, "")
    except InvalidRequest as exc:
        # Still return the card, so its text can be fixed (card.content = ...) and pushed.
        log.warning("%s: %s", repo_id, exc.message)
        meta, body, error = {}, text or "", exc.message
    out = Card(repo_id, type, meta, body, commit=pinned.commit, original=text)
    out.error = error
    return out


def today() -> str:
    return dt.date.today().isoformat()
