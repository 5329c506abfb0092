"""What this kernel loaded from the hub: one record per (repo, type, commit).

Every ``wb.load_*`` call records the exact commit it used, so an evaluation run or a
published notebook can say precisely what it was built from.

>>> wb.load_dataset("admin/iris-mini")     # doctest: +SKIP
>>> wb.inputs()                             # doctest: +SKIP
[InputRecord(repo='admin/iris-mini', type='dataset', commit='3f2a...', ...)]
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from workbench.kernel.display import badge, table


@dataclass(frozen=True)
class InputRecord:
    """One thing loaded from the hub, pinned to a commit."""

    repo: str
    type: str
    commit: str
    revision: str | None  # what the caller asked for (None = main)
    via: str  # the wb function that loaded it
    hub: str
    loaded_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def _repr_html_(self) -> str:
        return Inputs([self])._repr_html_()


class Inputs(list[InputRecord]):
    """The list :func:`inputs` returns; renders as a table in a notebook."""

    def __repr__(self) -> str:
        if not self:
            return "Inputs([])  # nothing loaded from the hub yet"
        lines = [f"  {r.type:8} {r.repo}@{r.commit[:12]}  ({r.via})" for r in self]
        return "Inputs([\n" + "\n".join(lines) + "\n])"

    def _repr_html_(self) -> str:
        if not self:
            return "<i>Nothing loaded from the hub in this session yet.</i>"
        rows = [
            (badge(r.type), r.repo, _code(r.commit), r.revision or "main", r.via, r.loaded_at) for r in self
        ]
        return table(
            ("type", "repo", "commit", "asked for", "loaded with", "at (UTC)"), rows, raw_columns={0, 2}
        )

    def to_dicts(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self]


def _code(commit: str) -> str:
    import html

    return f'<code title="{html.escape(commit)}">{html.escape(commit[:12])}</code>'


_lock = threading.Lock()
_records: list[InputRecord] = []


def record(
    repo: str, repo_type: str, commit: str, *, revision: str | None, via: str, hub: str
) -> InputRecord:
    """Add a load to the session's inputs (once per repo, type and commit)."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    rec = InputRecord(repo, repo_type, commit, revision, via, hub, now)
    with _lock:
        for existing in _records:
            if (existing.repo, existing.type, existing.commit, existing.hub) == (
                repo,
                repo_type,
                commit,
                hub,
            ):
                return existing
        _records.append(rec)
    return rec


def inputs() -> Inputs:
    """Everything this kernel loaded from the hub, in load order, each pinned to a commit.

    >>> [(r.repo, r.commit) for r in wb.inputs()]    # doctest: +SKIP
    """
    with _lock:
        return Inputs(_records)


def clear_inputs() -> None:
    """Forget the recorded inputs (for a fresh start in a long-lived kernel)."""
    with _lock:
        _records.clear()
