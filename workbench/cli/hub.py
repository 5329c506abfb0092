"""``workbench hub ...``: serve, init, fsck, users and tokens, working on the data folder."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from workbench.config import HubSettings

app = typer.Typer(no_args_is_help=True)

DataOpt = Annotated[Path | None, typer.Option("--data", help="Data folder (default: "
                                              "$WORKBENCH_DATA or ~/.local/share/workbench).")]
DbOpt = Annotated[str | None, typer.Option("--database-url", help="SQLAlchemy URL of the "
                                           "metadata store (default: SQLite in the data folder).")]
StorageOpt = Annotated[str | None, typer.Option("--storage", help="fsspec URL of the blob store "
                                                "(default: blobs/ in the data folder).")]


def settings_from(data: Path | None, database_url: str | None, storage: str | None,
                  **extra: object) -> HubSettings:
    kwargs: dict[str, object] = {k: v for k, v in extra.items() if v is not None}
    if data is not None:
        kwargs["data_dir"] = data
    elif os.environ.get("WORKBENCH_DATA"):
        kwargs["data_dir"] = Path(os.environ["WORKBENCH_DATA"])
    if database_url:
        kwargs["database_url"] = database_url
    if storage:
        kwargs["storage_url"] = storage
    return HubSettings(**kwargs)  # type: ignore[arg-type]


@app.command()
def serve(host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
          port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
          data: DataOpt = None, database_url: DbOpt = None, storage: StorageOpt = None,
          public_url: Annotated[str | None, typer.Option(help="URL clients use to reach the hub.")]
          = None,
          workers: Annotated[int, typer.Option(help="Worker processes.")] = 1) -> None:
    """Start the hub (FastAPI under uvicorn)."""
    import uvicorn

    from workbench.hub import create_app

    settings = settings_from(data, database_url, storage, host=host, port=port,
                             public_url=public_url)
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app_ = create_app(settings)
    typer.echo(f"Workbench hub on http://{settings.host}:{settings.port} "
               f"(data: {Path(settings.data_dir).absolute()})", err=True)
    uvicorn.run(app_, host=settings.host, port=settings.port, log_level=settings.log_level,
                access_log=False, timeout_keep_alive=30)
