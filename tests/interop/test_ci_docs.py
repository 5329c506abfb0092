"""docs/ci.md, run as written: the gate spec, the GitHub Actions workflow's shell steps and the
GitLab CI job's script, each in a fresh workspace with its own hub started the documented way
(no team hub in the secrets), ending with a passing `workbench eval gate`, its JUnit report and
its Markdown summary.

What cannot run here is checked for shape: the `uses:` actions and the install steps (this
environment is the installed one).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import yaml

from tests.support.hub import HF_ENV, free_port
from workbench.evals.gate import parse_spec

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "ci.md"


def _block(first_line: str) -> str:
    """The fenced YAML block of docs/ci.md that starts with ``first_line``."""
    for body in re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S):
        if body.startswith(first_line + "\n"):
            return body
    raise AssertionError(f"docs/ci.md has no yaml block starting with {first_line!r}")


def test_the_documented_gate_spec_is_valid() -> None:
    spec = parse_spec(yaml.safe_load(_block("# ci/eval-gate.yaml")))
    assert [(e.model, e.dataset, e.split) for e in spec.evaluations] == [
        ("admin/tiny-classifier", "admin/iris-mini", "test")
    ]
    assert set(spec.evaluations[0].metrics) == {"accuracy", "f1"}


class Workspace:
    """A checkout as CI sees it: the gate spec at ci/eval-gate.yaml; every shell step started
    in its own process group, so the hub a step leaves running is stopped afterwards."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "ci").mkdir(parents=True)
        (root / "ci" / "eval-gate.yaml").write_text(_block("# ci/eval-gate.yaml"))
        home = root.parent / "home"
        home.mkdir()
        self.env = {
            **os.environ,
            **HF_ENV,
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "HF_HOME": str(home / "hf"),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        }
        for key in ("WORKBENCH_HUB_URL", "WORKBENCH_TOKEN", "WORKBENCH_DATA", "HF_ENDPOINT", "HF_TOKEN"):
            self.env.pop(key, None)
        self.groups: list[int] = []

    def bash(self, script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        proc = subprocess.Popen(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=self.root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.groups.append(proc.pid)
        out, err = proc.communicate(timeout=600)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def stop(self) -> None:
        for group in self.groups:
            try:
                os.killpg(group, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def check_reports(self) -> None:
        suite = ET.parse(self.root / "eval-gate.xml").getroot().find("testsuite")
        assert suite is not None
        assert suite.get("tests") == "2" and suite.get("failures") == "0"
        assert {case.get("name") for case in suite.iter("testcase")} == {"accuracy", "f1"}
        summary = (self.root / "eval-gate.md").read_text()
        assert "Evaluation gate: PASSED" in summary and "admin/tiny-classifier" in summary


@pytest.fixture
def workspace(tmp_path: Path) -> Any:
    ws = Workspace(tmp_path / "checkout")
    yield ws
    ws.stop()


@pytest.mark.slow
@pytest.mark.timeout(1900)  # above its three steps' own limits (600 s each)
def test_github_actions_workflow_runs_the_gate(workspace: Workspace) -> None:
    workflow = yaml.safe_load(_block("# .github/workflows/eval.yml"))
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request"} <= set(triggers)
    job = workflow["jobs"]["eval-gate"]
    steps = job["steps"]
    uses = {s["uses"].split("@")[0]: s for s in steps if "uses" in s}
    assert {
        "actions/checkout",
        "actions/setup-python",
        "mikepenz/action-junit-report",
        "actions/upload-artifact",
    } <= set(uses)
    assert uses["mikepenz/action-junit-report"]["with"]["report_paths"] == "eval-gate.xml"
    assert uses["actions/upload-artifact"]["if"] == "always()"
    # The workflow's environment without secrets: no team hub, so the job starts its own.
    env = dict(workspace.env)
    for key, value in workflow["env"].items():
        env[key] = "" if "secrets." in str(value) else str(value)
    env["WORKBENCH_PORT"] = str(free_port())  # 8765 may be taken on a shared machine
    github_env = workspace.root.parent / "github_env"
    summary = workspace.root.parent / "step_summary"
    env.update(
        RUNNER_TEMP=str(workspace.root.parent / "runner_temp"),
        GITHUB_ENV=str(github_env),
        GITHUB_STEP_SUMMARY=str(summary),
    )
    Path(env["RUNNER_TEMP"]).mkdir()
    github_env.touch()
    ran = []
    for step in steps:
        if "run" not in step or step["name"] == "Install Workbench":
            continue
        condition = step.get("if")
        assert condition in (None, "always()", "env.WORKBENCH_HUB_URL == ''"), condition
        if condition == "env.WORKBENCH_HUB_URL == ''" and env.get("WORKBENCH_HUB_URL"):
            continue
        done = workspace.bash(step["run"], env)
        assert done.returncode == 0, f"{step['name']}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        ran.append(step["name"])
        # Like the runner: lines appended to $GITHUB_ENV set variables for later steps.
        env.update(line.split("=", 1) for line in github_env.read_text().splitlines() if "=" in line)
    assert ran == ["Start a hub with the demo content", "Evaluation gate", "Summary"]
    assert env["WORKBENCH_HUB_URL"] == f"http://127.0.0.1:{env['WORKBENCH_PORT']}"
    workspace.check_reports()
    assert "Evaluation gate: PASSED" in summary.read_text()


@pytest.mark.slow
@pytest.mark.timeout(660)  # above its script's own 600 s limit
def test_gitlab_ci_job_runs_the_gate(workspace: Workspace) -> None:
    job = yaml.safe_load(_block("# .gitlab-ci.yml"))["eval-gate"]
    assert job["artifacts"]["reports"]["junit"] == "eval-gate.xml"
    assert job["artifacts"]["when"] == "always" and "eval-gate.md" in job["artifacts"]["paths"]
    env = {
        **workspace.env,
        **{k: str(v) for k, v in job["variables"].items()},
        "CI_PROJECT_DIR": str(workspace.root),
        "WORKBENCH_PORT": str(free_port()),
    }
    # GitLab runs the script's lines in one shell, stopping at the first that fails.
    script = [line for line in job["script"] if not line.startswith("pip install")]
    assert len(script) == len(job["script"]) - 2
    done = workspace.bash("\n".join(script), env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    workspace.check_reports()
