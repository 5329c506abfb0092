"""Imports point one way (docs/architecture.md): no cycles, no upward imports, no private names.

Every ``import`` in ``workbench/`` counts, function-local ones included; only those under
``if TYPE_CHECKING:`` are skipped, since they never run.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "workbench"

# The shared layer: modules at the package root that import nothing of ours but each other.
SHARED = {"errors", "config", "names", "repocard", "markdown", "bibtex", "binder", "version", "model_index"}

# Which layers each layer may import (its own included). The package root re-exports the
# notebook API, so only entry points may import it.
ALLOWED: dict[str, set[str]] = {
    "shared": {"shared"},
    "xet": {"shared", "xet"},
    "store": {"shared", "xet", "store"},
    "client": {"shared", "client"},
    "viewer": {"shared", "store", "viewer"},
    "evals": {"shared", "client", "evals"},
    "hub": {"shared", "xet", "store", "viewer", "hub"},
    "kernel": {"shared", "client", "evals", "kernel"},
    "jupyter": {"shared", "xet", "store", "client", "viewer", "evals", "hub", "kernel", "jupyter"},
    "cli": {"shared", "xet", "store", "client", "viewer", "evals", "hub", "kernel", "jupyter", "cli"},
    "root": {"shared", "kernel", "root"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "root"
    if parts[1] in SHARED:
        return "shared"
    if parts[1] == "__main__":
        return "cli"
    return parts[1]


def modules() -> dict[str, Path]:
    return {
        module_name(p): p
        for p in PACKAGE.rglob("*.py")
        if "migrations" not in p.parts and "labextension" not in p.parts
    }


def _runtime_nodes(tree: ast.AST):  # type: ignore[no-untyped-def]
    """All nodes except those under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def imports() -> tuple[dict[str, set[str]], list[str]]:
    """Edges module -> imported module, and the private names imported across modules."""
    mods = modules()
    edges: dict[str, set[str]] = defaultdict(set)
    private: list[str] = []
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _runtime_nodes(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target.split(".")[0] != "workbench":
                    continue
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    edges[name].add(full if full in mods else target)
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        private.append(f"{name} imports {target}.{alias.name}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "workbench":
                        edges[name].add(alias.name)
    return edges, private


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in list(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles() -> None:
    edges, _ = imports()
    assert cycles(edges) == []


def test_imports_point_down() -> None:
    edges, _ = imports()
    upward = sorted(
        f"{src} ({layer(src)}) imports {dst} ({layer(dst)})"
        for src, targets in edges.items()
        for dst in targets
        if layer(dst) not in ALLOWED[layer(src)]
    )
    assert upward == []


def test_no_private_names_across_modules() -> None:
    _, private = imports()
    assert private == []


def test_metric_modules_are_self_contained() -> None:
    """``evaluate.load`` copies a metric module alone: it may import nothing of ours."""
    edges, _ = imports()
    metrics = [m for m in edges if m.startswith("workbench.evals.metrics.")]
    assert [(m, sorted(edges[m])) for m in metrics if edges[m]] == []


def test_the_checker_sees_a_cycle_and_an_upward_import() -> None:
    edges = {"workbench.store.a": {"workbench.store.b"}, "workbench.store.b": {"workbench.store.a"}}
    assert cycles(edges) == [["workbench.store.a", "workbench.store.b"]]
    assert "kernel" not in ALLOWED[layer("workbench.store.a")]
    assert layer("workbench.errors") == "shared"
