"""``wb.viewer``: a dataset's rows, search, filter and statistics as pandas DataFrames.

Everything goes through the hub's viewer endpoints (``/api/datasets/{id}/viewer/...``) with
:class:`workbench.client.HubClient`; nothing is downloaded but the page asked for.

>>> v = wb.viewer("admin/reviews", split="train")                      # doctest: +SKIP
>>> v.filter("label = 'neg' and score < 0.2", orderby="score").head()  # doctest: +SKIP
>>> v.statistics()[["column_type", "nan_count", "mean"]]               # doctest: +SKIP
>>> v.widget()                                                         # doctest: +SKIP
"""

from __future__ import annotations

import html
import time
from typing import TYPE_CHECKING, Any

from workbench.errors import Conflict, InvalidRequest, NotFound

if TYPE_CHECKING:
    import pandas as pd

    from workbench.client import HubClient

PAGE = 100
STAT_COLUMNS = (
    "column_type",
    "nan_count",
    "nan_proportion",
    "min",
    "max",
    "mean",
    "median",
    "std",
    "n_unique",
    "histogram",
    "frequencies",
    "top_values",
)


class Viewer:
    """One split of a dataset on the hub (its Parquet conversion)."""

    def __init__(
        self,
        repo_id: str,
        split: str = "train",
        *,
        config: str | None = None,
        revision: str | None = None,
        client: HubClient | None = None,
    ) -> None:
        if client is None:
            from workbench.kernel.session import connection

            client = connection().client
        self.client = client
        self.repo_id = repo_id
        self.split = split
        self.config = config
        self.revision = revision
        client.api_path(repo_id, "dataset")  # checks the id

    def __repr__(self) -> str:
        config = f", config={self.config!r}" if self.config else ""
        return f"Viewer({self.repo_id!r}, split={self.split!r}{config})"

    # -- HTTP ---------------------------------------------------------------------------------
    def _get(self, what: str, *, split: bool = True, **params: Any) -> dict[str, Any]:
        query = {k: v for k, v in params.items() if v is not None}
        if split:
            query["split"] = self.split
            if self.config:
                query["config"] = self.config
        if self.revision and what != "status":
            query["revision"] = self.revision
        path = self.client.api_path(self.repo_id, "dataset", "viewer", what)
        result: dict[str, Any] = self.client.request("GET", path, params=query).json()
        return result

    def _pages(self, what: str, offset: int, length: int, **params: Any) -> pd.DataFrame:
        import pandas as pd

        rows: list[dict[str, Any]] = []
        features: list[str] = []
        total = 0
        start = offset
        while True:
            n = min(PAGE, offset + length - start)
            page = self._get(what, offset=start, length=n, **params)
            features = [f["name"] for f in page["features"]]
            total = page["num_rows_total"]
            rows += page["rows"]
            start += len(page["rows"])
            if len(page["rows"]) < n or start >= offset + length:
                break
        df = pd.DataFrame(
            [r["row"] for r in rows],
            columns=features,
            index=pd.Index([r["row_idx"] for r in rows], name="row_idx"),
        )
        df.attrs["num_rows_total"] = total
        df.attrs["truncated_cells"] = {
            r["row_idx"]: r["truncated_cells"] for r in rows if r["truncated_cells"]
        }
        return df

    # -- the API ------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """Where the conversion of the latest commit stands: ``{"status", "error", ...}``."""
        return self._get("status", split=False)

    def refresh(self) -> dict[str, Any]:
        """Queue the latest commit's conversion again (after a failure; needs write access)."""
        path = self.client.api_path(self.repo_id, "dataset", "viewer", "refresh")
        result: dict[str, Any] = self.client.request("POST", path).json()
        return result

    def wait(self, timeout: float = 300.0, *, poll: float = 0.5) -> dict[str, Any]:
        """Block until the latest commit is converted; raise if its conversion failed."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.status()
            if status["status"] == "done" or (status["status"] == "none" and status["parquet"]):
                return status
            if status["status"] == "failed":
                raise Conflict(
                    f"The conversion of {self.repo_id} failed: {status['error']}", code="ConversionFailed"
                )
            if status["status"] == "none":
                raise NotFound(
                    f"{self.repo_id} has no Parquet conversion: its latest commit "
                    "was made before the viewer existed; POST .../viewer/refresh.",
                    code="ConversionNotFound",
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.repo_id} is still {status['status']} after {timeout:.0f} s.")
            time.sleep(poll)

    def splits(self) -> pd.DataFrame:
        """Configs and splits with their row counts."""
        import pandas as pd

        return pd.DataFrame(self._get("splits", split=False)["splits"])

    def rows(self, offset: int = 0, length: int = PAGE) -> pd.DataFrame:
        """Rows ``offset`` to ``offset + length``, indexed by row number."""
        return self._pages("rows", offset, length)

    def search(self, query: str, *, offset: int = 0, length: int = PAGE) -> pd.DataFrame:
        """Rows whose text columns contain every word of ``query`` (any case).

        ``df.attrs["num_rows_total"]`` is how many rows match in all.
        """
        return self._pages("search", offset, length, query=query)

    def filter(
        self, where: str | None = None, orderby: str | None = None, *, offset: int = 0, length: int = PAGE
    ) -> pd.DataFrame:
        """Rows matching ``where`` (``"label = 'neg' and score < 0.2"``), sorted by ``orderby``.

        The grammar: comparisons of columns (= != < <= > >=), ``is [not] null``, ``like``,
        ``in (...)``, ``and``/``or``/``not`` and parentheses. ``InvalidRequest`` says what is
        wrong with a filter the hub cannot read.
        """
        return self._pages("filter", offset, length, where=where, orderby=orderby)

    def statistics(self) -> pd.DataFrame:
        """One row per column: type, missing values, min/max/mean/median/std, histogram, ..."""
        import pandas as pd

        stats = self._get("statistics")
        records = []
        for col in stats["statistics"]:
            rec = {"column": col["column_name"], "column_type": col["column_type"]}
            rec.update(col["column_statistics"])
            records.append(rec)
        df = pd.DataFrame(records).set_index("column") if records else pd.DataFrame()
        ordered = [c for c in STAT_COLUMNS if c in df.columns]
        df = df[ordered + [c for c in df.columns if c not in ordered]]
        df.attrs["num_examples"] = stats["num_examples"]
        return df

    def size(self) -> dict[str, Any]:
        """Rows and bytes of the dataset, its configs and splits."""
        return self._get("size", split=False)["size"]  # type: ignore[no-any-return]

    def widget(self) -> Any:
        """An ipywidgets grid with search and filter boxes and a histogram per column."""
        from workbench.kernel.widgets.viewer import ViewerWidget

        return ViewerWidget(self)

    def _repr_html_(self) -> str:
        head = f"<b>{html.escape(self.repo_id)}</b> · split <code>{html.escape(self.split)}</code>"
        try:
            df = self.rows(0, 10)
        except (Conflict, InvalidRequest, LookupError) as exc:
            return f"<div>{head}<br><i>{html.escape(str(exc))}</i></div>"
        total = df.attrs.get("num_rows_total", len(df))
        return f"<div>{head} · {total:,} rows</div>" + df.to_html(max_rows=10, escape=True, notebook=False)


def viewer(
    repo_id: str,
    split: str = "train",
    *,
    config: str | None = None,
    revision: str | None = None,
    client: HubClient | None = None,
) -> Viewer:
    """Browse a dataset on the hub: ``.rows()``, ``.search()``, ``.filter()``,
    ``.statistics()`` (DataFrames), ``.status()``, ``.widget()``.

    ``config`` defaults to the dataset's default config; ``revision`` (a commit, branch or
    tag) shows that commit's conversion instead of the latest.

    >>> wb.viewer("admin/reviews").search("refund")      # doctest: +SKIP
    """
    return Viewer(repo_id, split, config=config, revision=revision, client=client)
