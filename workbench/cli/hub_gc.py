"""``workbench hub gc``: free the blobs nothing references (see ``workbench.store.gc``).

>>> parse_duration("90m")
5400.0
"""

from __future__ import annotations

import json
import re
import sys
from typing import Annotated

import typer

from workbench.cli.hub_admin import TableJsonOpt, open_store
from workbench.cli.options import DataOpt, DbOpt, StorageOpt

_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """Seconds in ``text``: a number with an optional unit, ``s``, ``m``, ``h`` or ``d``."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text.lower())
    if match is None:
        raise typer.BadParameter(f"{text!r} is not a duration such as 90s, 30m, 1h or 2d.")
    return float(match[1]) * _UNITS[match[2]]


def gc_command(
    grace: Annotated[
        str,
        typer.Option(
            "--grace",
            help="Keep unreferenced blobs younger than this (e.g. 30m, 1h, 2d; 0 for none): "
            "uploads in progress reference nothing yet.",
        ),
    ] = "1h",
    xet_grace: Annotated[
        str,
        typer.Option(
            "--xet-grace",
            help="Keep unused Xet xorbs this long after they or a shard naming them arrived: "
            "hf_xet reuses the xorbs of its own uploads for 21 days without asking.",
        ),
    ] = "21d",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would be freed; delete nothing.")
    ] = False,
    as_json: TableJsonOpt = False,
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Delete blobs and Xet objects that no commit or record references (mark and sweep).

    Safe while the hub serves: content written after the run began, or named again by an
    upload or commit while it runs, is kept. Only one GC runs at a time; a second one exits
    with status 1 and says since when the first one runs.
    """
    from workbench.store.gc import collect

    seconds, xet_seconds = parse_duration(grace), parse_duration(xet_grace)
    with open_store(data, database_url, storage) as (store, _settings):
        report = collect(
            store,
            grace=seconds,
            xet_grace=xet_seconds,
            dry_run=dry_run,
            progress=not as_json and sys.stderr.isatty(),
        )
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    verb = "would free" if dry_run else "freed"
    typer.echo(
        f"{verb} {report.blobs_freed} blobs ({_size(report.bytes_freed)}), {report.xet_files_freed} Xet "
        f"files, {report.xorbs_freed} xorbs, {report.shards_freed} shards"
    )
    typer.echo(
        f"kept {report.live_blobs} referenced and {report.young_blobs} recent blobs "
        f"of {report.stored_blobs} stored"
        + (f"; put back {report.blobs_restored}" if report.blobs_restored else "")
    )
    if not dry_run:
        typer.echo(f"commits waited at most {report.longest_hold_s:.3f} s for the sweep")


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"
