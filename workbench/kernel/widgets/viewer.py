"""``Viewer.widget()``: an ipywidgets grid over a dataset split with search, filter and histograms.

A search box (full text over string columns), a filter box and an order-by box (the viewer's
grammar, errors shown under them), page buttons, the page as an HTML table, and one small
histogram (or frequency bars) per column from the split's statistics. All data comes from
the hub through :class:`workbench.kernel.viewer.Viewer`; every value is HTML-escaped.

>>> wb.viewer("admin/reviews").widget()       # doctest: +SKIP
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    import pandas as pd

    from workbench.kernel.viewer import Viewer

BAR_COLOR = "#b35900"


def _cell(value: Any) -> Any:
    if isinstance(value, dict) and "src" in value:
        return f"[{str(value.get('type', 'file')).split('/')[0]}]"
    if isinstance(value, list) and value and isinstance(value[0], dict) and "src" in value[0]:
        return "[audio]"
    return value


def table_html(df: pd.DataFrame) -> str:
    return df.map(_cell).to_html(escape=True, notebook=False, max_cols=50)


def _bars(counts: list[int], labels: list[str]) -> str:
    top = max(counts) if counts else 0
    bars = []
    for count, label in zip(counts, labels, strict=True):
        height = 2 + (38 * count // top if top else 0)
        bars.append(
            f'<div title="{html.escape(label)}: {count:,}" style="display:inline-block;'
            f'width:9px;height:{height}px;margin-right:1px;background:{BAR_COLOR}"></div>'
        )
    return f'<div style="height:40px;display:flex;align-items:flex-end">{"".join(bars)}</div>'


def _freq(freq: dict[str, int]) -> str:
    top = max(freq.values()) if freq else 0
    rows = []
    for label, count in list(freq.items())[:8]:
        width = 2 + (100 * count // top if top else 0)
        rows.append(
            f'<div style="font-size:0.8em;white-space:nowrap;overflow:hidden">'
            f'<span style="display:inline-block;width:{width}px;height:8px;'
            f'background:{BAR_COLOR}"></span> {html.escape(str(label)[:40])} '
            f"({count:,})</div>"
        )
    return "".join(rows)


def histograms_html(stats: pd.DataFrame) -> str:
    """One card per column: its type, missing values and a histogram or frequency bars."""
    cards = []
    for name, row in stats.iterrows():
        s = row.to_dict()
        body = ""
        hist = s.get("histogram")
        if isinstance(hist, dict) and hist.get("hist"):
            edges = hist["bin_edges"]
            labels = [f"{edges[i]:g} to {edges[i + 1]:g}" for i in range(len(hist["hist"]))]
            body = _bars(hist["hist"], labels)
            body += (
                f'<div style="font-size:0.75em">{edges[0]:g} … {edges[-1]:g}'
                + (" (length)" if s.get("column_type") in ("string_text", "list") else "")
                + "</div>"
            )
        for key in ("frequencies", "top_values"):
            if isinstance(s.get(key), dict) and s[key]:
                body += _freq(s[key])
        missing = s.get("nan_count", 0) or 0
        cards.append(
            f'<div style="display:inline-block;vertical-align:top;margin:4px;'
            f'padding:4px 6px;border:1px solid #ddd;border-radius:4px;min-width:120px">'
            f'<b>{html.escape(str(name))}</b> <span style="color:#57606a;font-size:0.8em">'
            f"{html.escape(str(s.get('column_type')))}, {int(missing):,} missing</span>"
            f"{body}</div>"
        )
    return "".join(cards)


class ViewerWidget:
    """The widgets of one viewer; display the object (or ``.widget``) in a notebook."""

    def __init__(self, viewer: Viewer, *, page_size: int = 20, histograms: bool = True) -> None:
        import ipywidgets as w

        self.viewer = viewer
        self.page_size = page_size
        self.offset = 0
        self.total = 0
        self.search_box = w.Text(
            placeholder="words to find in text columns", description="Search", continuous_update=False
        )
        self.where_box = w.Text(
            placeholder="label = 'neg' and score < 0.2", description="Filter", continuous_update=False
        )
        self.order_box = w.Text(placeholder="score desc", description="Order by", continuous_update=False)
        self.prev_button = w.Button(description="◀ previous", layout=w.Layout(width="110px"))
        self.next_button = w.Button(description="next ▶", layout=w.Layout(width="110px"))
        self.info = w.HTML()
        self.message = w.HTML()
        self.grid = w.HTML()
        self.histograms = w.HTML()
        for box in (self.search_box, self.where_box, self.order_box):
            box.observe(lambda _change: self.go(0), names="value")
        self.prev_button.on_click(lambda _b: self.go(max(0, self.offset - self.page_size)))
        self.next_button.on_click(lambda _b: self.go(self.offset + self.page_size))
        self.widget = w.VBox(
            [
                w.HTML(
                    f"<b>{html.escape(viewer.repo_id)}</b> · split <code>{html.escape(viewer.split)}</code>"
                ),
                self.histograms,
                self.search_box,
                w.HBox([self.where_box, self.order_box]),
                self.message,
                w.HBox([self.prev_button, self.next_button, self.info]),
                self.grid,
            ]
        )
        if histograms:
            self.load_histograms()
        self.go(0)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def load_histograms(self) -> None:
        try:
            self.histograms.value = histograms_html(self.viewer.statistics())
        except WorkbenchError as exc:
            self.histograms.value = f"<i>{html.escape(str(exc))}</i>"

    def go(self, offset: int) -> None:
        """Show the page at ``offset`` of the current search, filter or plain rows."""
        query = self.search_box.value.strip()
        where, order = self.where_box.value.strip(), self.order_box.value.strip()
        note = ""
        try:
            if query:
                df = self.viewer.search(query, offset=offset, length=self.page_size)
                if where or order:
                    note = "Search ignores the filter and order; clear the search to use them."
            elif where or order:
                df = self.viewer.filter(where or None, order or None, offset=offset, length=self.page_size)
            else:
                df = self.viewer.rows(offset, self.page_size)
        except WorkbenchError as exc:
            self.message.value = (
                f'<span style="color:#cf222e">{html.escape(exc.code)}: {html.escape(str(exc))}</span>'
            )
            return
        self.message.value = f"<i>{html.escape(note)}</i>" if note else ""
        self.offset = offset
        self.total = int(df.attrs.get("num_rows_total", len(df)))
        last = offset + len(df)
        self.info.value = (
            f"rows {offset + 1:,}–{last:,} of {self.total:,}" if len(df) else f"no rows (of {self.total:,})"
        )
        self.prev_button.disabled = offset == 0
        self.next_button.disabled = last >= self.total
        self.grid.value = table_html(df)
