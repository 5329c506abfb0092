"""Binder links: the mybinder.org URL that opens a notebook of a Git repository in JupyterLab.

Binder builds an image from a public Git repository (with repo2docker, from its ``binder/``
folder) and opens it; the URL names the host's provider (``gh`` GitHub, ``gl`` GitLab, ``git``
any other host, by clone URL), the repository, the ref and the page to open.

>>> import workbench as wb
>>> wb.binder_url("https://github.com/acme/research", notebook="notebooks/train.ipynb")
'https://mybinder.org/v2/gh/acme/research/main?urlpath=lab/tree/notebooks/train.ipynb'
"""

from __future__ import annotations

import logging
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urlsplit

from workbench.errors import InvalidRequest

log = logging.getLogger(__name__)

BINDER = "https://mybinder.org"
BADGE_IMAGE = "https://mybinder.org/badge_logo.svg"
# scp-like SSH remotes, as `git clone` prints them: git@github.com:owner/repo.git
_SCP = re.compile(r"^(?:[\w.-]+@)?(?P<host>[\w.-]+\.[a-z]{2,}):(?P<path>[^/].*)$", re.I)
_SEGMENT = re.compile(r"^[\w.-]+$")


@dataclass(frozen=True)
class GitSource:
    """Where a file lives in a Git repository: clone URL (https), ref and path in the repo."""

    repo_url: str
    ref: str
    path: str | None = None

    def binder_url(self) -> str:
        return binder_url(self.repo_url, ref=self.ref, notebook=self.path)


def _fail(message: str) -> InvalidRequest:
    return InvalidRequest(message, code="InvalidBinderSource")


def _split_repo_url(repo_url: str) -> tuple[str, list[str]]:
    """``(host, path segments)`` of an https, ssh or scp-like Git URL, ``.git`` dropped."""
    if not isinstance(repo_url, str) or not repo_url.strip():
        raise _fail("repo_url must be the URL of a Git repository, e.g. https://github.com/OWNER/REPO.")
    text = repo_url.strip()
    scp = _SCP.match(text) if "://" not in text else None
    if scp:
        host, path = scp["host"], scp["path"]
    else:
        parts = urlsplit(text)
        if parts.scheme not in ("https", "http", "ssh", "git") or not parts.hostname:
            raise _fail(
                f"{repo_url!r} is not the URL of a repository on a Git host: give an "
                "https URL such as https://github.com/OWNER/REPO (Binder cannot "
                "build from local paths)."
            )
        if parts.query or parts.fragment:
            raise _fail(f"{repo_url!r} has a query or fragment; give the repository's URL only.")
        host, path = parts.hostname, parts.path
    segments = [s for s in path.strip("/").split("/") if s]
    if segments and segments[-1].endswith(".git"):
        segments[-1] = segments[-1][:-4]
    if len(segments) < 2 or not all(_SEGMENT.match(s) and s not in (".", "..") for s in segments):
        raise _fail(f"{repo_url!r} does not name a repository (OWNER/REPO after the host).")
    return host.lower(), segments


def _check_ref(ref: str) -> str:
    if (
        not isinstance(ref, str)
        or not ref
        or ref != ref.strip()
        or ".." in ref
        or any(c.isspace() or ord(c) < 32 or c in "~^:?*[\\" for c in ref)
    ):
        raise _fail(f"ref {ref!r} is not a valid Git branch, tag or commit name.")
    return ref


def _check_notebook(notebook: str) -> str:
    path = PurePosixPath(notebook) if isinstance(notebook, str) else None
    if (
        path is None
        or not notebook
        or notebook.startswith("/")
        or "\\" in notebook
        or any(p in ("..", ".") for p in path.parts)
        or any(ord(c) < 32 for c in notebook)
    ):
        raise _fail(
            f"notebook {notebook!r} must be a path relative to the repository's root, "
            "e.g. notebooks/train.ipynb."
        )
    return path.as_posix()


def binder_url(repo_url: str, *, ref: str = "main", notebook: str | None = None) -> str:
    """The mybinder.org URL that builds ``repo_url`` at ``ref`` and opens JupyterLab on
    ``notebook`` (a path in the repository; ``None`` opens JupyterLab's file browser).

    GitHub and GitLab repositories use Binder's providers for them; any other host is
    given by its clone URL. SSH remotes are turned into https, which Binder can clone.

    >>> binder_url("git@gitlab.com:team/sub/proj.git", ref="v1", notebook="a.ipynb")
    'https://mybinder.org/v2/gl/team%2Fsub%2Fproj/v1?urlpath=lab/tree/a.ipynb'
    """
    host, segments = _split_repo_url(repo_url)
    ref_part = quote(_check_ref(ref), safe="")
    if host in ("github.com", "www.github.com"):
        if len(segments) != 2:
            raise _fail(
                f"{repo_url!r}: a GitHub repository URL is https://github.com/OWNER/REPO "
                "(for a file, pass notebook=...)."
            )
        spec = f"gh/{segments[0]}/{segments[1]}/{ref_part}"
    elif host in ("gitlab.com", "www.gitlab.com"):
        spec = f"gl/{quote('/'.join(segments), safe='')}/{ref_part}"
    else:
        clone = f"https://{host}/{'/'.join(segments)}"
        spec = f"git/{quote(clone, safe='')}/{ref_part}"
    target = "lab" if notebook is None else f"lab/tree/{_check_notebook(notebook)}"
    return f"{BINDER}/v2/{spec}?urlpath={quote(target, safe='/')}"


def badge_markdown(url: str) -> str:
    """The "Open in Binder" badge for ``url``, as markdown."""
    return f"[![Open in Binder]({BADGE_IMAGE})]({url})"


def parse_source_url(source_url: str, *, ref: str | None = None) -> GitSource:
    """A repository URL, or a GitHub/GitLab URL of a file in one (``.../blob/REF/PATH``,
    ``.../-/blob/REF/PATH``), as a :class:`GitSource` (``ref`` defaults to ``main``)."""
    host, segments = _split_repo_url(source_url)
    path: str | None = None
    for marker in (["-", "blob"], ["blob"], ["-", "tree"], ["tree"]):
        n = len(marker)
        at = next((i for i in range(2, len(segments) - n) if segments[i : i + n] == marker), None)
        if at is not None:
            ref = ref or segments[at + n]
            rest = segments[at + n + 1 :]
            path = "/".join(rest) if rest and marker[-1] == "blob" else None
            segments = segments[:at]
            break
    repo = f"https://{host}/{'/'.join(segments)}"
    binder_url(repo, ref=ref or "main", notebook=path)  # validates all three
    return GitSource(repo, ref or "main", path)


def git_output(folder: Path, *args: str) -> str | None:
    """What ``git -C folder ARGS`` prints, stripped; None if git fails or prints nothing.

    >>> git_output(Path("/"), "rev-parse", "--show-toplevel") is None   # doctest: +SKIP
    True
    """
    try:
        out = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def detect_git_source(path: str | Path) -> GitSource | None:
    """The Git host that ``path``'s folder is a clone of, or ``None`` (no git, no remote,
    or a remote that is not on a host Binder can reach, such as a local path).

    The ref is the checked-out commit when a remote branch already contains it (so the link
    opens exactly this version), else the current branch.
    """
    file = Path(path).resolve()
    folder = file.parent
    top = git_output(folder, "rev-parse", "--show-toplevel")
    remote = git_output(folder, "remote", "get-url", "origin")
    if not top or not remote:
        return None
    try:
        rel = file.relative_to(Path(top).resolve()).as_posix()
        source = parse_source_url(remote)
    except (ValueError, InvalidRequest):
        return None
    head = git_output(folder, "rev-parse", "HEAD")
    ref = (
        head
        if head and git_output(folder, "branch", "-r", "--contains", head)
        else git_output(folder, "rev-parse", "--abbrev-ref", "HEAD")
    )
    if not ref or ref == "HEAD":
        return None
    return GitSource(source.repo_url, ref, rel)
