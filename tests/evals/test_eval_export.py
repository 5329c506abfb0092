"""``workbench eval export RUN_ID DIR``: a folder that reproduces one evaluation record anywhere.

The slow test does what the exported README says, in a fresh virtual environment: install
``binder/requirements.txt``, run the notebook with papermill, ``workbench eval record``; the
new record's metrics must be the exported record's.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.hub import HF_ENV, HubProcess
from tests.support.kernel import seed_demo
from workbench.client import HubClient

ROOT = Path(__file__).resolve().parents[2]


def _cli(hub: HubProcess, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workbench", *args, "--url", hub.url, "--token", hub.token],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **HF_ENV, **(env or {})},
    )


@pytest.fixture(scope="module")
def run(hub: HubProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A succeeded evaluation record of the demo model on the demo dataset."""
    from workbench.evals.runner import EvalSpec, run_evaluation

    demo = seed_demo(hub)
    out = tmp_path_factory.mktemp("eval-runs")
    record = run_evaluation(
        EvalSpec(
            demo["model"],
            demo["dataset"],
            metrics=["accuracy", "f1"],
            hub_url=hub.url,
            token=hub.token,
            output_dir=str(out),
        )
    )
    assert record.ok, record.error
    with HubClient(hub.url, hub.token, progress=False) as client:
        return client.eval_run(str(record.id))


def test_export_writes_notebook_parameters_binder_and_readme(
    hub: HubProcess, run: dict[str, Any], tmp_path: Path
) -> None:
    folder = tmp_path / "repro"
    done = _cli(
        hub, "eval", "export", run["id"], str(folder), "--repo-url", "https://github.com/acme/repro-tiny"
    )
    assert done.returncode == 0, done.stderr
    notebook = folder / run["notebook"]["name"]
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert files == {
        notebook.name,
        "parameters.yaml",
        "expected.json",
        "README.md",
        "binder/requirements.txt",
        "binder/runtime.txt",
    }
    # The notebook as it was before papermill: no outputs, no injected parameters.
    nb = json.loads(notebook.read_text())
    assert not [c for c in nb["cells"] if c.get("outputs")]
    assert not [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    params = yaml.safe_load((folder / "parameters.yaml").read_text())
    assert params["model_revision"] == run["model_commit"]
    assert params["dataset_revision"] == run["dataset_commit"]
    assert params["model"] == run["model"] and params["metrics"] == ["accuracy", "f1"]
    expected = json.loads((folder / "expected.json").read_text())
    assert expected["metrics"] == run["metrics"] and expected["run"] == run["id"]
    # The requirements pin what the run used, and nothing from outside Workbench's tree.
    packages = run["environment"]["packages"]
    requirements = (folder / "binder" / "requirements.txt").read_text()
    for name in ("torch", "datasets", "evaluate", "papermill", "ipykernel", "numpy"):
        assert f"\n{name}=={packages[name]}\n" in requirements, name
    assert "pytest" not in requirements and "workbench==" in requirements
    python = run["environment"]["python"].rsplit(".", 1)[0]
    assert (folder / "binder" / "runtime.txt").read_text() == f"python-{python}\n"
    readme = (folder / "README.md").read_text()
    badge = "https://mybinder.org/v2/gh/acme/repro-tiny/main?urlpath=lab/tree/" + notebook.name
    assert f"[![Open in Binder](https://mybinder.org/badge_logo.svg)]({badge})" in readme
    assert f"papermill {notebook.name} executed.ipynb -f parameters.yaml" in readme
    for value in run["metrics"].values():
        assert str(value) in readme


def test_export_refuses_what_it_cannot_do(hub: HubProcess, run: dict[str, Any], tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    done = _cli(hub, "eval", "export", run["id"], str(taken))
    assert done.returncode == 1 and "not an empty folder" in done.stderr
    assert [p.name for p in taken.iterdir()] == ["notes.txt"]  # nothing lost or added
    done = _cli(hub, "eval", "export", "no-such-run", str(tmp_path / "new"))
    assert done.returncode == 1 and done.stderr.startswith("error:")
    assert not (tmp_path / "new").exists()
    done = _cli(hub, "eval", "export", run["id"], str(tmp_path / "bad"), "--repo-url", "/srv/git")
    assert done.returncode == 1 and "Git host" in done.stderr


def _fenced_after(text: str, heading: str) -> str:
    section = text.split(heading, 1)[1]
    return re.search(r"```bash\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


@pytest.mark.slow
@pytest.mark.timeout(1900)  # above its steps' own limits: export 300 s, pip 900 s, README 600 s
def test_exported_run_reproduces_in_a_fresh_environment(
    hub: HubProcess, run: dict[str, Any], tmp_path: Path
) -> None:
    started = time.monotonic()
    folder = tmp_path / "repro"
    assert _cli(hub, "eval", "export", run["id"], str(folder)).returncode == 0
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **os.environ,
        **HF_ENV,
        "HOME": str(home),
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
        "HF_HOME": str(tmp_path / "hf"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "WORKBENCH_TOKEN": hub.token,
    }
    for key in (
        "VIRTUAL_ENV",
        "PYTHONPATH",
        "WORKBENCH_HUB_URL",
        "HF_ENDPOINT",
        "HF_TOKEN",
        "JUPYTER_PATH",
        "JUPYTER_CONFIG_DIR",
        "JUPYTER_DATA_DIR",
    ):
        env.pop(key, None)
    # Install the pinned requirements. Two departures, both because this machine is offline
    # and Workbench is not on a package index: PyTorch's index line is dropped (pip finds the
    # same wheel locally), and Workbench itself comes from this checkout, put on the path as
    # an editable install would (building its wheel also builds the lab extension, which the
    # Binder replay test covers).
    requirements = (folder / "binder" / "requirements.txt").read_text().splitlines()
    offline = tmp_path / "requirements.txt"
    offline.write_text(
        "\n".join(line for line in requirements if not line.startswith(("--extra-index-url", "workbench")))
    )
    # (--no-compile: byte-compiling the packages is half the install's CPU time.)
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-compile", "-r", str(offline)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stderr[-4000:]
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "workbench-checkout.pth").write_text(f"{ROOT}\n")
    script = venv / "bin" / "workbench"
    script.write_text(f"#!{python}\nfrom workbench.cli import main\nmain()\n")
    script.chmod(0o755)
    installed = time.monotonic() - started
    # The README's "Run" block, as written, with the hub's address in place.
    commands = _fenced_after((folder / "README.md").read_text(), "## Run")
    assert hub.url in commands
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", commands],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    rerun_id = re.search(r"^run (\S+): succeeded", done.stdout, re.M)
    assert rerun_id, done.stdout
    with HubClient(hub.url, hub.token, progress=False) as client:
        rerun = client.eval_run(rerun_id.group(1))
    assert rerun["id"] != run["id"]
    assert (rerun["model_commit"], rerun["dataset_commit"]) == (run["model_commit"], run["dataset_commit"])
    assert rerun["metrics"] == run["metrics"]
    print(
        f"\nexport reproduced: install {installed:.0f} s, total {time.monotonic() - started:.0f} s",
        file=sys.stderr,
    )


def test_workbench_requirement_from_a_clone(tmp_path: Path) -> None:
    from workbench.evals.export import installed_workbench, pinned_requirements

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(tmp_path), *args], check=True, capture_output=True, text=True
        ).stdout.strip()

    git("init", "-q")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'workbench'\n")
    git("add", "pyproject.toml")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init")
    assert installed_workbench(tmp_path) is None  # no remote: nowhere to install it from
    git("remote", "add", "origin", "git@github.com:acme/workbench.git")
    head = git("rev-parse", "HEAD")
    assert installed_workbench(tmp_path) is None  # no remote branch holds the commit yet
    git("update-ref", "refs/remotes/origin/main", head)
    line = installed_workbench(tmp_path)
    assert line == f"workbench[ml,notebook] @ git+https://github.com/acme/workbench.git@{head}"
    text = pinned_requirements({"packages": {"torch": "2.13.0", "workbench": "0.1.0"}}, workbench=line)
    assert f"\n{line}\n" in text and "replace the next line" not in text
    fallback = pinned_requirements({"packages": {"workbench": "0.1.0"}}, workbench=None)
    if installed_workbench() is None:  # this checkout has no remote: say what to do
        assert "replace the next line" in fallback and "\nworkbench==0.1.0\n" in fallback
