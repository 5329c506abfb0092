"""``workbench hub usage`` and ``workbench hub quota``: storage per namespace and its limit.

The rule for what a repo and a namespace use is ``workbench.store.storage``'s.

>>> # workbench hub quota set acme 10GB; workbench hub usage --namespace acme   # doctest: +SKIP
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from workbench.cli.hub_admin import TableJsonOpt, audit, open_store, print_rows
from workbench.cli.hub_xet import parse_size
from workbench.cli.options import DataOpt, DbOpt, StorageOpt

quota_app = typer.Typer(no_args_is_help=True, help="Limit the storage of a namespace's repos.")

NamespaceArg = Annotated[str, typer.Argument(help="A user or organization name.")]


def usage_command(
    namespace: Annotated[
        str | None,
        typer.Option("--namespace", help="List this namespace's repos instead of every namespace."),
    ] = None,
    as_json: TableJsonOpt = False,
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Bytes each namespace's repos hold (the files at the head of each repo's ``main``; a
    file two repos share counts in both), with its quota; or, with ``--namespace``, each repo
    of that namespace."""
    from workbench.store.storage import namespace_usage, repos_storage

    with open_store(data, database_url, storage) as (store, _settings), store.read() as s:
        if namespace is None:
            rows = [
                {
                    "namespace": u.namespace,
                    "kind": u.kind,
                    "repos": u.repos,
                    "bytes": u.storage,
                    "quota": u.quota,
                }
                for u in namespace_usage(store, s)
            ]
            columns = ["namespace", "kind", "repos", "bytes", "quota"]
        else:
            (total,) = namespace_usage(store, s, namespace)
            repos = repos_storage(store, s, namespace)
            rows = [{"repo": r.id, "type": r.type, "bytes": r.storage} for r in repos]
            columns = ["repo", "type", "bytes"]
    if as_json and namespace is not None:
        typer.echo(
            json.dumps(
                {"namespace": namespace, "bytes": total.storage, "quota": total.quota, "repos": rows},
                indent=2,
            )
        )
        return
    print_rows(rows, columns, as_json=as_json)
    if namespace is not None:
        quota = "none" if total.quota is None else f"{total.quota}"
        typer.echo(f"total {total.storage} bytes in {total.repos} repos; quota {quota}")


@quota_app.command("set")
def quota_set(
    namespace: NamespaceArg,
    size: Annotated[str, typer.Argument(help="The most bytes, e.g. 500MiB or 10GB.")],
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Refuse commits that would take NAMESPACE's storage past SIZE (413 QuotaExceeded)."""
    from workbench.store.storage import set_quota

    limit = parse_size(size)
    with open_store(data, database_url, storage) as (store, _settings), store.write() as s:
        set_quota(s, namespace, limit)
        audit(s, "quota.set", namespace=namespace, details={"bytes": limit})
    typer.echo(f"quota of {namespace}: {limit} bytes")


@quota_app.command("clear")
def quota_clear(
    namespace: NamespaceArg,
    data: DataOpt = None,
    database_url: DbOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Lift NAMESPACE's quota."""
    from workbench.store.storage import set_quota

    with open_store(data, database_url, storage) as (store, _settings), store.write() as s:
        set_quota(s, namespace, None)
        audit(s, "quota.clear", namespace=namespace)
    typer.echo(f"quota of {namespace}: none")
