"""Which paths of an upload a repo's ``.gitignore`` leaves out, as the public hub's preupload
answers them (``shouldIgnore``).

The rules are the repo's ``.gitignore`` at the revision, or the one the client sends
(``gitIgnore``: a ``.gitignore`` that is part of the same commit); git's own matching rules,
through ``pathspec``. A stock client then leaves those files out of the commit.

>>> ignore = ignores("nested/*\\n")
>>> ignore("nested/a.bin"), ignore("a.bin"), ignore(".gitignore")
(True, False, False)
"""

from __future__ import annotations

from collections.abc import Callable

from pathspec import GitIgnoreSpec

GITIGNORE = ".gitignore"


def ignores(rules: str) -> Callable[[str], bool]:
    """Whether the ``.gitignore`` text ``rules`` ignores a path (never ``.gitignore`` itself)."""
    spec = GitIgnoreSpec.from_lines(rules.splitlines())
    return lambda path: path != GITIGNORE and spec.match_file(path)
