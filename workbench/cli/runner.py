"""``workbench runner``: run the hub's queued evaluation jobs on this machine.

    workbench runner --hub https://hub.example --token wbr_... --name gpu-box --max-jobs 2

The token is a runner token (``workbench hub runner register NAME`` prints it); the runner's
labels are the ones it was registered with. How a runner works: ``workbench.evals.hub_runner``.
"""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer

from workbench.cli.options import errors_to_exit, fail


@errors_to_exit
def runner(
    hub: Annotated[str | None, typer.Option("--hub", help="Hub URL (default: $WORKBENCH_HUB_URL).")] = None,
    token: Annotated[
        str | None, typer.Option("--token", help="Runner token (default: $WORKBENCH_RUNNER_TOKEN).")
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="Name shown in the records' environment (default: from the token)."),
    ] = None,
    executor: Annotated[
        str,
        typer.Option("--executor", help="'local' (a process per job here) or 'dask' (tasks on a cluster)."),
    ] = "local",
    dask_scheduler: Annotated[
        str | None, typer.Option("--dask-scheduler", help="HOST:PORT of the dask.distributed scheduler.")
    ] = None,
    max_jobs: Annotated[int, typer.Option("--max-jobs", help="Jobs run at once.")] = 1,
    labels: Annotated[
        str | None,
        typer.Option("--labels", help="Offer only these of the labels it was registered with (a,b)."),
    ] = None,
    spares: Annotated[
        bool,
        typer.Option(
            "--spares/--no-spares",
            help="Keep a run process with its kernel started per job slot (local executor), "
            "so that a job starts at once; --no-spares starts them after the lease instead.",
        ),
    ] = True,
    log_level: Annotated[str, typer.Option("--log-level", help="debug, info, warning.")] = "info",
) -> None:
    """Lease evaluation jobs from the hub and run them until SIGTERM (or Ctrl-C).

    Each job runs in a fresh kernel with a token that reads only the job's pinned repos; its
    record is stored verified, with this runner's name.
    """
    from workbench.evals.hub_runner import HubRunner

    url = hub or os.environ.get("WORKBENCH_HUB_URL")
    secret = token or os.environ.get("WORKBENCH_RUNNER_TOKEN")
    if not url or not secret:
        fail("pass --hub URL and --token RUNNER_TOKEN (or set WORKBENCH_HUB_URL and WORKBENCH_RUNNER_TOKEN).")
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(message)s")
    HubRunner(
        url,
        secret,
        name=name,
        executor=executor,
        dask_scheduler=dask_scheduler,
        max_jobs=max_jobs,
        labels=[x.strip() for x in labels.split(",") if x.strip()] if labels is not None else None,
        spares=spares,
    ).serve()
