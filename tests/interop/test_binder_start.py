"""The Binder image, replayed without Docker: the steps repo2docker runs for binder/ (install
requirements.txt from the repository root, postBuild, then start wrapping JupyterLab), in a fresh
virtual environment and a fresh home folder, then JupyterLab and the hub must answer.

About a minute of pip install (from pip's cache) plus the starts; the duration is printed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.hub import HF_ENV, free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _checkout(dest: Path) -> Path:
    """What Binder clones: the files Git would commit (tracked, or new and not ignored)."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True, check=True
        )
        .stdout.decode()
        .split("\0")
    )
    for rel in filter(None, listed):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    # The built lab extension is ignored by Git but lets the wheel build skip the JS build
    # (its skip-if-exists); on Binder that build runs once, at image build time. Its output has
    # no install.json: the copy `make labextension` puts there for the linked development
    # install would collide with the one the wheel ships.
    built = ROOT / "workbench" / "labextension"
    if built.is_dir():
        shutil.copytree(
            built,
            dest / "workbench" / "labextension",
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("install.json"),
        )
    return dest


def _ships_lab_extension() -> bool:
    hooks = (
        tomllib.loads((ROOT / "pyproject.toml").read_text())
        .get("tool", {})
        .get("hatch", {})
        .get("build", {})
        .get("hooks", {})
    )
    return "jupyter-builder" in hooks


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"binder/start exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path | str]]:
    """The replayed build: repository copy, venv with binder/requirements.txt, postBuild run."""
    started = time.monotonic()
    root = tmp_path_factory.mktemp("binder")
    repo = _checkout(root / "repo")
    home = root / "home"
    home.mkdir()
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # The torch CPU index is unreachable here (no internet); pip finds the same wheel locally.
    requirements = (repo / "binder" / "requirements.txt").read_text()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in requirements
    offline = repo / "binder" / "requirements-offline.txt"
    offline.write_text(
        "\n".join(line for line in requirements.splitlines() if not line.startswith("--extra-index-url"))
        + "\n"
    )
    env = {
        **os.environ,
        **HF_ENV,
        "HOME": str(home),
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
    }
    for key in (
        "VIRTUAL_ENV",
        "PYTHONPATH",
        "WORKBENCH_DATA",
        "WORKBENCH_HUB_URL",
        "WORKBENCH_TOKEN",
        "HF_ENDPOINT",
        "HF_TOKEN",
        "HF_HOME",
        "XDG_CONFIG_HOME",
        "XDG_CACHE_HOME",
        "JUPYTER_CONFIG_DIR",
        "JUPYTER_DATA_DIR",
        "JUPYTER_RUNTIME_DIR",
    ):
        env.pop(key, None)
    # repo2docker: `pip install --no-cache-dir -r "binder/requirements.txt"` in the repo root
    # (here with pip's cache and without byte-compiling: the same packages, installed in about
    # half the CPU time).
    install = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-compile",
            "-r",
            str(offline.relative_to(repo)),
        ],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stderr[-4000:]
    # repo2docker: `./binder/postBuild`, in the repo root.
    post = subprocess.run(
        ["./binder/postBuild"], cwd=repo, env=env, capture_output=True, text=True, timeout=300
    )
    assert post.returncode == 0, post.stdout[-2000:] + post.stderr[-4000:]
    assert (home / ".workbench" / "hub").is_dir()
    print(f"\nbinder build replayed in {time.monotonic() - started:.0f} s", file=sys.stderr)
    yield {"repo": repo, "home": home, "venv": venv, "env": env}  # type: ignore[misc]


# Above the image fixture's own limits (pip 900 s, postBuild 300 s), which count against
# this test's time, and its own start-up waits.
@pytest.mark.timeout(1500)
def test_binder_start_serves_jupyterlab_and_the_seeded_hub(image: dict) -> None:  # type: ignore[type-arg]
    started = time.monotonic()
    repo, home, env = image["repo"], image["home"], dict(image["env"])
    lab_port, token = free_port(), "binder-replay"
    log = home / "start.log"
    # repo2docker's entrypoint runs `binder/start` with the notebook command as arguments.
    # (--allow-root only because tests may run as root; Binder runs as a plain user.)
    cmd = [
        "./binder/start",
        "jupyter",
        "lab",
        "--no-browser",
        "--allow-root",
        "--ip",
        "127.0.0.1",
        f"--port={lab_port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={repo}",
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=repo, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        lab = f"http://127.0.0.1:{lab_port}"
        auth = {"Authorization": f"token {token}"}
        _wait(f"{lab}/api/status?token={token}", proc, log)
        page = httpx.get(f"{lab}/lab", headers=auth, timeout=30)
        assert page.status_code == 200 and "JupyterLab" in page.text
        names = [e["name"] for e in httpx.get(f"{lab}/lab/api/extensions", headers=auth, timeout=30).json()]
        if _ships_lab_extension():  # pyproject builds and ships the lab extension
            assert any("workbench" in n for n in names), names
        # The server extension started the embedded hub on the data postBuild seeded...
        status = httpx.get(f"{lab}/workbench/status", headers=auth, timeout=30).json()
        assert status["embedded"] is True, status
        hub = status["hubUrl"]
        _wait(f"{hub}/api/health", proc, log)
        # ... which answers through JupyterLab's proxy (the browser's only way in) with the
        # demo content.
        proxy = f"{lab}/workbench/hub"
        models = [
            m["id"]
            for m in httpx.get(
                f"{proxy}/api/models", params={"author": "admin"}, headers=auth, timeout=30
            ).json()
        ]
        datasets = [
            d["id"]
            for d in httpx.get(
                f"{proxy}/api/datasets", params={"author": "admin"}, headers=auth, timeout=30
            ).json()
        ]
        assert "admin/tiny-classifier" in models and "admin/iris-mini" in datasets
        # A terminal's `workbench` CLI finds the token postBuild's hub saved.
        whoami = subprocess.run(
            [str(image["venv"] / "bin" / "workbench"), "whoami", "--url", hub],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert whoami.returncode == 0 and "admin" in whoami.stdout, whoami.stderr
    finally:
        # JupyterLab and the hub it started share the process group start_new_session made.
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    print(f"\nbinder start replayed in {time.monotonic() - started:.0f} s", file=sys.stderr)
