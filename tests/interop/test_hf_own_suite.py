"""huggingface_hub's own test suite against a real hub, as a standing check (``make interop``).

The suite of the pinned huggingface_hub version runs unedited against a fresh hub (see
scripts/interop/run.py). This test keeps what docs/hf-compatibility.md claims true: the ratio
stays at the goal, and every test that does not pass is named there with its reason.
"""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOAL = 0.98

pytestmark = pytest.mark.slow


def _named_in_docs() -> list[str]:
    """The test-id patterns of the docs' "last run" table (``test_x.py::Class::*``)."""
    text = (ROOT / "docs" / "hf-compatibility.md").read_text()
    section = text.split("## Measured by `huggingface_hub`'s own tests", 1)[1].split("\n## ", 1)[0]
    patterns = re.findall(r"`(test_[a-z_]+\.py::[^`]*)`", section)
    # "`test_x.py::test_a`, `::test_b`": the file of the first names the others
    for cell in re.findall(r"`(test_[a-z_]+\.py)::[^`]*`((?:, `::[^`]*`)+)", section):
        patterns += [cell[0] + m for m in re.findall(r"`(::[^`]*)`", cell[1])]
    return patterns


def test_huggingface_hub_suite_passes_but_for_what_the_docs_name(tmp_path: Path) -> None:
    subprocess.run(
        ["make", "--no-print-directory", "build/interop-venv/.installed"], cwd=ROOT, check=True, timeout=900
    )
    out = tmp_path / "interop"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts/interop/run.py"),
            "--python",
            str(ROOT / "build/interop-venv/bin/python"),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        check=True,
        timeout=1500,
        stdout=subprocess.DEVNULL,
    )
    summary = json.loads((out / "summary.json").read_text())
    failures = (out / "failures.txt").read_text().splitlines()
    assert summary["ran"] > 1000, summary  # the suite ran, not a broken setup
    assert summary["ratio"] >= GOAL, "\n".join(failures)
    patterns = _named_in_docs()
    unnamed = [
        line
        for line in failures
        if not any(fnmatch.fnmatch(line.split("  ", 1)[0], "tests/" + p) for p in patterns)
    ]
    assert not unnamed, "fails, but docs/hf-compatibility.md does not say why:\n" + "\n".join(unnamed)
