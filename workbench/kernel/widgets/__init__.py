"""ipywidgets UIs for the notebook (``wb.ui``), one per module; ipywidgets loads on first use.

>>> wb.ui.search()          # a search box with filters; results insert a load line  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any


def search(query: str = "", **filters: Any) -> Any:
    """A search box with type and sort filters; each result can insert its load line into the
    next cell or be copied from a text field.

    >>> wb.ui.search("iris")      # doctest: +SKIP
    """
    from workbench.kernel.widgets.search_box import SearchBox

    box = SearchBox(query, **filters)
    if query:
        box.run()
    return box


__all__ = ["search"]
