"""Notebook-aware diffs and merges, with nbdime (the Jupyter project's library for them).

``notebook_diff`` turns nbdime's diff of two notebooks into a JSON shape the lab renders:
cells ``added``, ``removed``, ``moved`` and ``changed``, each with the parts that changed
(``source``, ``outputs``, ``metadata``), plus the notebook's own metadata changes. nbdime
aligns the cells; a cell it reports removed on one side and added on the other with the same
nbformat id (or, without ids, the same type and source) is reported ``moved``. Two cells at
the same place with different ids are different cells (removed and added), whatever nbdime's
similarity heuristics say.

Outputs go out through the markdown module's sanitizer: ``text/html`` and ``text/markdown``
become allow-listed HTML; MIME types that could run code (JavaScript, SVG, widgets) are named
in ``omitted`` instead of sent. A file that is not JSON or not a valid nbformat 4 notebook
raises ``InvalidNotebook``; the structured diff shows it as text with a notice.

``merge_notebook`` is nbdime's three-way merge: the merged notebook, or ``NotebookConflict``
naming the cells both sides changed differently.

>>> notebook_diff(old_bytes, new_bytes)["cells"][0]                     # doctest: +SKIP
{'change': 'moved', 'oldIndex': 7, 'newIndex': 0, 'id': 'c7', 'cellType': 'code', 'parts': []}
"""

from __future__ import annotations

import functools
import json
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import bleach

from workbench.errors import Conflict, InvalidRequest
from workbench.markdown import ALLOWED_ATTRIBUTES, ALLOWED_PROTOCOLS, ALLOWED_TAGS, render_markdown
from workbench.store.field_diff import field_changes

MAX_NOTEBOOK_DIFF_BYTES = 32 * 1024 * 1024  # each side; a larger notebook diffs as text
SAFE_DATA = ("text/plain", "image/png", "image/jpeg", "image/gif", "application/json")
PARTS = ("source", "outputs", "metadata")


def parse_notebook(path: str, data: bytes) -> dict[str, Any]:
    """The nbformat 4 notebook in ``data`` (older versions converted), validated strictly."""
    import nbformat
    from nbformat.v4.rwbase import rejoin_lines

    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidRequest(f"{path} is not valid JSON ({exc}).", code="InvalidNotebook") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("nbformat"), int):
        raise InvalidRequest(
            f"{path} is not an nbformat notebook: no top-level 'nbformat' version.", code="InvalidNotebook"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.from_dict(doc)
            if nb.nbformat != 4:
                nb = nbformat.convert(nb, 4)
            nb = rejoin_lines(nb)  # sources and texts as one string, as nbdime wants
            unnamed = [cell for cell in nb.get("cells") or [] if isinstance(cell, dict) and "id" not in cell]
            nbformat.validate(nb)
            for cell in unnamed:  # validation invents ids for cells without; they have none
                cell.pop("id", None)
    except Exception as exc:  # nbformat raises several unrelated types on bad notebooks
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidRequest(
            f"{path} is not a valid nbformat 4 notebook: {why}", code="InvalidNotebook"
        ) from None
    return nb  # type: ignore[no-any-return]


_PARSED: OrderedDict[str, tuple[dict[str, Any], int]] = OrderedDict()
_PARSED_LOCK = threading.Lock()
MAX_PARSED_BYTES = 64 * 1024 * 1024  # file bytes of the parsed notebooks kept, per process


def parsed(path: str, sha256: str, read: Callable[[], bytes]) -> dict[str, Any]:
    """``parse_notebook`` of the blob ``sha256`` (``read`` gives its bytes), kept per process:
    a pull request's diff is read again and again, its blobs never change. Callers must not
    change what it returns; a broken notebook is not kept."""
    with _PARSED_LOCK:
        hit = _PARSED.get(sha256)
        if hit is not None:
            _PARSED.move_to_end(sha256)
            return hit[0]
    data = read()
    nb = parse_notebook(path, data)
    with _PARSED_LOCK:
        _PARSED[sha256] = (nb, len(data))
        while sum(size for _, size in _PARSED.values()) > MAX_PARSED_BYTES and len(_PARSED) > 1:
            _PARSED.popitem(last=False)
    return nb


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _clean_html(value: str) -> str:
    return bleach.clean(
        value, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, protocols=ALLOWED_PROTOCOLS, strip=True
    ).strip()


def output_doc(out: dict[str, Any]) -> dict[str, Any]:
    """One output as the diff sends it: text as text, HTML and markdown sanitized, images as
    base64 of a fixed type, anything that could run code named in ``omitted``."""
    kind = out.get("output_type")
    doc: dict[str, Any] = {"outputType": kind}
    if kind == "stream":
        doc["name"], doc["text"] = out.get("name"), _text(out.get("text"))
        return doc
    if kind == "error":
        doc |= {"ename": out.get("ename"), "evalue": out.get("evalue")}
        doc["traceback"] = [str(line) for line in out.get("traceback") or []]
        return doc
    data: dict[str, Any] = {}
    omitted: list[str] = []
    for mime, value in (out.get("data") or {}).items():
        if mime == "text/html":
            data[mime] = _clean_html(_text(value))
        elif mime == "text/markdown":  # rendered to sanitized HTML
            data[mime] = render_markdown(_text(value))
        elif mime in SAFE_DATA:
            data[mime] = value if mime == "application/json" else _text(value)
        else:
            omitted.append(mime)
    doc["data"] = data
    if omitted:
        doc["omitted"] = sorted(omitted)
    if "execution_count" in out:
        doc["executionCount"] = out.get("execution_count")
    return doc


@functools.lru_cache(maxsize=4096)
def _clean_html_cached(value: str) -> str:
    return _clean_html(value)


def _safe_output(out: dict[str, Any], *, metadata: bool) -> dict[str, Any]:
    """One output as nbformat has it, with only what ``output_doc`` would send: ``text/html``
    sanitized, ``text/markdown`` rendered to sanitized HTML, other types that could run code
    left out (named in ``text/plain`` when nothing else says what was there)."""
    data = out.get("data")
    if data is None and not metadata:
        return out
    out = dict(out)
    if metadata:
        out["metadata"] = {}
    if data is None:
        return out
    safe: dict[str, Any] = {}
    omitted: list[str] = []
    for mime, value in data.items():
        if mime == "text/html":
            safe[mime] = _clean_html_cached(_text(value))
        elif mime in SAFE_DATA:
            safe[mime] = value
        elif mime != "text/markdown":
            omitted.append(mime)
    if "text/markdown" in data and "text/html" not in safe:
        safe["text/html"] = render_markdown(_text(data["text/markdown"]))
    if omitted and "text/plain" not in safe:
        safe["text/plain"] = f"(not shown: {', '.join(sorted(omitted))})"
    out["data"] = safe
    return out


def viewable(nb: dict[str, Any], *, outputs: bool = False, metadata: bool = False) -> dict[str, Any]:
    """A copy of a notebook fit to send to the lab's renderer: outputs as ``_safe_output``
    makes them; with ``outputs``, no outputs nor execution counts; with ``metadata``, no
    notebook, cell or output metadata. ``nb`` is not changed (cells are copied shallowly)."""
    cells = []
    for cell in nb.get("cells", []):
        cell = dict(cell)
        if cell.get("cell_type") == "code":
            if outputs:
                cell["outputs"], cell["execution_count"] = [], None
            else:
                cell["outputs"] = [_safe_output(o, metadata=metadata) for o in cell.get("outputs") or []]
        if metadata:
            cell["metadata"] = {}
        cells.append(cell)
    return {**nb, "metadata": {} if metadata else nb.get("metadata") or {}, "cells": cells}


@dataclass
class _Entry:
    change: str
    old: int | None
    new: int | None


def _align(ops: list[dict[str, Any]], n_old: int) -> list[_Entry]:
    """Walk nbdime's ops on the cell list (sorted by base index: ``addrange`` inserts before
    base cell ``key``, ``removerange`` drops ``length`` cells from ``key``, ``patch`` changes
    cell ``key``) into one entry per cell, with its indices on both sides."""
    adds: dict[int, int] = {}
    removed: set[int] = set()
    patched: set[int] = set()
    for op in ops:
        if op["op"] == "addrange":
            adds[op["key"]] = adds.get(op["key"], 0) + len(op["valuelist"])
        elif op["op"] == "removerange":
            removed.update(range(op["key"], op["key"] + op["length"]))
        elif op["op"] == "patch":
            patched.add(op["key"])
        elif op["op"] == "replace":  # not produced for cell lists; counted as remove + add
            removed.add(op["key"])
            adds[op["key"]] = adds.get(op["key"], 0) + 1
    out: list[_Entry] = []
    j = 0
    for i in range(n_old + 1):
        for _ in range(adds.get(i, 0)):
            out.append(_Entry("added", None, j))
            j += 1
        if i == n_old:
            break
        if i in removed:
            out.append(_Entry("removed", i, None))
            continue
        out.append(_Entry("changed" if i in patched else "same", i, j))
        j += 1
    return out


def _identity(cell: dict[str, Any]) -> tuple[str, ...]:
    cid = cell.get("id")
    if isinstance(cid, str) and cid:
        return ("id", cid)
    return ("source", str(cell.get("cell_type")), _text(cell.get("source")))


def _cell_doc(
    entry: _Entry,
    a: list[dict[str, Any]],
    b: list[dict[str, Any]],
    raw: tuple[list[Any], list[Any]],
    *,
    outputs: bool,
) -> dict[str, Any] | None:
    """One cell of the diff, or None when nothing of it changed (``a`` and ``b``: the cells
    ``viewable`` made; ``raw``: the same cells as parsed, whose outputs ``output_doc`` sends)."""
    x = a[entry.old] if entry.old is not None else None
    y = b[entry.new] if entry.new is not None else None
    raw_x = raw[0][entry.old] if entry.old is not None else None
    raw_y = raw[1][entry.new] if entry.new is not None else None
    cell = y if y is not None else x
    assert cell is not None
    doc: dict[str, Any] = {
        "change": entry.change,
        "oldIndex": entry.old,
        "newIndex": entry.new,
        "id": cell.get("id"),
        "cellType": cell.get("cell_type"),
        "parts": [],
    }
    sides = {"old": x, "new": y}
    raw_sides = {"old": raw_x, "new": raw_y}
    if entry.change in ("added", "removed"):
        side = "new" if y is not None else "old"
        doc["source"] = {side: _text(cell.get("source"))}
        raw_cell = raw_sides[side] or {}
        if raw_cell.get("outputs") and outputs:
            doc["outputs"] = {side: [output_doc(o) for o in raw_cell["outputs"]]}
        return doc
    assert x is not None and y is not None
    if _text(x.get("source")) != _text(y.get("source")):
        doc["parts"].append("source")
        doc["source"] = {k: _text(v.get("source")) for k, v in sides.items() if v is not None}
    if outputs and (x.get("outputs") or []) != (y.get("outputs") or []):
        doc["parts"].append("outputs")
        doc["outputs"] = {
            k: [output_doc(o) for o in v.get("outputs") or []] for k, v in raw_sides.items() if v
        }
    if (x.get("metadata") or {}) != (y.get("metadata") or {}):
        doc["parts"].append("metadata")
        doc["metadata"] = field_changes(x.get("metadata") or {}, y.get("metadata") or {})
    if x.get("cell_type") != y.get("cell_type"):
        doc["parts"].append("cellType")
        doc["oldCellType"] = x.get("cell_type")
    if entry.change == "changed" and not doc["parts"]:
        return None  # only what the flags ignore (execution counts, outputs) changed
    return doc


@functools.cache
def _diff_config() -> Any:
    """nbdime's notebook diff configuration, with one shortcut: a cell (or a cell's outputs)
    equal on both sides diffs to nothing without being walked (nbdime walks every aligned
    cell otherwise). Same diff, a quarter less time on large notebooks (bench/README.md)."""
    from nbdime.diffing.config import DiffConfig
    from nbdime.diffing.generic import diff
    from nbdime.diffing.notebooks import notebook_differs, notebook_predicates
    from nbdime.utils import defaultdict2

    def same_or(inner: Any) -> Any:
        def differ(a: Any, b: Any, path: str = "", config: Any = None) -> Any:
            return [] if a == b else inner(a, b, path=path, config=config)

        return differ

    differs = defaultdict2(lambda: diff, dict(notebook_differs))
    for path in ("/cells/*", "/cells/*/outputs"):
        differs[path] = same_or(notebook_differs[path])
    return DiffConfig(predicates=notebook_predicates, differs=differs, atomic_paths={"/cells/*/id": True})


def notebook_diff(
    path: str,
    old: bytes | dict[str, Any] | None,
    new: bytes | dict[str, Any] | None,
    *,
    ignore_outputs: bool = False,
    ignore_metadata: bool = False,
) -> dict[str, Any]:
    """The structured diff of two versions of a notebook (``None``: the side without it;
    each side its bytes or the notebook ``parsed`` gives, which is not changed). Besides the
    cells, ``nbdime`` is what nbdime's own lab widgets render (as nbdime's server answers
    ``/api/diff``): ``base``, the old notebook as ``viewable`` makes it, and ``diff``,
    nbdime's diff of it to the new one made the same way."""
    from nbdime.diffing.generic import diff
    from nbformat import from_dict

    empty: dict[str, Any] = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    raw_a = empty if old is None else old if isinstance(old, dict) else parse_notebook(path, old)
    raw_b = empty if new is None else new if isinstance(new, dict) else parse_notebook(path, new)
    # nbdime's differs read outputs by attribute (``output.output_type``): NotebookNodes
    a = from_dict(viewable(raw_a, outputs=ignore_outputs, metadata=ignore_metadata))
    b = from_dict(viewable(raw_b, outputs=ignore_outputs, metadata=ignore_metadata))
    full = diff(a, b, path="", config=_diff_config())
    ops: list[dict[str, Any]] = []
    for op in full:
        if op["key"] == "cells" and op["op"] == "patch":
            ops = op["diff"]
    cells_a, cells_b = a["cells"], b["cells"]
    entries = _align(ops, len(cells_a))
    for e in entries:  # a cell patched into another id is another cell: removed and added
        if e.change == "changed" and e.old is not None and e.new is not None:
            ida, idb = cells_a[e.old].get("id"), cells_b[e.new].get("id")
            if ida and idb and ida != idb:
                e.change = "replaced"
    split: list[_Entry] = []
    for e in entries:
        if e.change == "replaced":
            split += [_Entry("removed", e.old, None), _Entry("added", None, e.new)]
        else:
            split.append(e)
    gone = {_identity(cells_a[e.old]): e for e in split if e.change == "removed" and e.old is not None}
    final: list[_Entry] = []
    for e in split:
        if e.change == "added" and e.new is not None:
            twin = gone.pop(_identity(cells_b[e.new]), None)
            if twin is not None:
                twin.change, twin.new = "moved", e.new
                continue
        final.append(e)
    cells = [
        doc
        for e in final
        if e.change != "same"
        if (
            doc := _cell_doc(
                e, cells_a, cells_b, (raw_a["cells"], raw_b["cells"]), outputs=not ignore_outputs
            )
        )
        is not None
    ]
    summary = {k: sum(1 for c in cells if c["change"] == k) for k in ("added", "removed", "moved", "changed")}
    return {
        "cells": cells,
        "summary": summary,
        "metadata": field_changes(a.get("metadata") or {}, b.get("metadata") or {}),
        "nbdime": {"base": a, "diff": full},
    }


def _conflict_cells(decision: Any, base: dict[str, Any]) -> list[int]:
    """The base cell indices one of nbdime's conflicting merge decisions is about."""
    path = tuple(decision.common_path)
    if len(path) >= 2 and path[0] == "cells":
        return [int(path[1])]
    if path == ("cells",):
        keys = {op["key"] for side in ("local_diff", "remote_diff") for op in decision.get(side) or []}
        return sorted(int(k) for k in keys if isinstance(k, int))
    return []


def merge_notebook(path: str, base: bytes, local: bytes, remote: bytes) -> bytes:
    """nbdime's three-way merge of a notebook (``local``: the target branch, ``remote``: the
    pull request): the merged notebook's bytes, or 409 ``MergeConflict`` naming the cells
    (by index in the merge base, and id) that both sides changed differently."""
    import nbdime
    import nbformat

    nbs = [parse_notebook(path, data) for data in (base, local, remote)]
    merged, decisions = nbdime.merge_notebooks(*nbs)
    conflicts = [d for d in decisions if d.conflict]
    if conflicts:
        cells = sorted({i for d in conflicts for i in _conflict_cells(d, nbs[0])})
        named = []
        for i in cells:
            cid = nbs[0]["cells"][i].get("id") if i < len(nbs[0]["cells"]) else None
            named.append(f"{i} (id {cid!r})" if cid else str(i))
        where = f"cells {', '.join(named)}" if named else "its metadata"
        raise Conflict(
            f"{path}: both sides changed {where} differently; nbdime cannot merge them.",
            code="MergeConflict",
            conflicting_files=[path],
            conflicting_cells={path: cells},
        )
    return nbformat.writes(nbformat.from_dict(merged)).encode() + b"\n"
