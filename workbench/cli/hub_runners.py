"""``workbench hub runner ...``: register, list, pause, resume and remove evaluation runners.

Works on the hub's data folder, as the hub's admin (the rules are ``workbench.store.runners``'s;
the same actions are ``/api/runners`` for an admin token).

    workbench hub runner register gpu-box --labels gpu,cpu     # prints the runner token once
    workbench hub runner list
    workbench hub runner pause gpu-box
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from workbench.cli.hub_admin import TableJsonOpt, audit, default_user, iso_time, open_store, print_rows
from workbench.cli.options import DataOpt, DbOpt, StorageOpt

runner_app = typer.Typer(no_args_is_help=True, help="Evaluation runners: machines that run queued jobs.")

NameArg = Annotated[str, typer.Argument(help="The runner's name.")]


def _admin(s: Any, settings: Any) -> Any:
    from workbench.store.accounts import principal_for

    return principal_for(s, default_user(s, settings), "write")


@runner_app.command("register")
def register(
    name: NameArg,
    labels: Annotated[
        str, typer.Option("--labels", help="Comma-separated labels jobs may require, e.g. gpu,cpu.")
    ] = "",
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Register a runner and print its token (shown only now; it opens the runner endpoints
    and nothing else)."""
    from workbench.store.runners import register_runner

    with open_store(data, database_url, storage) as (store, settings), store.write() as s:
        wanted = [x.strip() for x in labels.split(",") if x.strip()]
        info, token = register_runner(s, _admin(s, settings), name, labels=wanted)
        audit(s, "runner.register", details={"name": name, "labels": info.labels})
    typer.echo(f"registered runner {name!r} with labels {info.labels} (token shown only now):", err=True)
    typer.echo(token)


def _held(jobs: list[Any]) -> str:
    return ", ".join(f"{j.id} ({j.model} on {j.dataset})" for j in jobs)


@runner_app.command("list")
def list_command(
    as_json: TableJsonOpt = False,
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """List runners: name, labels, state (active or paused), online (seen within the hub's
    online window, as in the lab's Runners panel), last seen, and the jobs each runs now (id,
    model, dataset)."""
    from workbench.store.runners import runner_statuses

    with open_store(data, database_url, storage) as (store, settings), store.read() as s:
        statuses = runner_statuses(s, _admin(s, settings), lease_seconds=settings.runner_lease_seconds)
        rows = [
            {
                "name": st.info.name,
                "labels": ",".join(st.info.labels),
                "state": "paused" if st.info.paused else "active",
                "paused": st.info.paused,
                "online": st.online,
                "last_seen": iso_time(st.info.last_seen),
                "jobs": [{"id": j.id, "model": j.model, "dataset": j.dataset} for j in st.jobs],
                "token_prefix": st.info.prefix,
                "created_at": iso_time(st.info.created_at),
            }
            for st in statuses
        ]
    if as_json:
        print_rows(rows, [], as_json=True)
        return
    for row, st in zip(rows, statuses, strict=True):
        row["online"], row["jobs"] = ("yes" if st.online else "no"), _held(st.jobs)
    print_rows(rows, ["name", "labels", "state", "online", "last_seen", "jobs"], as_json=False)


def _pause(name: str, paused: bool, data: Any, database_url: Any, storage: Any) -> None:
    from workbench.store.runners import set_paused

    with open_store(data, database_url, storage) as (store, settings), store.write() as s:
        set_paused(s, _admin(s, settings), name, paused)
        audit(s, "runner.pause" if paused else "runner.resume", details={"name": name})
    typer.echo(f"runner {name!r} {'paused' if paused else 'resumed'}")


@runner_app.command("pause")
def pause(
    name: NameArg, data: DataOpt = None, database_url: DbOpt = None, storage: StorageOpt = None
) -> None:
    """Pause a runner: it leases no more jobs (a job it runs finishes)."""
    _pause(name, True, data, database_url, storage)


@runner_app.command("resume")
def resume(
    name: NameArg, data: DataOpt = None, database_url: DbOpt = None, storage: StorageOpt = None
) -> None:
    """Resume a paused runner."""
    _pause(name, False, data, database_url, storage)


@runner_app.command("remove")
def remove(
    name: NameArg, data: DataOpt = None, database_url: DbOpt = None, storage: StorageOpt = None
) -> None:
    """Remove a runner: its token stops working; a job it held is leased again once its lease
    expires."""
    from workbench.store.runners import remove_runner

    with open_store(data, database_url, storage) as (store, settings), store.write() as s:
        remove_runner(s, _admin(s, settings), name)
        audit(s, "runner.remove", details={"name": name})
    typer.echo(f"runner {name!r} removed")
