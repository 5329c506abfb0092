"""User commands talking to a hub over HTTP: login, whoami, repo ..., upload, download, log.

Every command goes through :class:`workbench.client.HubClient`; errors print
``error: <message>`` on stderr and exit with status 1.

    workbench login --url http://127.0.0.1:8765
    workbench upload me/tiny ./weights --create -m "First weights"
    workbench download me/tiny --local-dir ./tiny
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from workbench.cli.options import (
    JsonOpt,
    RepoArg,
    RepoType,
    RevOpt,
    TokenOpt,
    TypeOpt,
    UrlOpt,
    errors_to_exit,
    fail,
    print_json,
)
from workbench.client import HubClient

repo_app = typer.Typer(no_args_is_help=True)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _when(iso: str | None) -> str:
    return (iso or "")[:16].replace("T", " ")


# -- identity -------------------------------------------------------------------------------


@errors_to_exit
def login(url: UrlOpt = None, token: TokenOpt = None) -> None:
    """Check a token against a hub and save both in the user config (mode 0600).

    The token is then sent only to that hub; logging in to another hub replaces it.
    """
    from workbench.config import UserConfig

    if not token:
        token = typer.prompt("Token", hide_input=True).strip()
    with HubClient(url, token, progress=False) as client:
        me = client.whoami()
        path = UserConfig.load().save(client.url, token)
    typer.echo(f"Logged in to {client.url} as {me.get('name')}. Token saved in {path}.")


@errors_to_exit
def whoami(url: UrlOpt = None, token: TokenOpt = None, as_json: JsonOpt = False) -> None:
    """Show who the token belongs to."""
    with HubClient(url, token, progress=False) as client:
        me = client.whoami()
    if as_json:
        print_json(me)
        return
    orgs = ", ".join(f"{o['name']} ({o.get('roleInOrg', '?')})" for o in me.get("orgs", []))
    typer.echo(
        f"{me.get('name')}{' (admin)' if me.get('isAdmin') else ''} on {client.url}"
        + (f"\norgs: {orgs}" if orgs else "")
    )


# -- repo ... -------------------------------------------------------------------------------


@repo_app.command("create")
@errors_to_exit
def repo_create(
    repo: RepoArg,
    repo_type: TypeOpt = RepoType.model,
    private: Annotated[bool, typer.Option("--private", help="Only members see it.")] = False,
    exist_ok: Annotated[bool, typer.Option("--exist-ok", help="Succeed if it already exists.")] = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Create a repo and print its URL."""
    with HubClient(url, token, progress=False) as client:
        typer.echo(client.create_repo(repo, type=repo_type.value, private=private, exist_ok=exist_ok))


@repo_app.command("list")
@errors_to_exit
def repo_list(
    repo_type: TypeOpt = RepoType.model,
    search: Annotated[str | None, typer.Option("--search", help="Part of the name.")] = None,
    author: Annotated[str | None, typer.Option("--author", help="Owner (user or organization).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most N.")] = None,
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """List the repos you can see (search by name, filter by owner)."""
    with HubClient(url, token, progress=False) as client:
        repos = client.list_repos(type=repo_type.value, search=search, author=author, limit=limit)
    if as_json:
        print_json(repos)
    elif not repos:
        typer.echo(f"No {repo_type.value} repos.", err=True)
    else:
        width = max(len(r["id"]) for r in repos)
        for r in repos:
            typer.echo(
                f"{r['id']:<{width}}  {'private' if r.get('private') else 'public ':<7}  "
                f"{_when(r.get('lastModified'))}"
            )


@repo_app.command("info")
@errors_to_exit
def repo_info(
    repo: RepoArg,
    repo_type: TypeOpt = RepoType.model,
    revision: Annotated[
        str | None, typer.Option("--revision", "-r", help="Branch, tag or commit id (default: main).")
    ] = None,
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Show a repo: visibility, commit, files."""
    with HubClient(url, token, progress=False) as client:
        info = client.repo_info(repo, type=repo_type.value, revision=revision, files_metadata=True)
    if as_json:
        print_json(info)
        return
    files = info.get("siblings") or []
    total = sum(int(f.get("size") or 0) for f in files)
    typer.echo(
        f"{info['id']} ({repo_type.value}, "
        f"{'private' if info.get('private') else 'public'})\n"
        f"commit    {info.get('sha')}\n"
        f"modified  {_when(info.get('lastModified'))}\n"
        f"files     {len(files)} ({_size(total)})"
    )
    width = max((len(f["rfilename"]) for f in files), default=0)
    for f in files:
        typer.echo(
            f"  {f['rfilename']:<{width}}  {_size(int(f.get('size') or 0)):>10}"
            f"{'  lfs' if f.get('lfs') else ''}"
        )


@repo_app.command("delete")
@errors_to_exit
def repo_delete(
    repo: RepoArg,
    repo_type: TypeOpt = RepoType.model,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Delete a repo and all its history (asks first unless --yes)."""
    if not yes:
        typer.confirm(f"Delete the {repo_type.value} repo {repo} and all its history?", abort=True)
    with HubClient(url, token, progress=False) as client:
        client.delete_repo(repo, type=repo_type.value)
    typer.echo(f"Deleted {repo}.")


@repo_app.command("request-access")
@errors_to_exit
def repo_request_access(
    repo: RepoArg,
    fields: Annotated[
        list[str] | None,
        typer.Option(
            "--field",
            "-f",
            help="An answer to the repo's access form, NAME=VALUE (repeat it; a checkbox takes 'yes').",
        ),
    ] = None,
    repo_type: TypeOpt = RepoType.model,
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Ask for access to a gated repo, answering the form its card asks for.

    A repo gated 'auto' lets you download at once; a 'manual' one waits for its owners, whose
    decision reaches your inbox. The error for a missing answer names the fields the form asks for.

        workbench repo request-access acme/llm-7b -f Company=ACME -f "I agree=yes"
    """
    answers: dict[str, str] = {}
    for item in fields or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            fail(f"--field takes NAME=VALUE, not {item!r}.")
        answers[name.strip()] = value
    with HubClient(url, token, progress=False) as client:
        out = client.request_access(repo, type=repo_type.value, **answers)
    if as_json:
        print_json(out)
    elif out.get("status") == "accepted":
        typer.echo(f"Access to {repo} granted: you may download its files.")
    else:
        typer.echo(
            f"Access to {repo} requested; its owners decide, and you will find their answer in your inbox."
        )


# -- files and history ----------------------------------------------------------------------


def _upload_source(paths: list[Path], path_in_repo: str | None) -> Any:
    if path_in_repo is None:
        return paths
    if len(paths) != 1:
        fail("--path-in-repo works with a single file or folder.")
    src = paths[0]
    if src.is_dir():
        prefix = path_in_repo.strip("/")
        return {"" if prefix == "." else prefix: src}
    target = path_in_repo + src.name if path_in_repo.endswith("/") else path_in_repo
    return {target: src}


@errors_to_exit
def upload(
    repo: RepoArg,
    paths: Annotated[
        list[Path],
        typer.Argument(help="Files and folders (folders upload their content).", show_default=False),
    ],
    repo_type: TypeOpt = RepoType.model,
    revision: RevOpt = "main",
    message: Annotated[str | None, typer.Option("--message", "-m", help="Commit title.")] = None,
    path_in_repo: Annotated[
        str | None,
        typer.Option(
            "--path-in-repo",
            help="Target path of a single file, or folder prefix (a trailing '/' keeps a file's name).",
        ),
    ] = None,
    create: Annotated[bool, typer.Option("--create", help="Create the repo if missing.")] = False,
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Upload files and folders to a repo in one commit (unchanged files are skipped)."""
    source = _upload_source(paths, path_in_repo)
    with HubClient(url, token, progress=True) as client:
        if create:
            client.create_repo(repo, type=repo_type.value, exist_ok=True)
        result = client.upload(repo, source, type=repo_type.value, revision=revision, message=message)
        stats = client.last_transfer_stats
    if as_json:
        print_json({**result, "stats": stats})
    elif result.get("noop"):
        typer.echo(
            f"Nothing to commit: {repo}@{revision} already has these "
            f"{stats['files']} files (commit {result['commitOid'][:8]})."
        )
    else:
        typer.echo(
            f"Uploaded {stats['files_uploaded']} files to {repo}@{revision} "
            f"({_size(stats['bytes_uploaded'])} sent, {stats['files_skipped']} unchanged)"
            f": {result['commitUrl']}"
        )


@errors_to_exit
def download(
    repo: RepoArg,
    files: Annotated[
        list[str] | None, typer.Argument(help="Paths in the repo (default: every file).", show_default=False)
    ] = None,
    repo_type: TypeOpt = RepoType.model,
    revision: RevOpt = "main",
    local_dir: Annotated[
        Path | None, typer.Option("--local-dir", "-d", help="Where to put the files (default: ./<name>).")
    ] = None,
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Download files of one commit of a repo into a folder."""
    target = local_dir or Path(repo.rsplit("/", 1)[-1])
    with HubClient(url, token, progress=True) as client:
        paths = client.download(
            repo, files or None, type=repo_type.value, revision=revision, local_dir=target
        )
        stats = client.last_transfer_stats
    if as_json:
        print_json(
            {"localDir": str(target), "files": [str(p) for p in paths], "bytes": stats["bytes_downloaded"]}
        )
    else:
        typer.echo(f"Downloaded {len(paths)} files ({_size(stats['bytes_downloaded'])}) to {target}")


@errors_to_exit
def log(
    repo: RepoArg,
    repo_type: TypeOpt = RepoType.model,
    revision: RevOpt = "main",
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="At most N commits.")] = None,
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Show the commit history, newest first: id, date, author, title."""
    with HubClient(url, token, progress=False) as client:
        commits = client.log(repo, type=repo_type.value, revision=revision, limit=limit)
    if as_json:
        print_json(commits)
        return
    for c in commits:
        author = ", ".join(a.get("user", "") for a in c.get("authors", []))
        typer.echo(f"{c['id'][:8]}  {_when(c.get('date'))}  {author:<12}  {c.get('title', '')}")


def register(app: typer.Typer) -> None:
    """Add the user commands to the top-level ``workbench`` command."""
    app.command("login")(login)
    app.command("whoami")(whoami)
    app.add_typer(repo_app, name="repo", help="Create, list, inspect and delete repos.")
    app.command("upload")(upload)
    app.command("download")(download)
    app.command("log")(log)
