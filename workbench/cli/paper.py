"""``workbench paper import refs.bib`` and ``workbench paper export ID``.

Import checks the whole file first: with any unusable entry it lists them all and creates
nothing (``--skip-invalid`` imports the usable ones). Each entry becomes a paper repo named
after its citation key, with a card (title, authors, abstract, identifiers, the BibTeX
fields) and, when the entry has a ``file`` field, its PDF as ``paper.pdf``. A repo whose
commit fails is deleted again, so no half-made paper is left; existing repos are skipped.

    workbench paper import refs.bib --namespace acme --private
    workbench paper export acme/vaswani2017 > vaswani2017.bib
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from workbench.cli.options import JsonOpt, TokenOpt, UrlOpt, errors_to_exit, fail, print_json
from workbench.errors import Conflict, WorkbenchError

app = typer.Typer(no_args_is_help=True, help="Import papers from BibTeX and export their BibTeX.")


def _card(meta: dict[str, Any]) -> str:
    from workbench.repocard import render_card

    ids = meta.get("identifiers") or {}
    lines = [
        f"# {meta['title']}",
        "",
        ", ".join(meta["authors"]) + (f" - {meta['published']}" if meta.get("published") else ""),
    ]
    lines += [f"{k}: {v}" for k, v in sorted(ids.items())]
    if meta.get("abstract"):
        lines += ["", "## Abstract", "", meta["abstract"]]
    return render_card(
        {k: v for k, v in meta.items() if v not in (None, "", [], {})}, "\n".join(lines) + "\n"
    )


@app.command("import")
@errors_to_exit
def import_bibtex(
    path: Annotated[Path, typer.Argument(help="A .bib file.", show_default=False)],
    namespace: Annotated[
        str | None,
        typer.Option(
            "--namespace", "-n", help="User or organization to create the papers under (default: you)."
        ),
    ] = None,
    private: Annotated[bool, typer.Option("--private", help="Create private repos.")] = False,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Import the usable entries even if others are invalid.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the file, create nothing.")] = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create one paper repo per BibTeX entry."""
    from workbench.bibtex import parse_bibtex
    from workbench.client import HubClient

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        fail(f"{path} is not UTF-8 text.")
    entries, errors = parse_bibtex(text, base_dir=path.parent)
    for err in errors:
        typer.echo(f"invalid entry: {err}", err=True)
    if not entries and not errors:
        fail(f"{path} holds no BibTeX entries.")
    if errors and not skip_invalid:
        fail(
            f"{len(errors)} invalid entr{'y' if len(errors) == 1 else 'ies'} in {path}; "
            "nothing was imported. Fix them, or pass --skip-invalid to import the others."
        )
    results: list[dict[str, Any]] = []
    with HubClient(url, token, progress=False) as hub:
        owner = namespace or hub.whoami()["name"]
        for entry in entries:
            repo_id = f"{owner}/{entry.name}"
            if dry_run:
                results.append({"key": entry.key, "repo": repo_id, "status": "would create"})
                continue
            try:
                hub.create_repo(repo_id, type="paper", private=private)
            except Conflict:
                results.append({"key": entry.key, "repo": repo_id, "status": "exists, skipped"})
                continue
            files: dict[str, str | Path | bytes] = {"README.md": _card(entry.card).encode()}
            if entry.pdf is not None:
                files["paper.pdf"] = entry.pdf
            try:
                hub.upload(repo_id, files, type="paper", message=f"Import {entry.key} from {path.name}")
            except BaseException:
                try:  # no half-made paper: the repo goes with its failed commit
                    hub.delete_repo(repo_id, type="paper", missing_ok=True)
                except WorkbenchError:
                    pass
                raise
            results.append({"key": entry.key, "repo": repo_id, "status": "created"})
    if as_json:
        print_json({"results": results, "invalid": errors})
        return
    for r in results:
        typer.echo(f"{r['status']}: {r['repo']} ({r['key']})")


@app.command("export")
@errors_to_exit
def export_bibtex(
    repo_ids: Annotated[list[str], typer.Argument(help="Paper repo ids (ns/name).", show_default=False)],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default: standard output).")
    ] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Print the BibTeX entries of paper repos."""
    from workbench.client import HubClient

    chunks = []
    with HubClient(url, token, progress=False) as hub:
        for repo_id in repo_ids:
            chunks.append(hub.paper_bibtex(repo_id))
    text = "\n".join(chunks)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {len(repo_ids)} entr{'y' if len(repo_ids) == 1 else 'ies'} to {output}", err=True)
