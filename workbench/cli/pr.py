"""``workbench pr ...``: reviews of pull requests (the hub's review endpoints).

workbench pr review acme/bert-tiny 3 --approve -m "Looks right."
workbench pr review acme/bert-tiny 3 --request-changes -m "The eval split leaked."
workbench pr reviews acme/bert-tiny 3
"""

from __future__ import annotations

from typing import Annotated

import typer

from workbench.cli.options import (
    JsonOpt,
    RepoArg,
    RepoType,
    TokenOpt,
    TypeOpt,
    UrlOpt,
    errors_to_exit,
    fail,
    print_json,
)
from workbench.client import HubClient, collab

app = typer.Typer(no_args_is_help=True, help="Pull requests: review them, see where approvals stand.")

NumArg = Annotated[int, typer.Argument(help="The pull request's number.", show_default=False)]


@app.command("review")
@errors_to_exit
def review(
    repo_id: RepoArg,
    num: NumArg,
    approve: Annotated[bool, typer.Option("--approve", help="Approve the pull request.")] = False,
    request_changes: Annotated[
        bool, typer.Option("--request-changes", help="Ask for changes before it merges.")
    ] = False,
    comment: Annotated[
        bool, typer.Option("--comment", help="Review without a verdict (the default).")
    ] = False,
    message: Annotated[
        str, typer.Option("--message", "-m", help="The review's summary (markdown; needed unless --approve).")
    ] = "",
    type: TypeOpt = RepoType.model,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Review pull request NUM of REPO_ID: --approve, --request-changes or --comment."""
    chosen = [name for name, on in (("approve", approve), ("request_changes", request_changes)) if on]
    if len(chosen) + comment > 1:
        fail("Give one of --approve, --request-changes and --comment.")
    state = chosen[0] if chosen else "comment"
    with HubClient(url, token, progress=False) as hub:
        out = collab.review(hub, repo_id, num, state=state, summary=message, type=type.value)
    if as_json:
        print_json(out)
        return
    typer.echo(f"{out['state']} #{num} at {out['commit'][:12]} ({out['id']})")


@app.command("reviews")
@errors_to_exit
def reviews(
    repo_id: RepoArg,
    num: NumArg,
    type: TypeOpt = RepoType.model,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the reviews of pull request NUM and whether it has the approvals it needs."""
    with HubClient(url, token, progress=False) as hub:
        out = collab.reviews(hub, repo_id, num, type=type.value)
    if as_json:
        print_json(out)
        return
    for r in out["reviews"]:
        summary = " ".join(r["summary"].split())
        stale = " (stale)" if r.get("stale") else ""
        typer.echo(
            f"{r['author']:<16} {r['state']:<16} {r['commit'][:12]}{stale}"
            + (f"  {summary}" if summary else "")
        )
    a = out["approvals"]
    verdict = "can merge" if a["satisfied"] else "needs more approvals"
    typer.echo(f"approvals: {a['approvals']} of {a['required']} required ({verdict})")
    if a.get("staleApprovedBy"):
        typer.echo(f"stale approvals (new commits since): {', '.join(a['staleApprovedBy'])}")
