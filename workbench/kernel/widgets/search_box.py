"""``wb.ui.search()``: a search box with type and sort filters and a list of results.

Each result has an *Insert* button, which hands its load line (``model =
wb.load_model("me/tiny")``) to IPython's ``set_next_input``, and a text field holding the
same line to copy. The kernel delivers ``set_next_input`` with the reply to the next cell run
(a button click is not a cell run), so the line appears below the next cell executed.

>>> box = SearchBox("iris", type="dataset"); box.run(); box     # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from workbench.errors import WorkbenchError
from workbench.kernel.display import badge
from workbench.kernel.search import SORTS, SearchResults, load_line
from workbench.markdown import esc

log = logging.getLogger(__name__)

TYPES = (("all types", None), ("models", "model"), ("datasets", "dataset"), ("papers", "paper"))
SORT_LABELS = {
    "relevance": "relevance",
    "downloads": "downloads",
    "likes": "likes",
    "lastModified": "recently updated",
    "createdAt": "newest",
}


def insert_next_cell(code: str) -> bool:
    """Ask the frontend to put ``code`` in a new cell; False outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    shell.set_next_input(code, replace=False)
    return True


class SearchBox:
    """The widgets of one search box; display the object (or ``.widget``) in a notebook."""

    def __init__(
        self,
        query: str = "",
        *,
        type: str | None = None,
        sort: str = "relevance",
        limit: int = 20,
        search: Callable[..., SearchResults] | None = None,
        insert: Callable[[str], bool] = insert_next_cell,
    ) -> None:
        import ipywidgets as w

        from workbench.kernel.search import search as hub_search

        self.limit = limit
        self.hits = SearchResults()
        self._search = search or hub_search
        self._insert = insert
        self.query = w.Text(
            value=query,
            placeholder="Search models, datasets and papers",
            continuous_update=False,
            layout=w.Layout(width="320px"),
        )
        self.type = w.Dropdown(options=TYPES, value=type, layout=w.Layout(width="130px"))
        self.sort = w.Dropdown(
            options=[(SORT_LABELS[s], s) for s in SORTS], value=sort, layout=w.Layout(width="160px")
        )
        self.button = w.Button(description="Search", icon="search", layout=w.Layout(width="auto"))
        self.status = w.HTML()
        self.results = w.VBox()
        self.widget = w.VBox(
            [w.HBox([self.query, self.type, self.sort, self.button]), self.status, self.results]
        )
        for control in (self.query, self.type, self.sort):
            control.observe(lambda _change: self.run(), names="value")
        self.button.on_click(lambda _button: self.run())

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def run(self) -> SearchResults:
        """Search with the current query and filters and show the results."""
        try:
            hits = self._search(
                self.query.value, type=self.type.value, sort=self.sort.value, limit=self.limit
            )
        except WorkbenchError as exc:
            self.status.value = f"<span style='color:#cf222e'>{esc(exc.message)}</span>"
            self.results.children = ()
            return SearchResults()
        self.hits = hits
        self.status.value = f"{len(hits)} result{'s' if len(hits) != 1 else ''}" if hits else "Nothing found."
        self.results.children = tuple(self._row(hit) for hit in hits)
        return hits

    def _row(self, hit: dict[str, Any]) -> Any:
        import ipywidgets as w

        code = load_line(hit)
        title = esc(hit.get("title") or "")
        label = w.HTML(
            f"{badge(str(hit.get('type') or 'model'))} <code>{esc(hit['id'])}</code>"
            f"{' &#128274;' if hit.get('private') else ''} "
            f"<span style='color:#57606a'>{title}</span>",
            layout=w.Layout(width="420px"),
        )
        insert = w.Button(
            description="Insert",
            icon="plus",
            tooltip="Insert the load line into a new cell",
            layout=w.Layout(width="auto"),
        )
        copy = w.Text(value=code, layout=w.Layout(width="420px"))

        def on_insert(_button: Any) -> None:
            if self._insert(code):
                self.status.value = (
                    f"<code>{esc(code)}</code> goes into a new cell below the "
                    "next cell you run (or copy it from the field)."
                )
            else:
                self.status.value = "Not in a notebook: copy the line from the field."

        insert.on_click(on_insert)
        return w.HBox([label, insert, copy])
