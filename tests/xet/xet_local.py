"""Real Xet objects made by the stock client (hf_xet) with its local CAS, for format tests.

hf_xet writes the xorbs and shards of an upload to a folder when its endpoint is
``local://<folder>``; the tests parse those bytes with Workbench's code and compare the hashes
with the ones hf_xet reported.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class LocalUpload:
    data: bytes
    file_hash: str  # as hf_xet reports it
    xorbs: dict[str, bytes]  # hex hash from hf_xet's file name -> bytes as stored
    shards: list[bytes]


def upload_locally(data: bytes, folder: Path, *, compression: str | None = None) -> LocalUpload:
    """Upload ``data`` with hf_xet into ``folder`` and return what it wrote."""
    import hf_xet

    config = hf_xet.XetConfig()
    if compression is not None:
        config = config.with_config("xorb.compression_policy", compression)
    session = hf_xet.XetSession(config)
    commit = session.new_upload_commit(
        endpoint=f"local://{folder}", token="local", token_expiry_unix_secs=int(time.time()) + 3600
    )
    handle = commit.start_upload_bytes(data)
    commit.wait_to_finish()
    file_hash = handle.result().xet_info.hash
    xorbs = {
        p.name.split(".", 1)[1]: p.read_bytes()
        for p in (folder / "xet" / "xorbs" / "xorbs").glob("default.*")
        if not p.name.endswith(".tagset")
    }
    shards = [p.read_bytes() for p in (folder / "xet" / "xorbs" / "shards").glob("*.mdb")]
    return LocalUpload(data=data, file_hash=file_hash, xorbs=xorbs, shards=shards)
