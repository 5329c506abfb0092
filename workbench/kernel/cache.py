"""The local cache of the kernel helpers: the one module that knows where things live.

Commits never change, so what a kernel downloads is kept per commit and never fetched
again. Beside the commits' folders, a repo's folder keeps which commit each revision named
when it was last asked (so loads can start while the hub is asked again, and go on while it
cannot be reached) and what ``wb.load_dataset`` converted (see
:mod:`workbench.kernel.converted`)::

    <root>/                              $XDG_CACHE_HOME/workbench/repos, or wb.connect(cache_dir=...)
      127.0.0.1_8765/                    one folder per hub: its host and port
        datasets/                        models/ datasets/ papers/ spaces/
          admin/iris-mini/               the repo id
            3f2a...e1/                   a commit (40 hex): its files, as in the repo
              data/train.parquet
              data/.train.parquet.unchecked   SHA-256 not checked yet (client.download)
            .refs/                       which commit each revision named when last asked
              main                       {"commit": "3f2a...", "info": {...}}
              v1%2E0                     the revision name, percent-quoted ('.' too)
            .converted/                  what wb.load_dataset converted, per commit
              3f2a...e1-<digest>.json    a record of converted.Memo

No commit id starts with a dot, so ``.refs`` and ``.converted`` never meet a commit.
Writes replace a whole file in one step (:func:`write_atomic`); a cache that cannot be
written only costs later loads their head start.

>>> cache = CacheLayout(default_cache_dir(), "http://127.0.0.1:8765")
>>> cache.commit("dataset", "admin/iris-mini", "3f2a")              # doctest: +ELLIPSIS
PosixPath('.../workbench/repos/127.0.0.1_8765/datasets/admin/iris-mini/3f2a')
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

log = logging.getLogger(__name__)

REFS = ".refs"
CONVERSIONS = ".converted"


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/workbench/repos`` (``~/.cache/workbench/repos``)."""
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "workbench" / "repos"


@dataclass(frozen=True)
class CacheLayout:
    """Where the files of one hub live under ``root``."""

    root: Path
    hub_url: str

    def repo(self, repo_type: str, repo_id: str) -> Path:
        """A repo's folder: its commits, ``.refs`` and ``.converted``."""
        host = urlsplit(self.hub_url).netloc.replace(":", "_") or "hub"
        return self.root / host / f"{repo_type}s" / repo_id

    def commit(self, repo_type: str, repo_id: str, commit: str) -> Path:
        """The folder of one commit's files (the repo's paths below it)."""
        return self.repo(repo_type, repo_id) / commit

    def ref(self, repo_type: str, repo_id: str, revision: str | None) -> Path:
        """The file that keeps which commit ``revision`` (default ``main``) named."""
        name = quote(revision or "main", safe="").replace(".", "%2E")
        return self.repo(repo_type, repo_id) / REFS / name

    def conversions(self, repo_type: str, repo_id: str) -> Path:
        """The folder of the records of what ``wb.load_dataset`` converted."""
        return self.repo(repo_type, repo_id) / CONVERSIONS


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` in the cache with ``text`` in one step (concurrent writers and readers
    see one whole version); a cache that cannot be written is logged, not raised."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        log.debug("cannot write %s to the cache: %s", path, exc)
