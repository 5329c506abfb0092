"""Run in a fresh process: the stock client uploads and downloads a repo's files.

Usage: ``python -m tests.xet.scenario_stock REPO_ID WORKDIR PREFIX SEED [PREFIX SEED ...]``
with ``HF_ENDPOINT`` and ``HF_TOKEN`` set, and ``HF_HUB_DISABLE_XET`` as the test wants (it
is read at import). Uploads files under the first PREFIX (contents drawn from SEED), then
downloads the whole repo with ``hf_hub_download`` and ``snapshot_download`` and compares
every file listed by the other PREFIX/SEED pairs too. Prints one JSON line of results,
including how many times the client's Xet and git-LFS transfer functions ran.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import huggingface_hub._commit_api as commit_api
import huggingface_hub.file_download as file_download
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from huggingface_hub.utils._runtime import is_xet_available

CALLS: Counter[str] = Counter()


def _count(module: Any, name: str) -> None:
    real: Callable[..., Any] = getattr(module, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        CALLS[name] += 1
        return real(*args, **kwargs)

    setattr(module, name, counted)


def files_for(prefix: str, seed: int) -> dict[str, bytes]:
    """The files one upload makes: large and small binaries, and small text."""
    rng = random.Random(seed)
    return {
        f"{prefix}/big.bin": rng.randbytes(12 * 1024 * 1024),
        f"{prefix}/folder/weights.safetensors": rng.randbytes(2 * 1024 * 1024),
        f"{prefix}/folder/blob.dat": b"\x00" + rng.randbytes(300_000),
        f"{prefix}/folder/notes.txt": f"notes {seed}\n".encode() * 10,
    }


def main() -> None:
    repo_id, work = sys.argv[1], Path(sys.argv[2])
    pairs = [(sys.argv[i], int(sys.argv[i + 1])) for i in range(3, len(sys.argv), 2)]
    for module, name in (
        (commit_api, "_upload_xet_files"),
        (commit_api, "_upload_lfs_files"),
        (file_download, "xet_get"),
        (file_download, "http_get"),
    ):
        _count(module, name)
    api = HfApi()
    prefix, seed = pairs[0]
    mine = files_for(prefix, seed)
    local = work / "upload"
    for path, data in mine.items():
        (local / path).parent.mkdir(parents=True, exist_ok=True)
        (local / path).write_bytes(data)
    api.upload_file(
        path_or_fileobj=str(local / prefix / "big.bin"), path_in_repo=f"{prefix}/big.bin", repo_id=repo_id
    )
    api.upload_folder(folder_path=local / prefix / "folder", path_in_repo=f"{prefix}/folder", repo_id=repo_id)
    upload_calls = dict(CALLS)
    CALLS.clear()
    expected = {p: d for pr, sd in pairs for p, d in files_for(pr, sd).items()}
    infos = {e.path: e for e in api.get_paths_info(repo_id, sorted(expected))}
    one = Path(hf_hub_download(repo_id, f"{prefix}/big.bin", cache_dir=work / "one"))
    snap = Path(snapshot_download(repo_id, cache_dir=work / "snap"))
    print(
        json.dumps(
            {
                "xet_available": is_xet_available(),
                "upload_calls": upload_calls,
                "download_calls": dict(CALLS),
                "lfs": {p: e.lfs is not None for p, e in infos.items()},
                "xet": {p: e.xet_hash is not None for p, e in infos.items()},
                "sha256_listed": all(
                    e.lfs is None or e.lfs.sha256 == hashlib.sha256(expected[p]).hexdigest()
                    for p, e in infos.items()
                ),
                "hf_hub_download_matches": one.read_bytes() == mine[f"{prefix}/big.bin"],
                "snapshot_matches": {p: (snap / p).read_bytes() == d for p, d in expected.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
