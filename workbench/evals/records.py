"""Run records built from executed notebooks: the same code serves ``eval run`` and ``eval record``.

A record holds the pins (model and dataset commits), the parameters, the notebook's source hash,
the environment, the seed, per-cell timings, the status, the error (failing cell and message),
the metrics that ``wb.report`` emitted, and, when the source notebook lives in a Git clone of a
repository on a Git host, where (``source``: repo_url, ref, path) with its ``binder_url``.
Everything comes from the executed notebook (papermill's metadata and the result output), so
``papermill in.ipynb out.ipynb -p ...`` followed by ``workbench eval record out.ipynb`` gives the
same record as ``workbench eval run``.

>>> record = build_record(Path("out.ipynb"), resolve=resolver)      # doctest: +SKIP
>>> record["status"], record["metrics"]                               # doctest: +SKIP
('succeeded', {'accuracy': 0.9333})
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.binder import BADGE_IMAGE, BINDER, badge_markdown, detect_git_source
from workbench.errors import InvalidRequest
from workbench.evals.report import read_results
from workbench.markdown import esc, md_escape

INJECTED = "injected-parameters"
# resolve(repo_id, repo_type, revision) -> commit id; raises when the repo is missing
Resolver = Callable[[str, str, str | None], str]


@dataclass
class RunRecord:
    """A run record: ``data`` is what the hub stores; ``id`` once it is stored there."""

    data: dict[str, Any]
    notebook_path: Path | None = None
    id: str | None = None
    url: str | None = None
    published: dict[str, Any] | None = field(default=None)

    @property
    def status(self) -> str:
        return str(self.data.get("status"))

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.data.get("metrics") or {})

    @property
    def error(self) -> dict[str, Any] | None:
        return self.data.get("error")

    @property
    def source(self) -> dict[str, Any] | None:
        """Where the notebook lives on a Git host (``repo_url``, ``ref``, ``path``), if it does."""
        return self.data.get("source")

    @property
    def binder_url(self) -> str | None:
        url = self.data.get("binder_url")
        return url if isinstance(url, str) and url.startswith(f"{BINDER}/v2/") else None

    def to_dict(self) -> dict[str, Any]:
        # a local record carries the executed notebook's text under "notebook"; a stored one
        # carries the notebook's name and hashes there
        out = {k: v for k, v in self.data.items() if not (k == "notebook" and isinstance(v, str))}
        out.update(
            id=self.id, url=self.url, notebook_path=str(self.notebook_path) if self.notebook_path else None
        )
        if self.published is not None:
            out["published"] = self.published
        return out

    def __repr__(self) -> str:
        what = self.metrics if self.ok else (self.error or {}).get("message", "")
        return f"RunRecord({self.id or 'unsaved'}, {self.status}, {what})"

    def _pins(self) -> list[tuple[str, str]]:
        return [
            (str(self.data.get(k)), str(self.data.get(f"{k}_commit") or "")[:12])
            for k in ("model", "dataset")
        ]

    def _repr_html_(self) -> str:
        color = "#1a7f37" if self.ok else "#cf222e"
        pins = " on ".join(f"<code>{esc(r)}</code>@<code>{esc(c)}</code>" for r, c in self._pins())
        rows = "".join(f"<tr><td>{esc(k)}</td><td>{esc(_fmt(v))}</td></tr>" for k, v in self.metrics.items())
        error = esc((self.error or {}).get("message", "")) if not self.ok else ""
        badge = (
            f' <a href="{esc(self.binder_url)}" target="_blank" rel="noopener">'
            f'<img src="{BADGE_IMAGE}" alt="Open in Binder" style="vertical-align:middle">'
            "</a>"
            if self.binder_url
            else ""
        )
        link = f' <a href="{esc(self.url)}" target="_blank">record</a>' if self.url else ""
        return (
            f"<div><span style='background:{color};color:white;border-radius:3px;"
            f"padding:0 5px;font-size:0.8em'>{esc(self.status)}</span> "
            f"<b>run {esc(self.id or 'unsaved')}</b>{link}{badge}<div>{pins} "
            f"[{esc(self.data.get('split'))}]</div>"
            + (f"<table><tr><th>metric</th><th>value</th></tr>{rows}</table>" if rows else "")
            + (f"<div style='color:#cf222e'>{error}</div>" if error else "")
            + "</div>"
        )

    def _repr_markdown_(self) -> str:
        pins = " on ".join(f"`{r}`@`{c}`" for r, c in self._pins())
        lines = [
            f"**{md_escape(self.status)}** run `{self.id or 'unsaved'}`: {pins}, "
            f"split {md_escape(self.data.get('split'))}"
        ]
        if self.binder_url:
            lines.append(badge_markdown(self.binder_url))
        if self.metrics:
            lines.append(
                "| metric | value |\n|---|---|\n"
                + "\n".join(f"| {md_escape(k)} | {md_escape(_fmt(v))} |" for k, v in self.metrics.items())
            )
        if not self.ok and self.error:
            lines.append(md_escape(self.error.get("message", "")))
        return "\n\n".join(lines) + "\n"


def _fmt(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def git_source(notebook: Path | None) -> dict[str, Any]:
    """``source`` and ``binder_url`` of a record whose notebook is ``notebook``: where it lives
    on a Git host (its folder's ``origin``), both ``None`` when it is not in such a clone."""
    found = detect_git_source(notebook) if notebook is not None and notebook.is_file() else None
    try:
        url = found.binder_url() if found is not None else None
    except InvalidRequest:  # a path or ref Binder cannot open: no badge rather than no record
        url = None
    if found is None or url is None:
        return {"source": None, "binder_url": None}
    return {"source": {"repo_url": found.repo_url, "ref": found.ref, "path": found.path}, "binder_url": url}


def read_notebook(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidRequest(f"Cannot read notebook {path}: {exc}.", code="InvalidNotebook") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise InvalidRequest(f"{path} is not a Jupyter notebook (no cells).", code="InvalidNotebook")
    return data


def _tags(cell: dict[str, Any]) -> list[str]:
    return list((cell.get("metadata") or {}).get("tags") or [])


def _source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def source_hash(nb: dict[str, Any]) -> str:
    """SHA-256 of the notebook's code and markdown, without outputs and injected parameters.

    The same for the template and for any execution of it, so records from ``eval run`` and
    from plain papermill name the same notebook by the same hash.
    """
    cells = [
        [c.get("cell_type"), _source(c)]
        for c in nb.get("cells", [])
        if INJECTED not in _tags(c) and not _papermill_error_cell(c)
    ]
    return hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode()).hexdigest()


def _papermill_error_cell(cell: dict[str, Any]) -> bool:
    # papermill inserts a markdown cell pointing at the failing cell; not part of the source
    return cell.get("cell_type") == "markdown" and "papermill-error-cell-tag" in _tags(cell)


def declared_parameters(nb: dict[str, Any]) -> dict[str, Any] | None:
    """Defaults of the cell tagged ``parameters`` (None when there is no such cell)."""
    for cell in nb.get("cells", []):
        if "parameters" in _tags(cell):
            from papermill.translators import PythonTranslator

            return {p.name: _literal(p.default) for p in PythonTranslator.inspect(_as_node(cell))}
    return None


def _as_node(cell: dict[str, Any]) -> Any:
    import nbformat

    return nbformat.from_dict({**cell, "source": _source(cell)})


def _literal(text: str) -> Any:
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def cell_timings(nb: dict[str, Any]) -> list[dict[str, Any]]:
    """Per-cell start, end, duration (s) and status, from papermill's metadata."""
    out = []
    for i, cell in enumerate(nb.get("cells", [])):
        pm = (cell.get("metadata") or {}).get("papermill")
        if cell.get("cell_type") != "code" or not pm:
            continue
        out.append(
            {
                "index": i,
                "id": cell.get("id"),
                "start": pm.get("start_time"),
                "end": pm.get("end_time"),
                "duration": pm.get("duration"),
                "status": pm.get("status"),
            }
        )
    return out


def find_failure(nb: dict[str, Any]) -> dict[str, Any] | None:
    """The failing cell (index, id, error name and message), if the notebook failed."""
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        pm = (cell.get("metadata") or {}).get("papermill") or {}
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if pm.get("exception") or errors:
            err = errors[0] if errors else {}
            return {
                "cell_index": i,
                "cell_id": cell.get("id"),
                "ename": err.get("ename"),
                "message": f"{err.get('ename', 'Error')}: {err.get('evalue', '')}".strip(),
            }
    return None


def build_record(
    path: Path,
    *,
    resolve: Resolver | None = None,
    pins: dict[str, str] | None = None,
    error: dict[str, Any] | None = None,
    parameters: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    source: Path | None = None,
) -> dict[str, Any]:
    """The record of an executed notebook (what ``POST /api/evals`` takes).

    ``pins`` (``model_commit``, ``dataset_commit``) are the runner's; without them the commits
    come from what the notebook loaded (``wb.report``'s ``inputs``), else from ``resolve``.
    ``error`` is the runner's (a timeout, a dead kernel); else it is read from the notebook.
    ``source`` is the notebook that was executed (default: papermill's input path, if that
    file is here); when it is in a Git clone of a repository on a Git host, the record says
    where and carries its Binder link.
    """
    from workbench.evals.environment import environment

    nb = read_notebook(path)
    pm = (nb.get("metadata") or {}).get("papermill") or {}
    injected = dict(pm.get("parameters") or {})
    injected.update(parameters or {})
    effective = {**(declared_parameters(nb) or {}), **injected}
    results = read_results(nb)
    result = results[-1] if results else {}
    failure = error or find_failure(nb)
    if failure is None and not results:
        failure = {
            "cell_index": None,
            "cell_id": None,
            "ename": "NoResult",
            "message": "The notebook ran to the end without calling wb.report(...): nothing to record.",
        }
    model = result.get("model") or effective.get("model")
    dataset = result.get("dataset") or effective.get("dataset")
    if not isinstance(model, str) or not isinstance(dataset, str):
        raise InvalidRequest(
            f"{path} does not say which model and dataset it evaluated: pass "
            "-p model M -p dataset D to papermill.",
            code="MissingParameter",
        )
    commits = dict(pins or {})
    for item in result.get("inputs") or []:
        for kind in ("model", "dataset"):
            if item.get("type") == kind and item.get("repo") == (model if kind == "model" else dataset):
                commits.setdefault(f"{kind}_commit", item.get("commit"))
    for kind, repo_id in (("model", model), ("dataset", dataset)):
        if f"{kind}_commit" not in commits:
            if resolve is None:
                raise InvalidRequest(f"Cannot tell which commit of {repo_id} was used.", code="MissingPin")
            commits[f"{kind}_commit"] = resolve(repo_id, kind, effective.get(f"{kind}_revision"))
    seed = result.get("seed", effective.get("seed"))
    if source is None and pm.get("input_path"):
        source = Path(str(pm["input_path"]))
    return {
        "model": model,
        "dataset": dataset,
        **commits,
        "split": str(result.get("split") or effective.get("split") or "test"),
        "notebook_name": Path(str(pm.get("input_path") or path)).name,
        "notebook_sha256": source_hash(nb),
        "parameters": _jsonable(injected),
        "environment": result.get("environment") or environment(),
        "seed": seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
        "timings": {
            "cells": cell_timings(nb),
            "total": pm.get("duration"),
            "start": pm.get("start_time"),
            "end": pm.get("end_time"),
            **((extra or {}).get("timings") or {}),
        },
        "status": "failed" if failure else "succeeded",
        "error": failure,
        "metrics": result.get("metrics") or {} if not failure else {},
        "metric_info": result.get("metric_info") or {},
        "duration": pm.get("duration"),
        **git_source(source),
        **{k: v for k, v in (extra or {}).items() if k != "timings"},
    }


def _jsonable(value: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(value, default=str))


def upload(client: Any, data: dict[str, Any], notebook_path: Path | None) -> RunRecord:
    """Store a record on the hub with its executed notebook; returns it with its id."""
    body = dict(data)
    if notebook_path is not None and notebook_path.is_file():
        body["notebook"] = notebook_path.read_text(encoding="utf-8")
    stored = client.create_eval_run(body)
    return RunRecord(
        data=stored,
        notebook_path=notebook_path,
        id=stored["id"],
        url=f"{client.url}/api/evals/{stored['id']}",
    )
