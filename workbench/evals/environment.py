"""The software environment of a run: Python, platform and every installed package's version.

>>> environment()["python"]                                   # doctest: +SKIP
'3.11.9'
"""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from typing import Any

# Shown first in records; the full list is in "packages".
KEY_PACKAGES = ("workbench", "torch", "numpy", "datasets", "evaluate", "papermill", "pandas")


def environment() -> dict[str, Any]:
    """Python, platform, CPU count, threads and ``{package: version}`` of this process."""
    packages: dict[str, str] = {}
    for dist in metadata.distributions():
        try:
            name = dist.metadata["Name"]
        except KeyError:  # Python 3.12+ raises for a missing field, 3.11 gives None
            continue
        if name:
            packages[name.lower()] = dist.version
    threads = None
    if "torch" in sys.modules:
        threads = sys.modules["torch"].get_num_threads()
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": threads,
        "key_packages": {k: packages[k] for k in KEY_PACKAGES if k in packages},
        "packages": dict(sorted(packages.items())),
    }
