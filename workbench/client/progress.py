"""The progress bars of uploads and downloads (tqdm, shown in notebooks and terminals).

>>> with progress_bar(True, 10 * 2**20, "Uploading") as bar:   # doctest: +SKIP
...     bar.update(2**20)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tqdm.auto import tqdm

BAR_MIN_BYTES = 8 * 1024 * 1024

#: Told ``(what, bytes done, bytes in all)`` as a transfer goes, instead of a bar: how a
#: caller that is not a terminal or a notebook (the lab's Publish) follows an upload.
ProgressCallback = Callable[[str, int, "int | None"], None]


class _Reporter:
    """A bar's ``update`` that tells a callback instead of drawing."""

    def __init__(self, callback: ProgressCallback, total: int | None, desc: str) -> None:
        self.callback, self.total, self.desc, self.n = callback, total, desc, 0

    def update(self, n: int) -> None:
        self.n += n
        self.callback(self.desc, self.n, self.total)

    def __enter__(self) -> _Reporter:
        self.callback(self.desc, 0, self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def progress_bar(
    enabled: bool | ProgressCallback, total: int | None, desc: str, *, force: bool = False
) -> Any:
    """A byte-counting bar, shown when ``enabled`` and the transfer is over
    :data:`BAR_MIN_BYTES` (or of unknown size, with ``force``); a callable ``enabled`` is
    told of every step instead."""
    if callable(enabled):
        return _Reporter(enabled, total, desc)
    shown = enabled and (force or (total or 0) > BAR_MIN_BYTES)
    return tqdm(
        total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, disable=not shown, leave=False
    )
