"""Global deduplication: a file that shares chunks with one uploaded elsewhere, by someone
else, from another machine, uploads only what is new, and the answers give no chunk hash away.

"Another machine" is an hf_xet session with its own shard cache: without the hub's answer it
knows nothing of the first upload and sends every byte again.
"""

from __future__ import annotations

import os
import sqlite3
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.hub import HubProcess
from tests.support.kernel import make_user
from tests.xet.cas_client import auth, create_repo, stock_download, stock_upload
from tests.xet.xet_local import upload_locally
from workbench.xet.blake3 import keyed_hash
from workbench.xet.hashing import dedup_eligible, hash_to_hex
from workbench.xet.shard import XorbChunkEntry, XorbInfo, parse_shard, write_xorb_shard
from workbench.xet.xorb import parse_xorb

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def dedup_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    proc = HubProcess(tmp_path_factory.mktemp("dedup-hub")).start()
    yield proc
    proc.stop()


def _stored_xorb_bytes(hub: HubProcess) -> int:
    with sqlite3.connect(hub.data / "hub.sqlite") as conn:
        return int(conn.execute("select coalesce(sum(size), 0) from xet_xorbs").fetchone()[0])


def _xet_token(hub: HubProcess, token: str, repo_id: str, kind: str) -> str:
    r = httpx.get(f"{hub.url}/api/models/{repo_id}/xet-{kind}-token/main", headers=auth(token))
    assert r.status_code == 200, r.text
    return str(r.json()["accessToken"])


def test_teammate_uploads_only_what_changed_from_elsewhere(dedup_hub: HubProcess, tmp_path: Path) -> None:
    alice_repo = create_repo(dedup_hub, "checkpoint", private=True)
    data = os.urandom(6 * MiB)
    stock_upload(dedup_hub, alice_repo, data, machine=f"alice-{time.time_ns()}")

    bob = make_user(dedup_hub)
    bob_repo = create_repo(dedup_hub, "finetune", token=bob.token, private=True)
    edited = data[: 3 * MiB] + os.urandom(64 * 1024) + data[3 * MiB :]
    before = _stored_xorb_bytes(dedup_hub)
    file_hash = stock_upload(dedup_hub, bob_repo, edited, token=bob.token, machine=f"bob-{time.time_ns()}")
    sent = _stored_xorb_bytes(dedup_hub) - before
    # The new 64 KiB and the chunks around the edit, not the 6 MiB again.
    assert sent < len(edited) // 10, sent
    got = stock_download(dedup_hub, bob_repo, file_hash, len(edited), tmp_path / "b.bin", token=bob.token)
    assert got == edited

    # The same upload from a third machine that does not ask the hub sends everything again:
    # the saving above came from the hub's answers.
    carol = make_user(dedup_hub)
    carol_repo = create_repo(dedup_hub, "finetune", token=carol.token, private=True)
    before = _stored_xorb_bytes(dedup_hub)
    again = data[: 3 * MiB] + os.urandom(64 * 1024) + data[3 * MiB :]
    machine = f"carol-{time.time_ns()}"
    stock_upload(dedup_hub, carol_repo, again, token=carol.token, machine=machine, ask_hub=False)
    assert _stored_xorb_bytes(dedup_hub) - before > len(data) * 0.9


def test_answers_hold_keyed_hashes_only_for_writers(dedup_hub: HubProcess, tmp_path: Path) -> None:
    data = os.urandom(2 * MiB)
    local = upload_locally(data, tmp_path / "local")
    [xorb] = [parse_xorb(body) for body in local.xorbs.values()]
    repo_id = create_repo(dedup_hub, "answers", private=True)
    stock_upload(dedup_hub, repo_id, data, machine=f"answers-{time.time_ns()}")
    first = hash_to_hex(xorb.chunks[0].hash)

    bob = make_user(dedup_hub)
    bob_repo = create_repo(dedup_hub, "answers", token=bob.token)
    write = _xet_token(dedup_hub, bob.token, bob_repo, "write")
    r = httpx.get(f"{dedup_hub.url}/v1/chunks/default/{first}", headers=auth(write))
    assert r.status_code == 200, r.text
    answer = parse_shard(r.content)
    assert answer.files == ()
    [described] = answer.xorbs
    assert described.xorb_hash == xorb.hash  # the xorb holding the file's first chunk
    _tag, _version, footer_size = struct.unpack("<32sQQ", r.content[:48])
    assert footer_size == 200
    footer = r.content[-footer_size:]
    key = footer[72:104]
    created, expires = struct.unpack("<QQ", footer[104:120])
    assert key != bytes(32) and created <= time.time() < expires
    # Every chunk hash is keyed: the answer holds none of the real ones, only what a client
    # that has the chunk can compute itself.
    real = [c.hash for c in xorb.chunks]
    assert not set(real) & {c.hash for c in described.chunks}
    assert [c.hash for c in described.chunks] == [keyed_hash(key, h) for h in real]
    assert [c.size for c in described.chunks] == [c.size for c in xorb.chunks]

    # A read token (anyone who can read a public repo has one) gets no answer; neither does an
    # unknown chunk or a hash that is not one.
    read = _xet_token(dedup_hub, bob.token, bob_repo, "read")
    assert httpx.get(f"{dedup_hub.url}/v1/chunks/default/{first}", headers=auth(read)).status_code == 403
    unknown = hash_to_hex(os.urandom(32))
    assert httpx.get(f"{dedup_hub.url}/v1/chunks/default/{unknown}", headers=auth(write)).status_code == 404
    assert httpx.get(f"{dedup_hub.url}/v1/chunks/default/nothex", headers=auth(write)).status_code == 400
    assert httpx.get(f"{dedup_hub.url}/v1/chunks/default/{first}").status_code == 401


def test_answer_describes_xorbs_as_hf_xet_does(tmp_path: Path) -> None:
    """Offsets and sizes in an answer's xorb section are those hf_xet writes in its own shards."""
    local = upload_locally(os.urandom(3 * MiB), tmp_path)
    [theirs] = [x for shard in local.shards for x in parse_shard(shard).xorbs]
    parsed = parse_xorb(local.xorbs[hash_to_hex(theirs.xorb_hash)])
    entries, position = [], 0
    for chunk in parsed.chunks:
        entries.append(XorbChunkEntry(chunk.hash, position, chunk.size))
        position += chunk.size
    ours = XorbInfo(theirs.xorb_hash, tuple(entries), position, parsed.size)
    key = os.urandom(32)
    [described] = parse_shard(write_xorb_shard([ours], key=key, created=1, expires=2)).xorbs
    assert [(c.offset, c.size) for c in described.chunks] == [(c.offset, c.size) for c in theirs.chunks]
    assert described.unpacked_size == theirs.unpacked_size
    assert [c.hash for c in described.chunks] == [keyed_hash(key, c.hash) for c in theirs.chunks]


def test_eligibility_is_the_last_word_mod_1024() -> None:
    assert dedup_eligible(bytes(24) + (1024 * 7).to_bytes(8, "little"))
    assert not dedup_eligible(bytes(24) + (1024 * 7 + 1).to_bytes(8, "little"))
