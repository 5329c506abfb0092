"""A full xorb of incompressible chunks is accepted.

hf_xet fills a xorb with up to 64 MiB of chunk content; serialized, with an 8-byte header per
chunk, a full xorb of random bytes is larger than that. The hub once capped the body at
64 MiB and answered 413 to a xorb close to full, which made Xet uploads of large random files
fail (the benchmark in bench/xet.py found it with a 1 GiB file).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from tests.support.hub import HubProcess
from tests.xet.cas_client import auth, create_repo
from tests.xet.test_cas import _token
from workbench.xet.hashing import chunk_hash, hash_to_hex, xorb_hash
from workbench.xet.xorb import MAX_XORB_SIZE, parse_xorb

CHUNK = 64 * 1024


def full_xorb() -> tuple[str, bytes]:
    """MAX_XORB_SIZE bytes of random chunks, stored uncompressed (scheme 0), and its hash."""
    records, pairs = [], []
    for _ in range(MAX_XORB_SIZE // CHUNK):
        data = os.urandom(CHUNK)
        size = len(data).to_bytes(3, "little")
        records.append(b"\x00" + size + b"\x00" + size + data)
        pairs.append((chunk_hash(data), len(data)))
    return hash_to_hex(xorb_hash(pairs)), b"".join(records)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    proc = HubProcess(tmp_path_factory.mktemp("full-xorb-hub")).start()
    yield proc
    proc.stop()


def test_a_full_xorb_of_random_chunks_is_accepted(hub: HubProcess) -> None:
    name, body = full_xorb()
    assert len(body) > MAX_XORB_SIZE
    assert len(parse_xorb(body).chunks) == MAX_XORB_SIZE // CHUNK
    repo_id = create_repo(hub, "full-xorb")
    token = str(_token(hub, repo_id, "write")["accessToken"])
    r = httpx.post(f"{hub.url}/v1/xorbs/default/{name}", headers=auth(token), content=body, timeout=120)
    assert r.status_code == 200, r.text
    assert r.json() == {"was_inserted": True}


def test_a_body_past_the_serialized_limit_is_refused(hub: HubProcess) -> None:
    repo_id = create_repo(hub, "too-big-xorb")
    token = str(_token(hub, repo_id, "write")["accessToken"])
    body = b"\x00" * (MAX_XORB_SIZE + 2 * 1024 * 1024)
    r = httpx.post(f"{hub.url}/v1/xorbs/default/{'0' * 64}", headers=auth(token), content=body, timeout=120)
    assert r.status_code == 413, r.text
