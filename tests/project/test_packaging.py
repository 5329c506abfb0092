"""The package as users get it: built from a clean copy, installed (not editable) into a fresh
virtual environment, and used from there, far from the source tree.

The sdist is built from the files git lists (tracked, and untracked ones it does not ignore)
plus the lab extension that ``make labextension`` built (building it again would need npm and
the network); the wheel is built from the sdist, as pip does. The fresh environment reuses this
one's third-party packages through a ``.pth`` file naming a folder of links to them, all but
Workbench's own (the editable install's files are left out, and the ``.pth`` files inside that
folder are not processed), so pip installs only the wheel, with the constraints, offline.
Everything then runs with that environment's Python, in a folder outside the checkout:
``workbench hub serve``, ``wb.publish_model`` and ``wb.load_model`` in separate processes,
``workbench eval run`` and ``workbench eval reproduce``, and Jupyter's extension lists.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.hub import HF_ENV, free_port

ROOT = Path(__file__).resolve().parents[2]
LABEXTENSION = ROOT / "workbench" / "labextension"
EXTRAS = "ml,notebook,lab"

pytestmark = pytest.mark.slow


@dataclass
class Installed:
    """A fresh virtual environment with the wheel installed, and the built artifacts."""

    home: Path  # a folder outside the checkout: the cwd of every process, and their config
    venv: Path
    sdist: Path
    wheel: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def site_packages(self) -> Path:
        [site] = (self.venv / "lib").glob("python3.*/site-packages")
        return site

    def env(self, **extra: str) -> dict[str, str]:
        """This environment only: no PYTHONPATH, no Jupyter or Workbench settings of the caller."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PYTHON", "VIRTUAL_ENV", "JUPYTER", "WORKBENCH_", "HF_", "XDG_"))
        }
        path = [p for p in env.get("PATH", "").split(os.pathsep) if p and not p.startswith(sys.prefix)]
        env.update(HF_ENV)
        env.update(
            PATH=os.pathsep.join([str(self.venv / "bin"), *path]),
            VIRTUAL_ENV=str(self.venv),
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / "config"),
            XDG_CACHE_HOME=str(self.home / "cache"),
            XDG_DATA_HOME=str(self.home / "data"),
            HF_HOME=str(self.home / "hf"),
            JUPYTER_CONFIG_DIR=str(self.home / "jupyter-config"),
            JUPYTER_DATA_DIR=str(self.home / "jupyter-data"),
            JUPYTER_RUNTIME_DIR=str(self.home / "jupyter-runtime"),
            HF_HUB_DISABLE_PROGRESS_BARS="1",
        )
        env.update(extra)
        return env

    def run(
        self, *args: str | Path, env: dict[str, str] | None = None, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a command of this environment (``workbench``, ``python``) from ``home``."""
        exe = args[0] if Path(str(args[0])).is_absolute() else self.venv / "bin" / str(args[0])
        return subprocess.run(
            [str(exe), *map(str, args[1:])],
            capture_output=True,
            text=True,
            env=env or self.env(),
            cwd=self.home,
            input=input,
            timeout=300,
        )


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env or {**os.environ, **HF_ENV},
        timeout=300,
    )
    assert proc.returncode == 0, f"{' '.join(map(str, args))}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _clean_copy(dest: Path) -> None:
    """The files a clone holds (and the untracked ones git would not ignore), plus the built
    lab extension: what `make test` has before pytest starts, and nothing else."""
    if not (LABEXTENSION / "static" / "style.js").is_file():
        pytest.fail("workbench/labextension is not built: run `make labextension` first")
    listed = _run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT).stdout
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if not (source.exists() or source.is_symlink()):
            continue  # deleted in the work tree, not yet committed
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
    shutil.copytree(LABEXTENSION, dest / "workbench" / "labextension")


def _dependency_links(dest: Path) -> Path:
    """A folder of links to this environment's installed packages, Workbench's own left out."""
    site = Path(sysconfig.get_path("purelib"))
    dest.mkdir()
    for entry in site.iterdir():
        name = entry.name.lower()
        if name.startswith(("workbench", "_editable_impl_workbench", "__editable__")) or name.endswith(
            ".pth"
        ):
            continue
        (dest / entry.name).symlink_to(entry)
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("packaging")
    source, dist, home = base / "source", base / "dist", base / "home"
    home.mkdir()
    _clean_copy(source)
    # No --sdist/--wheel: build makes the sdist, then the wheel from the unpacked sdist.
    _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, source, cwd=source)
    [sdist] = dist.glob("workbench-*.tar.gz")
    [wheel] = dist.glob("workbench-*.whl")
    venv = base / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=base)
    env = Installed(home, venv, sdist, wheel)
    deps = _dependency_links(base / "deps")
    (env.site_packages / "_workbench_test_deps.pth").write_text(f"{deps}\n")
    pip = _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        env.python,
        "install",
        "--no-index",
        "-c",
        source / "constraints.txt",
        f"{wheel}[{EXTRAS}]",
        cwd=home,
        env=env.env(),
    )
    assert "Successfully installed workbench-" in pip.stdout, pip.stdout
    return env


@pytest.fixture(scope="module")
def hub(installed: Installed) -> Iterator[dict[str, str]]:
    """``workbench hub serve`` of the installed package, with the demo content."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = installed.home / "hub.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                str(installed.venv / "bin" / "workbench"),
                *("hub", "serve", "--port", str(port), "--data", str(installed.home / "hub-data")),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=installed.env(),
            cwd=installed.home,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"the hub exited:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"the hub did not start:\n{log.read_text()[-3000:]}"
            try:
                if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        token = json.loads((installed.home / "config" / "workbench" / "config.json").read_text())["token"]
        demo = installed.run("workbench", "demo", "--url", url, "--json")
        assert demo.returncode == 0, demo.stderr[-3000:]
        repos = {r["type"]: r["repo"] for r in json.loads(demo.stdout)}
        yield {"url": url, "token": token, **repos}
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _as_user(installed: Installed, hub: dict[str, str]) -> dict[str, str]:
    return installed.env(WORKBENCH_HUB_URL=hub["url"], WORKBENCH_TOKEN=hub["token"])


def _json_out(proc: subprocess.CompletedProcess[str]) -> Any:
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_artifacts_hold_what_runs(installed: Installed) -> None:
    wheel = set(zipfile.ZipFile(installed.wheel).namelist())
    data = f"{installed.wheel.name.split('-py3')[0]}.data/data"
    for name in (
        "workbench/evals/evaluate.ipynb",  # the evaluation template (`workbench eval run`)
        "workbench/evals/metrics/accuracy/accuracy.py",  # metric spaces the hub serves
        "workbench/store/migrations/env.py",
        f"{data}/share/jupyter/labextensions/workbench/package.json",
        f"{data}/share/jupyter/labextensions/workbench/static/style.js",
        f"{data}/share/jupyter/labextensions/workbench/install.json",
        f"{data}/etc/jupyter/jupyter_server_config.d/workbench.json",
    ):
        assert name in wheel, f"the wheel lacks {name}"
    assert not [n for n in wheel if n.startswith(("workbench/labextension/", "tests/", "notebooks/"))]
    assert len([n for n in wheel if n.endswith("/install.json")]) == 1
    import tarfile

    with tarfile.open(installed.sdist) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    assert {"workbench/evals/evaluate.ipynb", "workbench/labextension/static/style.js"} <= names
    assert {"notebooks/evaluate.ipynb", "binder/postBuild", "constraints.txt"} <= names


def test_installed_package_is_the_wheel_not_the_checkout(installed: Installed) -> None:
    code = (
        "import json, sys, importlib.util, importlib.metadata as m, workbench\n"
        "print(json.dumps({'file': workbench.__file__, 'path': sys.path,\n"
        "  'tests': importlib.util.find_spec('tests') is not None,\n"
        "  'direct_url': m.distribution('workbench').read_text('direct_url.json')}))"
    )
    got = _json_out(installed.run("python", "-c", code))
    assert Path(got["file"]).is_relative_to(installed.site_packages), got["file"]
    assert not [p for p in got["path"] if p and Path(p).resolve().is_relative_to(ROOT)], got["path"]
    assert not got["tests"]  # the checkout's tests package is out of reach
    assert json.loads(got["direct_url"])["url"].endswith(installed.wheel.name)


def test_publish_and_load_in_a_fresh_process(installed: Installed, hub: dict[str, str]) -> None:
    publish = (
        "import json, torch, workbench as wb\n"
        "torch.manual_seed(0)\n"
        "model = torch.nn.Linear(4, 2)\n"
        "wb.publish_model(model, 'admin/packaged-linear', example_inputs=(torch.randn(2, 4),))\n"
        "x = torch.arange(20.0).reshape(5, 4)\n"
        "with torch.no_grad():\n"
        "    print(json.dumps(model(x).tolist()))\n"
    )
    load = (
        "import json, torch, workbench as wb\n"
        "model = wb.load_model('admin/packaged-linear')\n"
        "x = torch.arange(20.0).reshape(5, 4)\n"
        "with torch.no_grad():\n"
        "    print(json.dumps(model(x).tolist()))\n"
    )
    env = _as_user(installed, hub)
    want = _json_out(installed.run("python", "-c", publish, env=env))
    got = _json_out(installed.run("python", "-c", load, env=env))
    import torch

    assert torch.allclose(torch.tensor(got), torch.tensor(want), atol=1e-6)


def test_eval_run_and_reproduce(installed: Installed, hub: dict[str, str]) -> None:
    env = _as_user(installed, hub)
    runs = installed.home / "runs"
    record = _json_out(
        installed.run(
            "workbench",
            "eval",
            "run",
            "--model",
            hub["model"],
            "--dataset",
            hub["dataset"],
            "--json",
            "--output-dir",
            runs,
            env=env,
        )
    )
    assert record["status"] == "succeeded" and "accuracy" in record["metrics"]
    assert record["notebook"]["name"] == "evaluate.ipynb"
    outcome = _json_out(
        installed.run("workbench", "eval", "reproduce", record["id"], "--json", "--output-dir", runs, env=env)
    )
    assert outcome["status"] == "reproduced" and outcome["differences"] == []


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)  # without the terminal colours


def test_jupyter_lists_the_extensions_enabled(installed: Installed) -> None:
    # What `jupyter labextension list` and `jupyter server extension list` run.
    lab = installed.run("python", "-m", "jupyterlab.labextensions", "list")
    assert lab.returncode == 0, lab.stderr[-3000:]
    text = _plain(lab.stdout + lab.stderr)
    ours = text.split(str(installed.venv / "share" / "jupyter" / "labextensions"), 1)
    assert len(ours) == 2, text
    assert re.search(r"^\s+workbench v\S+ enabled\s+OK \(python, workbench\)", ours[1], re.M), text

    server = installed.run("python", "-m", "jupyter_server", "extension", "list")
    assert server.returncode == 0, server.stderr[-3000:]
    text = _plain(server.stdout + server.stderr)
    ours = text.split(f"Config dir: {installed.venv / 'etc' / 'jupyter'}", 1)
    assert len(ours) == 2, text
    section = ours[1].split("Config dir:", 1)[0]
    config = json.loads((ROOT / "jupyter-config" / "server-config" / "workbench.json").read_text())
    [name] = config["ServerApp"]["jpserver_extensions"]
    assert re.search(rf"^\s+{re.escape(name)} enabled$", section, re.M), text
    assert re.search(rf"^\s+{re.escape(name)}\s.*\bOK$", section, re.M), text
