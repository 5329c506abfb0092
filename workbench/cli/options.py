"""What every ``workbench`` command group shares: the common options and the error funnel.

>>> @app.command()                                       # doctest: +SKIP
... @errors_to_exit
... def whoami(url: UrlOpt = None, token: TokenOpt = None, as_json: JsonOpt = False): ...
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from workbench.config import HubSettings
from workbench.errors import WorkbenchError

F = TypeVar("F", bound=Callable[..., Any])


class RepoType(StrEnum):
    model = "model"
    dataset = "dataset"
    space = "space"
    paper = "paper"


UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="Hub URL (default: $WORKBENCH_HUB_URL, then the saved login, then http://127.0.0.1:8765).",
    ),
]
TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token",
        help=(
            "Access token (default: $WORKBENCH_TOKEN for the hub it belongs to, "
            "then the token saved for this hub)."
        ),
    ),
]
TypeOpt = Annotated[RepoType, typer.Option("--type", "-t", help="Repo type.")]
RevOpt = Annotated[str, typer.Option("--revision", "-r", help="Branch, tag or commit id.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
RepoArg = Annotated[str, typer.Argument(help="Repo id, 'namespace/name'.", show_default=False)]

# The data-folder options of ``workbench hub ...``: where a hub keeps its metadata and blobs.
DataOpt = Annotated[
    Path | None,
    typer.Option("--data", help="Data folder (default: $WORKBENCH_DATA or ~/.local/share/workbench)."),
]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="SQLAlchemy URL of the metadata store (default: SQLite in the data folder)."
    ),
]
StorageOpt = Annotated[
    str | None,
    typer.Option("--storage", help="fsspec URL of the blob store (default: blobs/ in the data folder)."),
]


def settings_from(
    data: Path | None, database_url: str | None, storage: str | None, **extra: object
) -> HubSettings:
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


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def errors_to_exit(func: F) -> F:
    """Turn Workbench and local file errors into ``error: ...`` and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except WorkbenchError as exc:
            fail(exc.message)
        except OSError as exc:
            fail(str(exc))

    return wrapper  # type: ignore[return-value]


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
