"""A tree's ``README.md`` as the store reads it: the card metadata, and the body to index.

>>> card_at(store, tree)                      # doctest: +SKIP
{'license': 'mit', 'tags': ['tiny']}
"""

from __future__ import annotations

import logging
from typing import Any

from workbench.repocard import README, card_body, card_metadata
from workbench.store import contents
from workbench.store.store import Store
from workbench.store.trees import Tree

log = logging.getLogger(__name__)

MAX_CARD_BYTES = 1024 * 1024  # a larger README has no card metadata
MAX_BODY_BYTES = 64 * 1024  # what the search index reads of a README


def card_at(store: Store, tree: Tree | None) -> dict[str, Any] | None:
    """The card metadata of ``README.md`` at ``tree``; None when there is none (no README, or
    one over ``MAX_CARD_BYTES``). An unreadable blob raises ``OSError``."""
    entry = tree.get(README) if tree is not None else None
    if entry is None or entry.size > MAX_CARD_BYTES:
        return None
    return card_metadata(contents.read_bytes(store, entry).decode("utf-8", "replace"))


def body_at(store: Store, tree: Tree | None) -> str:
    """The README body (front matter removed) at ``tree``, at most ``MAX_BODY_BYTES``; '' when
    there is none or its blob cannot be read (logged: ``fsck`` reports missing blobs)."""
    entry = tree.get(README) if tree is not None else None
    if entry is None:
        return ""
    try:
        data = b""
        for piece in contents.iter_bytes(store, entry):
            data += piece
            if len(data) >= MAX_BODY_BYTES:
                break
        data = data[:MAX_BODY_BYTES]
    except OSError as exc:
        log.warning("README blob %s unreadable, indexed without its body: %s", entry.sha256, exc)
        return ""
    return card_body(data.decode("utf-8", "replace"))
