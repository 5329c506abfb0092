"""Every setting is documented; the README's commands exist; docs links resolve, and the CLI
commands the docs name exist."""

import os
import re
from pathlib import Path

from workbench.config import HubSettings

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented() -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text()
    missing = [name for name in HubSettings.model_fields if f"`{name}`" not in doc]
    assert missing == []
    for name in HubSettings.model_fields:
        env = "WORKBENCH_DATA" if name == "data_dir" else f"WORKBENCH_{name.upper()}"
        assert f"`{env}`" in doc, env


def test_readme_commands_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert "make lab" in readme and "make test" in readme
    assert "\nlab:" in makefile and "\ntest:" in makefile
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("exec make test")


# -- links and commands in README.md and docs/ ------------------------------------------------

DOC_FILES = [
    ROOT / "README.md",
    ROOT / "notebooks" / "README.md",
    ROOT / "binder" / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
]
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|<img[^>]+src=\"([^\"]+)\"")
_FENCE = re.compile(r"^```([\w-]*)\s*$")
_SHELL = {"", "bash", "sh", "shell", "console", "yaml", "yml"}
# `workbench` where a shell runs it: a line's start (after a `$ ` prompt, a YAML `- ` or `run: `),
# or after `;`, `&&`, `|`, `(` or `then`/`do`; not in program output such as
# `workbench v0.1.0 enabled OK`.
_COMMAND = re.compile(
    r"(?:^\s*(?:\$\s+|-\s+|run:\s+)?|[;&|(]\s*|\b(?:then|do)\s+)"
    r"workbench((?:[ \t]+[a-z][a-z0-9-]*)+)(?![\w.])"
)


def _code(text: str) -> list[str]:
    """Shell lines of a markdown file: fenced shell/YAML blocks and inline code spans."""
    lines, fence = [], None
    for line in text.splitlines():
        match = _FENCE.match(line.strip())
        if match:
            fence = None if fence is not None else match.group(1)
            continue
        if fence is not None:
            if fence in _SHELL:
                lines.append(line)
        else:
            lines += [span for span in re.findall(r"`([^`]+)`", line) if span.startswith("workbench ")]
    return lines


def test_every_relative_link_resolves() -> None:
    broken = []
    for doc in DOC_FILES:
        text = re.sub(r"```.*?```", "", doc.read_text(), flags=re.S)  # code is not links
        for match in _LINK.finditer(text):
            target = (match.group(1) or match.group(2)).split("#")[0]
            if not target or re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
                continue
            resolved = (doc.parent / target).resolve()
            if not resolved.is_relative_to(ROOT) or not resolved.exists():
                broken.append(f"{doc.relative_to(ROOT)} -> {target}")
    assert broken == []


# -- the product stands alone: nothing points outside the repository -----------------------------

# a path that climbs out of its folder: `../x`, `../../shared/y`
_CLIMB = re.compile(r"(?<![\w.])(?:\.\./)+[\w.@/-]*")
# a notes file by name, such as `HF_PROTOCOL.md`: the repository must hold one so named
_NOTES = re.compile(r"(?<![\w.-])[A-Z][A-Z0-9_]*\.md\b")
_NOT_OURS = {".git", ".venv", "node_modules", ".yarn", "__pycache__", ".pytest_cache", ".ruff_cache"}


def _product_files() -> list[Path]:
    """README.md, docs/ and workbench/ (as text), without build output and caches."""
    built = ROOT / "workbench" / "labextension"  # the lab extension's build, not in git
    files = [ROOT / "README.md", *(ROOT / "docs").rglob("*"), *(ROOT / "workbench").rglob("*")]
    return [
        p
        for p in files
        if p.is_file()
        and not p.is_relative_to(built)
        and "__pycache__" not in p.parts
        and p.suffix not in (".png", ".jpg", ".gif", ".svg", ".pdf")
    ]


def _markdown_names() -> set[str]:
    """Names of the markdown files the repository holds (not those of its dependencies)."""
    held: set[str] = set()
    for _folder, dirs, names in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in _NOT_OURS]
        held.update(name for name in names if name.endswith(".md"))
    return held


def test_nothing_points_outside_the_repository() -> None:
    """What users get (README, docs, the package) cites only what the repository holds: no
    `../shared/` notes, no path that climbs out of the checkout, no notes file it lacks."""
    held = _markdown_names()
    bad = []
    for path in _product_files():
        text = path.read_text(errors="replace")
        where = path.relative_to(ROOT)
        prose = path.suffix == ".md"
        for match in _CLIMB.finditer(text):
            target = match.group(0)
            resolved = (path.parent / target).resolve()
            if "../shared/" in target or not resolved.is_relative_to(ROOT):
                bad.append(f"{where}: {target} (outside the repository)")
            elif prose and not resolved.exists():  # docs cite files; code may name examples
                bad.append(f"{where}: {target} (not in the repository)")
        bad += [
            f"{where}: {m.group(0)} (not in the repository)"
            for m in _NOTES.finditer(text)
            if m.group(0) not in held
        ]
    assert bad == []


def test_every_cli_command_in_the_docs_exists() -> None:
    """``workbench ...`` in the docs names a real command: ``--help`` exits 0 for each."""
    import typer
    from typer.testing import CliRunner

    from workbench.cli.main import app

    root = typer.main.get_command(app)
    paths: dict[tuple[str, ...], str] = {}
    for doc in DOC_FILES:
        for line in _code(doc.read_text()):
            for match in _COMMAND.finditer(line):
                words, path, group = match.group(1).split(), [], root
                for word in words:
                    sub = getattr(group, "commands", {}).get(word)  # typer vendors click
                    if sub is None:
                        break
                    path.append(word)
                    group = sub
                if not path or (hasattr(group, "commands") and len(words) > len(path)):
                    # `workbench nosuch` or `workbench hub nosuch`: not a command
                    paths[(*path, words[len(path)])] = f"{doc.relative_to(ROOT)}: {line.strip()}"
                else:
                    paths.setdefault(tuple(path), f"{doc.relative_to(ROOT)}: {line.strip()}")
    assert len(paths) > 10  # the scan found the docs' commands
    runner = CliRunner()
    failed = {
        " ".join(p): where for p, where in paths.items() if runner.invoke(app, [*p, "--help"]).exit_code != 0
    }
    assert failed == {}
