"""Publishing a notebook file, with a card listing what the session loaded and a Binder badge.

>>> wb.publish_notebook("train.ipynb", "me/tiny")          # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path

from workbench.binder import GitSource, badge_markdown, detect_git_source, parse_source_url
from workbench.errors import InvalidRequest
from workbench.kernel.display import CommitInfo
from workbench.kernel.inputs import inputs
from workbench.kernel.publishing import Files, commit_repo, compose_card, provenance
from workbench.kernel.session import check_repo_id


def notebook_source(nb_path: Path, source_url: str | None, ref: str | None) -> GitSource | None:
    """Where the notebook lives on a Git host: from ``source_url``, else its folder's remote.

    A repository URL without a file path gets the notebook's path inside its Git clone, or
    its file name when it is not in one.
    """
    if source_url is None:
        detected = detect_git_source(nb_path)
        if detected is None or ref is None:
            return detected
        return GitSource(detected.repo_url, ref, detected.path)
    source = parse_source_url(source_url, ref=ref)
    if source.path is None:
        detected = detect_git_source(nb_path)
        path = detected.path if detected is not None else nb_path.name
        source = GitSource(source.repo_url, source.ref, path)
    return source


def publish_notebook(
    path: str | Path,
    repo_id: str,
    *,
    message: str | None = None,
    private: bool = False,
    type: str = "model",
    source_url: str | None = None,
    source_ref: str | None = None,
) -> CommitInfo:
    """Publish a notebook file, with a card listing what this session loaded (``wb.inputs()``).

    When the notebook's source is on a Git host (``source_url``: the repository's URL or the
    notebook's ``.../blob/REF/PATH`` URL; else the ``origin`` remote of the notebook's folder,
    if it is a Git clone), the card carries an "Open in Binder" badge for it.

    >>> wb.publish_notebook("train.ipynb", "me/tiny")          # doctest: +SKIP
    >>> wb.publish_notebook("train.ipynb", "me/tiny",
    ...     source_url="https://github.com/acme/research/blob/main/train.ipynb")  # doctest: +SKIP
    """
    check_repo_id(repo_id)
    nb_path = Path(path)
    if nb_path.suffix != ".ipynb" or not nb_path.is_file():
        raise InvalidRequest(
            f"{nb_path} is not a notebook file (.ipynb); save the notebook and pass its path.",
            code="NotANotebook",
        )
    try:
        notebook = json.loads(nb_path.read_text(encoding="utf-8"))
        if not isinstance(notebook, dict) or "cells" not in notebook:
            raise ValueError("no cells")
    except ValueError as exc:
        raise InvalidRequest(f"{nb_path} is not a valid notebook ({exc}).", code="NotANotebook") from None
    source = notebook_source(nb_path, source_url, source_ref)
    records = inputs()
    meta = {
        "tags": ["notebook"],
        "datasets": sorted({r.repo for r in records if r.type == "dataset"}),
        "inputs": [{"repo": r.repo, "type": r.type, "commit": r.commit} for r in records],
    }
    badge = ""
    if source is not None:
        meta["source"] = {"repo": source.repo_url, "ref": source.ref, "path": source.path}
        badge = f"{badge_markdown(source.binder_url())}\n\n"
    body = (
        f"# {nb_path.stem}\n\n{badge}The notebook `{nb_path.name}`, published with "
        f"`wb.publish_notebook`.\n\n" + (provenance(records) or "It loaded nothing from the hub.\n")
    )
    files: Files = {nb_path.name: nb_path, "README.md": compose_card(meta, body, None).encode()}
    return commit_repo(
        repo_id, type, files, private=private, message=message or f"Publish notebook {nb_path.name}"
    )
