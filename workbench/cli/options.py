"""What every ``workbench`` command group shares: the common options and the error funnel.

>>> @app.command()                                       # doctest: +SKIP
... @errors_to_exit
... def whoami(url: UrlOpt = None, token: TokenOpt = None, as_json: JsonOpt = False): ...
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any, NoReturn, TypeVar

import typer

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
