"""Leaderboards: the best run of each model on a dataset split, for one metric.

``wb.leaderboard("admin/iris-mini", metric="accuracy")`` returns a :class:`Leaderboard`, a
pandas DataFrame that renders in a notebook as a table with an inline SVG bar chart (no
plotting library needed). Each row links to its run record.

>>> board = wb.leaderboard("admin/iris-mini", metric="accuracy")     # doctest: +SKIP
>>> board[["model", "value"]]                                         # doctest: +SKIP
"""

from __future__ import annotations

import html
from typing import Any, ClassVar

import pandas as pd

COLUMNS = [
    "rank",
    "model",
    "value",
    "model_commit",
    "run",
    "url",
    "reproduction",
    "verified",
    "verified_by",
    "created_by",
    "created_at",
]


def badge(verified: Any, verified_by: Any) -> str:
    """How an entry is marked: "verified (RUNNER)" or "self-reported"."""
    return f"verified ({verified_by})" if verified is True else "self-reported"


class Leaderboard(pd.DataFrame):
    """A DataFrame of leaderboard entries that also draws a bar chart in notebooks."""

    _metadata: ClassVar[list[str]] = ["metric", "dataset", "split", "higher_is_better", "verified_only"]

    @property
    def _constructor(self) -> type[Leaderboard]:
        return Leaderboard

    def chart_svg(self, width: int = 480) -> str:
        """A horizontal bar chart of the values, best first, as an SVG string."""
        if self.empty:
            return ""
        values = [float(v) for v in self["value"]]
        top = max(abs(v) for v in values) or 1.0
        bar_h, label_w = 22, 200
        rows = []
        for i, (model, value) in enumerate(zip(self["model"], values, strict=True)):
            y = i * bar_h
            w = max(1.0, (width - label_w - 70) * abs(value) / top)
            rows.append(
                f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12">'
                f"{html.escape(str(model))}</text>"
                f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{bar_h - 6}" '
                f'fill="#4c78a8"/><text x="{label_w + w + 4:.1f}" y="{y + 15}" '
                f'font-size="12">{value:.4g}</text>'
            )
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
            f'height="{bar_h * len(values)}" role="img" aria-label="leaderboard">' + "".join(rows) + "</svg>"
        )

    def _repr_html_(self) -> str:  # type: ignore[override]
        metric = html.escape(str(getattr(self, "metric", "")))
        title = (
            f"<b>{html.escape(str(getattr(self, 'dataset', '')))}</b> "
            f"[{html.escape(str(getattr(self, 'split', '')))}] &middot; {metric} "
            f"({'higher' if getattr(self, 'higher_is_better', True) else 'lower'} is better)"
        )
        if self.empty:
            return f"<div>{title}: no succeeded runs yet.</div>"
        rows = "".join(
            f"<tr><td>{r.rank}</td><td>{html.escape(str(r.model))}</td><td>{r.value:.6g}</td>"
            f"<td><code>{html.escape(str(r.model_commit)[:12])}</code></td>"
            f'<td><a href="{html.escape(str(r.url))}">{html.escape(str(r.run)[:12])}</a></td>'
            f"<td>{html.escape(str(r.reproduction or ''))}</td>"
            f'<td><span class="wb-badge wb-{"verified" if r.verified is True else "self-reported"}">'
            f"{html.escape(badge(r.verified, r.verified_by))}</span></td></tr>"
            for r in self.itertuples()
        )
        return (
            f"<div>{title}</div>{self.chart_svg()}<table><tr><th>#</th><th>model</th>"
            f"<th>{metric}</th><th>commit</th><th>run</th><th>reproduced</th><th>record</th></tr>"
            f"{rows}</table>"
        )


def to_frame(board: dict[str, Any], *, base_url: str = "") -> Leaderboard:
    """The hub's leaderboard answer as a :class:`Leaderboard`."""
    entries = [{**e, "url": base_url + e["url"]} for e in board.get("entries", [])]
    frame = Leaderboard(entries, columns=COLUMNS)
    frame.metric = board.get("metric")
    frame.dataset = board.get("dataset")
    frame.split = board.get("split")
    frame.higher_is_better = board.get("higher_is_better", True)
    frame.verified_only = board.get("verified_only", False)
    return frame
