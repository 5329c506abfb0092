"""The progress bars of uploads and downloads (tqdm, shown in notebooks and terminals).

>>> with progress_bar(True, 10 * 2**20, "Uploading") as bar:   # doctest: +SKIP
...     bar.update(2**20)
"""

from __future__ import annotations

from typing import Any

from tqdm.auto import tqdm

BAR_MIN_BYTES = 8 * 1024 * 1024


def progress_bar(enabled: bool, total: int | None, desc: str, *, force: bool = False) -> Any:
    """A byte-counting bar, shown when ``enabled`` and the transfer is over
    :data:`BAR_MIN_BYTES` (or of unknown size, with ``force``)."""
    shown = enabled and (force or (total or 0) > BAR_MIN_BYTES)
    return tqdm(
        total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, disable=not shown, leave=False
    )
