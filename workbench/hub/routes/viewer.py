"""Workbench API: the dataset viewer, in the shape of the public hub's dataset-viewer API.

Every endpoint reads the dataset's Parquet conversion (``refs/convert/parquet``, or that of
commit ``revision``) and follows the repo's permissions: a private dataset is a 404
``RepoNotFound`` to whoever may not read it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response

from workbench.errors import Conflict, NotFound
from workbench.hub.deps import Caller, Position, State, base_url, repo_key, seg
from workbench.store import models as m
from workbench.store.access import readable_repo, require_write
from workbench.store.gating import downloadable_repo
from workbench.store.jobs import enqueue
from workbench.store.refs import resolve_revision
from workbench.viewer.cells import features_list, media_bytes, media_type, render_rows
from workbench.viewer.conversions import (
    Conversion,
    conversion_by_commit,
    find_conversion,
    viewer_status,
)
from workbench.viewer.query import MAX_PAGE, SplitReader
from workbench.viewer.searchindex import search_rows
from workbench.viewer.statistics import cached_statistics

router = APIRouter(tags=["workbench"])
PREFIX = "/api/datasets/{namespace}/{name}/viewer"
# User bytes served from the hub's origin: never let a browser run them.
ASSET_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, max-age=86400",
}

Config = Query(None, description="Config name (default: the dataset's default config).")
Split = Query(None, description="Split name, e.g. `train`.")
Revision = Query(
    None, description="A commit, branch or tag of the dataset: show its conversion instead of the latest one."
)
Length = Query(MAX_PAGE, ge=1, le=MAX_PAGE, description=f"Rows per page (at most {MAX_PAGE}).")


def _repo(state: State, caller: Caller, s: Any, namespace: str, name: str) -> m.Repo:
    return readable_repo(state.store, s, caller, repo_key("datasets", namespace, name).as_tuple())


def _rows_repo(state: State, caller: Caller, s: Any, namespace: str, name: str) -> m.Repo:
    """The dataset, if the caller may also read its rows (a gated dataset's are its files)."""
    return downloadable_repo(state.store, s, caller, repo_key("datasets", namespace, name).as_tuple())


def _conversion(
    state: State, caller: Caller, namespace: str, name: str, revision: str | None
) -> tuple[str, Conversion]:
    with state.store.read() as s:
        repo = _rows_repo(state, caller, s, namespace, name)
        return f"{repo.namespace}/{repo.name}", find_conversion(state.store, s, repo, revision)


def _reader(
    state: State,
    caller: Caller,
    namespace: str,
    name: str,
    config: str | None,
    split: str | None,
    revision: str | None,
) -> tuple[str, SplitReader]:
    dataset, conv = _conversion(state, caller, namespace, name, revision)
    return dataset, SplitReader(state.store, conv, conv.split(config, split))


def _page(
    request: Request,
    dataset: str,
    reader: SplitReader,
    table: Any,
    indices: list[int],
    total: int,
    length: int,
) -> dict[str, Any]:
    features = reader.features()
    base = (
        f"{base_url(request)}/api/datasets/{dataset}/viewer/assets/{reader.conversion.commit}/"
        f"{quote(reader.info.config, safe='')}/{quote(reader.info.split, safe='')}"
    )

    def media_url(row: int, column: str) -> str:
        return f"{base}/{row}/{quote(column, safe='')}"

    return {
        "features": features_list(features),
        "rows": render_rows(table, indices, features=features, media_url=media_url),
        "num_rows_total": total,
        "num_rows_per_page": length,
        "partial": False,
    }


@router.get(PREFIX + "/status", summary="Conversion status of the dataset's latest commit")
def status(namespace: str, name: str, state: State, caller: Caller) -> dict[str, Any]:
    with state.store.read() as s:
        return viewer_status(s, _repo(state, caller, s, namespace, name))


@router.post(PREFIX + "/refresh", summary="Convert the latest commit again (after a failure)")
def refresh(namespace: str, name: str, state: State, caller: Caller) -> dict[str, Any]:
    with state.store.write() as s:
        repo = _repo(state, caller, s, namespace, name)
        require_write(s, caller, repo)
        enqueue(s, "parquet", repo.id, resolve_revision(s, repo, "main").oid)
    with state.store.read() as s:
        return viewer_status(s, _repo(state, caller, s, namespace, name))


@router.get(PREFIX + "/is-valid", summary="Which viewer features work for the dataset")
def is_valid(namespace: str, name: str, state: State, caller: Caller) -> dict[str, bool]:
    with state.store.read() as s:
        repo = _repo(state, caller, s, namespace, name)
        try:
            conv: Conversion | None = find_conversion(state.store, s, repo)
        except (NotFound, Conflict):
            conv = None
    if conv is None:
        return dict.fromkeys(("preview", "viewer", "search", "filter", "statistics"), False)
    first = next(iter(conv.configs[conv.default_config]))
    reader = SplitReader(state.store, conv, conv.split(conv.default_config, first))
    return {
        "preview": True,
        "viewer": True,
        "search": bool(reader.string_columns()),
        "filter": True,
        "statistics": True,
    }


@router.get(PREFIX + "/splits", summary="Configs and splits")
def splits(
    namespace: str,
    name: str,
    state: State,
    caller: Caller,
    config: str | None = Config,
    revision: str | None = Revision,
) -> dict[str, Any]:
    dataset, conv = _conversion(state, caller, namespace, name, revision)
    if config is not None:
        conv.config(config)
    return {
        "splits": [
            {"dataset": dataset, "config": c, "split": sp, "num_rows": info.num_rows}
            for c, items in conv.configs.items()
            if config in (None, c)
            for sp, info in items.items()
        ],
        "default_config": conv.default_config,
        "commit": conv.commit,
        "source_commit": conv.source_commit,
        "pending": [],
        "failed": [],
    }


@router.get(PREFIX + "/first-rows", summary="The first 100 rows of a split, with its features")
def first_rows(
    namespace: str,
    name: str,
    request: Request,
    state: State,
    caller: Caller,
    config: str | None = Config,
    split: str | None = Split,
    revision: str | None = Revision,
) -> dict[str, Any]:
    dataset, reader = _reader(state, caller, namespace, name, config, split, revision)
    table, indices = reader.rows(0, MAX_PAGE)
    page = _page(request, dataset, reader, table, indices, reader.num_rows, MAX_PAGE)
    return {
        "dataset": dataset,
        "config": reader.info.config,
        "split": reader.info.split,
        "features": page["features"],
        "rows": page["rows"],
        "truncated": reader.num_rows > MAX_PAGE,
    }


@router.get(PREFIX + "/rows", summary="A page of rows (offset, length <= 100)")
def rows(
    namespace: str,
    name: str,
    request: Request,
    state: State,
    caller: Caller,
    config: str | None = Config,
    split: str | None = Split,
    offset: Position = 0,
    length: int = Length,
    revision: str | None = Revision,
) -> dict[str, Any]:
    dataset, reader = _reader(state, caller, namespace, name, config, split, revision)
    table, indices = reader.rows(offset, length)
    return _page(request, dataset, reader, table, indices, reader.num_rows, length)


@router.get(PREFIX + "/search", summary="Ranked full-text search over the string columns of a split")
def search(
    namespace: str,
    name: str,
    request: Request,
    state: State,
    caller: Caller,
    query: str = Query(..., max_length=1000, description="Words to look for (any case)."),
    config: str | None = Config,
    split: str | None = Split,
    offset: Position = 0,
    length: int = Length,
    revision: str | None = Revision,
) -> dict[str, Any]:
    dataset, reader = _reader(state, caller, namespace, name, config, split, revision)
    table, indices, total, ranked = search_rows(reader, query, offset=offset, length=length)
    return {**_page(request, dataset, reader, table, indices, total, length), "ranked": ranked}


@router.get(PREFIX + "/filter", summary="Rows matching `where`, sorted by `orderby`")
def filter_rows(
    namespace: str,
    name: str,
    request: Request,
    state: State,
    caller: Caller,
    where: str | None = Query(
        None, description="e.g. `label = 'pos' and (score >= 0.5 or text like '%good%')`; see docs/viewer.md."
    ),
    orderby: str | None = Query(None, description="e.g. `score desc, id`."),
    config: str | None = Config,
    split: str | None = Split,
    offset: Position = 0,
    length: int = Length,
    revision: str | None = Revision,
) -> dict[str, Any]:
    dataset, reader = _reader(state, caller, namespace, name, config, split, revision)
    table, indices, total = reader.filter(where, orderby, offset=offset, length=length)
    return _page(request, dataset, reader, table, indices, total, length)


@router.get(PREFIX + "/statistics", summary="Per-column statistics of a split (cached per commit)")
def statistics(
    namespace: str,
    name: str,
    state: State,
    caller: Caller,
    config: str | None = Config,
    split: str | None = Split,
    revision: str | None = Revision,
) -> dict[str, Any]:
    _dataset, reader = _reader(state, caller, namespace, name, config, split, revision)
    return cached_statistics(state.store, reader)


@router.get(PREFIX + "/size", summary="Rows and bytes per dataset, config and split")
def size(
    namespace: str, name: str, state: State, caller: Caller, revision: str | None = Revision
) -> dict[str, Any]:
    dataset, conv = _conversion(state, caller, namespace, name, revision)
    fields = ("num_bytes_original_files", "num_bytes_parquet_files", "num_bytes_memory", "num_rows")
    splits_out = [
        {
            "dataset": dataset,
            "config": c,
            "split": sp,
            **{f: getattr(info, f) for f in fields},
            "num_columns": info.num_columns,
        }
        for c, items in conv.configs.items()
        for sp, info in items.items()
    ]
    configs_out = [
        {
            "dataset": dataset,
            "config": c,
            **{f: sum(x[f] for x in splits_out if x["config"] == c) for f in fields},
            "num_columns": max((x["num_columns"] for x in splits_out if x["config"] == c), default=0),
        }
        for c in conv.configs
    ]
    return {
        "size": {
            "dataset": {"dataset": dataset, **{f: sum(x[f] for x in configs_out) for f in fields}},
            "configs": configs_out,
            "splits": splits_out,
        },
        "partial": False,
    }


@router.get(PREFIX + "/parquet", summary="The Parquet files of every config and split")
def parquet(
    namespace: str, name: str, request: Request, state: State, caller: Caller, revision: str | None = Revision
) -> dict[str, Any]:
    dataset, conv = _conversion(state, caller, namespace, name, revision)
    files = [
        {
            "dataset": dataset,
            "config": c,
            "split": sp,
            "url": f"{base_url(request)}/datasets/{dataset}/resolve/{conv.commit}/{shard.path}",
            "filename": shard.path.rsplit("/", 1)[-1],
            "size": shard.size,
        }
        for c, items in conv.configs.items()
        for sp, info in items.items()
        for shard in info.shards
    ]
    return {"parquet_files": files, "commit": conv.commit, "pending": [], "failed": [], "partial": False}


@router.get(
    PREFIX + "/assets/{commit}/{config}/{split}/{row}/{column}",
    summary="The bytes of a media cell (image, audio, binary)",
    response_class=Response,
)
def asset(
    namespace: str,
    name: str,
    commit: str,
    config: str,
    split: str,
    row: int,
    column: str,
    state: State,
    caller: Caller,
) -> Response:
    with state.store.read() as s:
        repo = _rows_repo(state, caller, s, namespace, name)
        conv = conversion_by_commit(state.store, s, repo, seg(commit))
    reader = SplitReader(state.store, conv, conv.split(seg(config), seg(split)))
    col = seg(column)
    data, path = media_bytes(reader.cell(row, col))
    if data is None:
        raise NotFound(f"Row {row} has no {col!r} bytes.", code="EntryNotFound")
    mime = media_type(data, path, reader.features().get(col, {}))
    if mime.startswith(("text/", "application/xhtml", "application/javascript")):
        mime = "application/octet-stream"
    return Response(data, media_type=mime, headers=ASSET_HEADERS)
