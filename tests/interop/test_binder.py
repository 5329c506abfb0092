"""Binder: wb.binder_url, "Open in Binder" badges on notebook cards, and binder/ as repo2docker
reads it (the replayed build and start are in test_binder_start.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import workbench as wb
from tests.support.evals import quick_notebook
from tests.support.hub import HubProcess
from tests.support.kernel import seed_demo, unique
from workbench.binder import detect_git_source, parse_source_url
from workbench.client import HubClient
from workbench.errors import InvalidRequest, RepoNotFound
from workbench.evals.records import RunRecord
from workbench.kernel.cards import split_card

ROOT = Path(__file__).resolve().parents[2]
GH = "https://mybinder.org/v2/gh"


# -- wb.binder_url ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("repo", "kwargs", "url"),
    [
        (
            "https://github.com/acme/research",
            {"notebook": "notebooks/train.ipynb"},
            f"{GH}/acme/research/main?urlpath=lab/tree/notebooks/train.ipynb",
        ),
        ("https://github.com/acme/research.git", {"ref": "v1.2"}, f"{GH}/acme/research/v1.2?urlpath=lab"),
        (
            "git@github.com:acme/research.git",
            {"ref": "feature/x", "notebook": "my nb.ipynb"},
            f"{GH}/acme/research/feature%2Fx?urlpath=lab/tree/my%20nb.ipynb",
        ),
        (
            "https://gitlab.com/team/sub/proj",
            {"notebook": "a.ipynb"},
            "https://mybinder.org/v2/gl/team%2Fsub%2Fproj/main?urlpath=lab/tree/a.ipynb",
        ),
        (
            "ssh://git@git.example.org/lab/proj.git",
            {"ref": "0123abc"},
            "https://mybinder.org/v2/git/https%3A%2F%2Fgit.example.org%2Flab%2Fproj/0123abc?urlpath=lab",
        ),
    ],
)
def test_binder_url_per_host(repo: str, kwargs: dict[str, str], url: str) -> None:
    assert wb.binder_url(repo, **kwargs) == url


@pytest.mark.parametrize(
    ("repo", "kwargs", "says"),
    [
        ("/home/me/research", {}, "not the URL of a repository on a Git host"),
        ("file:///srv/git/research", {}, "not the URL of a repository on a Git host"),
        ("https://github.com/acme", {}, "OWNER/REPO"),
        ("https://github.com/acme/research/blob/main/x.ipynb", {}, "pass notebook="),
        ("https://github.com/acme/research?tab=readme", {}, "query or fragment"),
        ("", {}, "must be the URL of a Git repository"),
        ("https://github.com/acme/research", {"ref": "bad ref"}, "not a valid Git"),
        ("https://github.com/acme/research", {"ref": ""}, "not a valid Git"),
        ("https://github.com/acme/research", {"notebook": "../secret.ipynb"}, "relative to the"),
        ("https://github.com/acme/research", {"notebook": "/etc/passwd"}, "relative to the"),
    ],
)
def test_binder_url_rejects_bad_input(repo: str, kwargs: dict[str, str], says: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        wb.binder_url(repo, **kwargs)
    assert err.value.code == "InvalidBinderSource" and says in err.value.message


def test_source_urls_of_files_name_repo_ref_and_path() -> None:
    gh = parse_source_url("https://github.com/acme/research/blob/dev/notebooks/train.ipynb")
    assert (gh.repo_url, gh.ref, gh.path) == (
        "https://github.com/acme/research",
        "dev",
        "notebooks/train.ipynb",
    )
    gl = parse_source_url("https://gitlab.com/team/sub/proj/-/blob/v2/eval.ipynb")
    assert (gl.repo_url, gl.ref, gl.path) == ("https://gitlab.com/team/sub/proj", "v2", "eval.ipynb")
    plain = parse_source_url("git@github.com:acme/research.git", ref="abc123")
    assert (plain.repo_url, plain.ref, plain.path) == ("https://github.com/acme/research", "abc123", None)


def _git(folder: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }
    return subprocess.run(
        ["git", "-C", str(folder), *args], check=True, capture_output=True, text=True, env=env
    ).stdout.strip()


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A Git clone whose origin is on GitHub, with a notebook committed in a subfolder."""
    import nbformat

    folder = tmp_path / "research"
    (folder / "notebooks").mkdir(parents=True)
    nbformat.write(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]),
        folder / "notebooks" / "train.ipynb",
    )
    _git(folder, "init", "-q", "-b", "dev")
    _git(folder, "remote", "add", "origin", "git@github.com:acme/research.git")
    _git(folder, "add", ".")
    _git(folder, "commit", "-q", "-m", "notebook")
    return folder


@pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command")
def test_git_remote_of_a_notebook_is_detected(clone: Path, tmp_path: Path) -> None:
    nb = clone / "notebooks" / "train.ipynb"
    # Not pushed anywhere yet: the branch is the best guess.
    source = detect_git_source(nb)
    assert source is not None
    assert (source.repo_url, source.ref, source.path) == (
        "https://github.com/acme/research",
        "dev",
        "notebooks/train.ipynb",
    )
    # Once a remote branch holds the commit, the link pins that exact commit.
    head = _git(clone, "rev-parse", "HEAD")
    _git(clone, "update-ref", "refs/remotes/origin/dev", head)
    source = detect_git_source(nb)
    assert source is not None and source.ref == head
    # A remote that is a local folder is not somewhere Binder can build from.
    _git(clone, "remote", "set-url", "origin", str(tmp_path / "bare.git"))
    assert detect_git_source(nb) is None
    loose = tmp_path / "loose.ipynb"
    shutil.copy(nb, loose)
    assert detect_git_source(loose) is None


# -- badges on published notebooks -----------------------------------------------------------


@pytest.fixture
def conn(hub: HubProcess, tmp_path_factory: pytest.TempPathFactory) -> wb.Connection:
    wb.clear_inputs()
    return wb.connect(hub.url, hub.token, cache_dir=tmp_path_factory.getbasetemp() / "wb-cache")


def _card(rid: str) -> tuple[dict, str]:  # type: ignore[type-arg]
    return split_card(wb.card(rid).content)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command")
def test_published_notebook_cards_carry_a_binder_badge(
    conn: wb.Connection, clone: Path, tmp_path: Path
) -> None:
    nb = clone / "notebooks" / "train.ipynb"
    # From the notebook's own clone.
    rid = unique("nb-binder")
    wb.publish_notebook(nb, rid)
    meta, body = _card(rid)
    url = f"{GH}/acme/research/dev?urlpath=lab/tree/notebooks/train.ipynb"
    assert f"[![Open in Binder](https://mybinder.org/badge_logo.svg)]({url})" in body
    assert meta["source"] == {
        "repo": "https://github.com/acme/research",
        "ref": "dev",
        "path": "notebooks/train.ipynb",
    }
    # Given explicitly, as the notebook's URL on the host: that wins.
    rid2 = unique("nb-binder")
    wb.publish_notebook(nb, rid2, source_url="https://gitlab.com/team/proj/-/blob/v3/nb/t.ipynb")
    _, body = _card(rid2)
    assert "https://mybinder.org/v2/gl/team%2Fproj/v3?urlpath=lab/tree/nb/t.ipynb" in body
    # Not on a Git host: no badge.
    loose = tmp_path / "loose.ipynb"
    shutil.copy(nb, loose)
    rid3 = unique("nb-binder")
    wb.publish_notebook(loose, rid3)
    meta, body = _card(rid3)
    assert "Open in Binder" not in body and "source" not in meta
    # A bad source is refused before anything is published.
    rid4 = unique("nb-binder")
    with pytest.raises(InvalidRequest) as err:
        wb.publish_notebook(loose, rid4, source_url="/srv/git/research")
    assert err.value.code == "InvalidBinderSource"
    with pytest.raises(RepoNotFound):
        conn.client.repo_info(rid4)


# -- badges on evaluation records -------------------------------------------------------------

BADGE = "[![Open in Binder](https://mybinder.org/badge_logo.svg)]"


def _card_of(client: HubClient, model: str, folder: Path) -> tuple[dict, str]:  # type: ignore[type-arg]
    readme = client.download_file(model, "README.md", local_dir=folder)
    return split_card(readme.read_text(encoding="utf-8"))


def _row(body: str, metric: str) -> str:
    section = body[body.index("## Evaluation results") :]
    return next(line for line in section.splitlines() if f"| {metric} |" in line)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command")
def test_evaluation_records_carry_a_binder_badge(hub: HubProcess, tmp_path: Path) -> None:
    """A run of a notebook in a clone of github.com/example/evals: the record (local and as the
    hub returns it), its notebook display and the model card all carry the Binder link; the
    same notebook outside Git gets none, and the hub refuses a source Binder cannot open."""
    from workbench.evals.runner import EvalSpec, run_evaluation

    demo = seed_demo(hub)
    folder = tmp_path / "evals"
    (folder / "nb").mkdir(parents=True)
    nb = quick_notebook(folder / "nb" / "quick.ipynb")
    _git(folder, "init", "-q", "-b", "main")
    _git(folder, "remote", "add", "origin", "https://github.com/example/evals.git")
    _git(folder, "add", ".")
    _git(folder, "commit", "-q", "-m", "notebook")
    url = f"{GH}/example/evals/main?urlpath=lab/tree/nb/quick.ipynb"
    with HubClient(hub.url, hub.token, progress=False) as client:
        model = unique("binder-eval")
        client.create_repo(model)
        client.upload(model, {"README.md": b"# binder-eval\n\nOur own words.\n"}, message="card")

        def run(notebook: Path) -> RunRecord:
            record = run_evaluation(
                EvalSpec(
                    model,
                    demo["dataset"],
                    notebook=str(notebook),
                    hub_url=hub.url,
                    token=hub.token,
                    publish=True,
                    output_dir=str(tmp_path / "runs"),
                ),
                client=client,
            )
            assert record.ok and record.id and record.published, record.error
            return record

        record = run(nb)
        source = {"repo_url": "https://github.com/example/evals", "ref": "main", "path": "nb/quick.ipynb"}
        assert (record.source, record.binder_url) == (source, url)
        stored = client.eval_run(str(record.id))
        assert (stored["source"], stored["binder_url"]) == (source, url)
        assert f'href="{url}"' in record._repr_html_() and "Open in Binder" in record._repr_html_()
        assert f"{BADGE}({url})" in record._repr_markdown_()
        # The card: the results table beside the card's own text, the badge on the run's row.
        meta, body = _card_of(client, model, tmp_path / "card1")
        assert body.startswith("# binder-eval\n\nOur own words.")
        row = _row(body, "accuracy")
        assert f"`{record.id}`" in row and f"{BADGE}({url})" in row
        metric = meta["model-index"][0]["results"][0]["metrics"][0]
        assert metric["args"] == {
            "run": record.id,
            "model_commit": record.data["model_commit"],
            "binder_url": url,
        }

        # The same notebook outside any clone: no source, no badge; its result replaces the row.
        loose = tmp_path / "loose.ipynb"
        shutil.copy(nb, loose)
        other = run(loose)
        assert other.source is None and other.binder_url is None
        stored = client.eval_run(str(other.id))
        assert stored["source"] is None and stored["binder_url"] is None
        assert "Open in Binder" not in other._repr_html_() + other._repr_markdown_()
        meta, body = _card_of(client, model, tmp_path / "card2")
        assert body.count("## Evaluation results") == 1 and body.startswith("# binder-eval")
        assert f"`{other.id}`" in _row(body, "accuracy") and "Open in Binder" not in body
        assert "binder_url" not in meta["model-index"][0]["results"][0]["metrics"][0]["args"]

        # The hub builds the link itself, from a source it checks.
        base = {
            k: stored[k]
            for k in (
                "model",
                "dataset",
                "model_commit",
                "dataset_commit",
                "split",
                "status",
                "metrics",
                "metric_info",
            )
        }
        base.update(notebook_name="quick.ipynb", notebook_sha256=stored["notebook"]["sha256"])
        made = client.create_eval_run({**base, "source": source, "binder_url": "javascript:alert(1)"})
        assert made["binder_url"] == url
        for bad in (
            {"repo_url": "/srv/git/evals", "ref": "main", "path": "a.ipynb"},
            {"repo_url": "https://github.com/example/evals", "ref": "main", "path": "../a.ipynb"},
        ):
            with pytest.raises(InvalidRequest) as err:
                client.create_eval_run({**base, "source": bad})
            assert err.value.code == "InvalidBinderSource"
        with pytest.raises(InvalidRequest):
            client.create_eval_run({**base, "source": {"ref": "main"}})


# -- binder/ as repo2docker sees it ------------------------------------------------------------


def test_repo2docker_accepts_the_binder_folder() -> None:
    """``jupyter-repo2docker --no-build --debug .`` renders the Dockerfile without a Docker
    engine; our install, postBuild and start must be in it, in that order."""
    r2d = Path(sys.executable).with_name("jupyter-repo2docker")
    assert r2d.exists(), "jupyter-repo2docker comes with the test extra"
    out = subprocess.run(
        [str(r2d), "--no-build", "--debug", "."], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout + out.stderr
    assert "Building conda environment for python=3.11" in text  # binder/runtime.txt
    lines = text.splitlines()

    def at(fragment: str) -> int:
        return next(i for i, line in enumerate(lines) if fragment in line)

    # requirements.txt installs `.`, so repo2docker copies the repository before it.
    copy_repo = at("COPY --chown=0:0 src/ ${REPO_DIR}/")
    install = at('pip install --no-cache-dir -r "binder/requirements.txt"')
    post_build = at("RUN ./binder/postBuild")
    start = at('ENV R2D_ENTRYPOINT="${REPO_DIR}/binder/start"')
    assert copy_repo < install < post_build < start
    for name in ("postBuild", "start"):
        assert os.access(ROOT / "binder" / name, os.X_OK), f"binder/{name} must be executable"
    assert (ROOT / "binder" / "start").read_text().rstrip().endswith('exec "$@"')
    requirements = (ROOT / "binder" / "requirements.txt").read_text()
    assert "-c ../constraints.txt" in requirements and "torch==2.13.0" in requirements


def test_readme_has_the_binder_badge() -> None:
    """The badge opens this repository's quickstart in JupyterLab, as wb.binder_url builds it."""
    import re

    readme = (ROOT / "README.md").read_text()
    badge = re.search(
        r"\[!\[Open in Binder\]\(https://mybinder.org/badge_logo.svg\)\]"
        r"\((https://mybinder.org/v2/gh/([\w.-]+)/([\w.-]+)/[^)]+)\)",
        readme,
    )
    assert badge, "README.md has no Binder badge"
    url, owner, repo = badge.groups()
    assert url == wb.binder_url(f"https://github.com/{owner}/{repo}", notebook="notebooks/quickstart.ipynb")
    assert (ROOT / "notebooks" / "quickstart.ipynb").is_file()
