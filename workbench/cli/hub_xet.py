"""``workbench hub xet-migrate``: give files stored whole a Xet version (see
``workbench.store.xet_migrate``).

>>> parse_size("64MB")
64000000
"""

from __future__ import annotations

import json
import re
import sys
from typing import Annotated

import typer

from workbench.cli.hub_admin import TableJsonOpt, open_store
from workbench.cli.options import DataOpt, DbOpt, StorageOpt

_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
}


def parse_size(text: str) -> int:
    """Bytes in ``text``: a number with an optional unit (B, KB, MB, GB, KiB, MiB, GiB)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", text.lower())
    if match is None or match[2] not in _UNITS:
        raise typer.BadParameter(f"{text!r} is not a size such as 500KB, 1MiB or 2GB.")
    return int(float(match[1]) * _UNITS[match[2]])


def xet_migrate_command(
    repo: Annotated[
        list[str] | None,
        typer.Option(
            "--repo",
            help="Only this repo, as TYPE/NAMESPACE/NAME (model/alice/bert) or NAMESPACE/NAME "
            "for a model; repeat for several. Default: every repo.",
        ),
    ] = None,
    min_size: Annotated[
        str, typer.Option("--min-size", help="Only files of at least this size (e.g. 1MiB, 500KB).")
    ] = "1MiB",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be migrated; change nothing.")
    ] = False,
    as_json: TableJsonOpt = False,
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Chunk the LFS files stored whole into Xet, so that they join deduplication.

    Clients with hf_xet then download them through Xet, and a changed version uploads only the
    chunks that changed. Commits are not rewritten and the whole files are kept. Safe while
    the hub serves; run it again to resume (what is done is skipped).
    """
    from workbench.errors import NotFound, RepoNotFound
    from workbench.names import split_repo_id, validate_repo_type
    from workbench.store.xet_migrate import migrate

    with open_store(data, database_url, storage) as (store, _settings):
        repo_ids: set[int] | None = None
        if repo:
            repo_ids = set()
            with store.read() as s:
                for text in repo:
                    kind, _, rest = text.partition("/") if text.count("/") == 2 else ("model", "", text)
                    namespace, name = split_repo_id(rest)
                    try:
                        repo_ids.add(store.get_repo(s, validate_repo_type(kind), namespace, name).id)
                    except NotFound:
                        raise RepoNotFound(f"No {kind} repo {namespace}/{name} on this hub.") from None
        report = migrate(
            store,
            min_size=parse_size(min_size),
            repo_ids=repo_ids,
            dry_run=dry_run,
            progress=not as_json and sys.stderr.isatty(),
        )
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    elif dry_run:
        typer.echo(f"would migrate {report.candidates} files ({report.bytes_migrated} bytes)")
    else:
        typer.echo(
            f"migrated {report.files_migrated} files ({report.bytes_migrated} bytes, "
            f"{report.xorbs_added} new xorbs); linked {report.files_linked} already migrated"
        )
    for error in report.errors:
        typer.echo(f"error: {error}", err=True)
    raise typer.Exit(1 if report.errors else 0)
