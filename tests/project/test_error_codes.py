"""Every error code is listed once in code (``workbench.errors.CODES``) and once in the table
of ``docs/errors.md``, and nothing is listed that no code sends.

The codes in use are found by reading ``workbench/`` (every ``code="..."`` argument, every
``fail(404, "Code", ...)``-style call, every ``code = ...`` assignment, every
``X-Error-Code`` header, and every error class raised without a code of its own), so a new
code fails here until it is registered and documented.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

from workbench import errors
from workbench.errors import CODES, WorkbenchError, error_class_for

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "workbench"
DOC = ROOT / "docs" / "errors.md"
CAMEL = re.compile(r"^[A-Z][A-Za-z0-9]+$")

# Which side raises an error, by the package its code is used in.
HUB_SIDE = {"hub", "store", "viewer", "xet"}
LAB_SIDE = {"jupyter"}
SHARED = {"errors", "config", "names", "repocard", "markdown", "bibtex", "version"}


def error_classes() -> dict[str, type[WorkbenchError]]:
    return {
        name: cls
        for name, cls in vars(errors).items()
        if isinstance(cls, type) and issubclass(cls, WorkbenchError)
    }


def side(path: Path) -> set[str]:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[0] in HUB_SIDE:
        return {"hub"}
    if parts[0] in LAB_SIDE:
        return {"JupyterLab"}
    if parts[0] in SHARED:
        return {"hub", "client"}
    return {"client"}


def codes_in(source: str) -> set[str]:
    """The error codes one module sends or raises (see the module docstring)."""
    classes = error_classes()
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            coded = False
            for kw in node.keywords:
                if kw.arg == "code":
                    coded = True
                    if isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                        found.add(kw.value.value)
            args = [a.value if isinstance(a, ast.Constant) else None for a in node.args[:2]]
            if (
                len(args) == 2
                and isinstance(args[0], int)
                and 400 <= args[0] < 600
                and isinstance(args[1], str)
                and CAMEL.match(args[1])
            ):
                found.add(args[1])
            if name in classes and not coded:
                found.add(classes[name].code)
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "code" for t in node.targets
        ):
            found |= {
                c.value
                for c in ast.walk(node.value)
                if isinstance(c, ast.Constant) and isinstance(c.value, str) and CAMEL.match(c.value)
            }
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if (
                    isinstance(key, ast.Constant)
                    and key.value == "X-Error-Code"
                    and isinstance(value, ast.Constant)
                ):
                    found.add(value.value)
    return found


def used_codes() -> dict[str, set[str]]:
    """Code -> the sides (hub, client, JupyterLab) that send or raise it."""
    used: dict[str, set[str]] = defaultdict(set)
    for path in sorted(PACKAGE.rglob("*.py")):
        if "labextension" in path.parts or path == PACKAGE / "errors.py":
            continue
        for code in codes_in(path.read_text()):
            used[code] |= side(path)
    return used


def doc_table() -> list[list[str]]:
    """The rows of the table in docs/errors.md: code, status, raised by, meaning, what to do."""
    rows = []
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 5:
            cells[0] = cells[0].strip("`")
            rows.append(cells)
    return rows


def test_every_code_in_use_is_registered() -> None:
    assert sorted(set(used_codes()) - set(CODES)) == []


def test_every_registered_code_is_in_use() -> None:
    assert sorted(set(CODES) - set(used_codes())) == []


def test_the_docs_list_every_registered_code_once() -> None:
    listed = [row[0] for row in doc_table()]
    assert sorted(c for c in set(listed) if listed.count(c) > 1) == []
    assert sorted(set(CODES) - set(listed)) == [], "missing from docs/errors.md"
    assert sorted(set(listed) - set(CODES)) == [], "in docs/errors.md, but nothing sends it"
    assert listed == sorted(listed, key=str.lower), "keep the table in alphabetical order"


def test_the_docs_give_each_code_its_status_and_side() -> None:
    used = used_codes()
    wrong = []
    for code, status, raised_by, meaning, todo in doc_table():
        first = re.match(r"\d{3}", status)
        want_side = ", ".join(sorted(used.get(code, set()), key=["hub", "JupyterLab", "client"].index))
        if code in CODES and (first is None or int(first.group()) != CODES[code].status):
            wrong.append(f"{code}: status {status!r}, the registry says {CODES[code].status}")
        if code in CODES and raised_by != want_side:
            wrong.append(f"{code}: raised by {raised_by!r}, the code says {want_side!r}")
        if not (meaning and todo):
            wrong.append(f"{code}: say what it means and what to do")
    assert wrong == []


def test_the_client_maps_each_code_back_to_its_class() -> None:
    for code, cls in CODES.items():
        assert error_class_for(code, cls.status) is cls, code
    # a code some route sends with another status: the status decides
    assert error_class_for("LfsObjectMissing", 404) is errors.NotFound
    assert error_class_for("SomethingNew", 404) is errors.NotFound
    assert error_class_for("SomethingNew", 418) is WorkbenchError


def test_the_scanner_sees_each_way_of_sending_a_code() -> None:
    source = """
raise InvalidRequest("x", code="ByKeyword")
self.fail(404, "ByStatusCall", "message")
code = {404: "FromMapping"}.get(status, "FromDefault")
headers = {"X-Error-Code": "ByHeader"}
raise RepoNotFound("bare")
raise Conflict("coded", code="Other")
"""
    assert codes_in(source) == {
        "ByKeyword",
        "ByStatusCall",
        "FromMapping",
        "FromDefault",
        "ByHeader",
        "RepoNotFound",
        "Other",
    }
