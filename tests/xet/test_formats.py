"""Xet hashing, xorb and shard parsing, checked against the bytes and hashes of real hf_xet."""

from __future__ import annotations

import hashlib
import os
import random
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.xet.xet_local import LocalUpload, upload_locally
from workbench.errors import IntegrityError, InvalidRequest
from workbench.xet.blake3 import keyed_hash
from workbench.xet.hashing import (
    file_hash,
    hash_to_hex,
    hex_to_hash,
    range_verification_hash,
)
from workbench.xet.shard import parse_shard
from workbench.xet.xorb import parse_xorb, verify_xorb


@contextmanager
def raises_code(code: str, match: str | None = None) -> Iterator[None]:
    """Like ``pytest.raises(InvalidRequest)``, and the error carries ``code``."""
    with pytest.raises(InvalidRequest, match=match) as info:
        yield
    assert info.value.code == code


def _mixed_content(seed: int) -> bytes:
    rng = random.Random(seed)
    floats = struct.pack("<60000f", *(rng.gauss(0, 1) for _ in range(60000)))
    return rng.randbytes(400_000) + b"the same line again\n" * 20_000 + floats


@pytest.fixture(scope="module", params=["none", "lz4", "bg4-lz4", "auto"])
def local(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> LocalUpload:
    folder = tmp_path_factory.mktemp(f"cas-{request.param}")
    return upload_locally(_mixed_content(7), folder, compression=request.param)


def test_hex_form_reverses_each_8_byte_word() -> None:
    # The example in the specification's "Converting Hashes to Strings".
    raw = bytes(range(32))
    text = hash_to_hex(raw)
    assert text == "07060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918"
    assert hex_to_hash(text) == raw


def test_keyed_blake3_matches_the_published_test_vector() -> None:
    # BLAKE3 test_vectors.json, keyed_hash of the empty input under the test key.
    key = b"whats the Elvish word for friend"
    assert keyed_hash(key, b"").hex() == ("92b2b75604ed3c761f9d6f62392c8a9227ad0ea3f09573e783f1498a4ed60d26")


def test_xorb_hash_recomputed_from_chunks_is_hf_xets(local: LocalUpload) -> None:
    assert local.xorbs
    for name, body in local.xorbs.items():
        parsed = parse_xorb(body)
        assert hash_to_hex(parsed.hash) == name
        verify_xorb(parsed, hex_to_hash(name))
        assert parsed.data == body[: parsed.size]


def test_file_hash_and_shard_match_hf_xet(local: LocalUpload) -> None:
    chunks = {}
    for name, body in local.xorbs.items():
        chunks[name] = parse_xorb(body).chunks
    [shard_body] = local.shards
    shard = parse_shard(shard_body)
    [file] = shard.files
    assert hash_to_hex(file.file_hash) == local.file_hash
    assert file.size == len(local.data)
    assert file.sha256 == hashlib.sha256(local.data).hexdigest()
    in_order = []
    for term in file.terms:
        xorb_chunks = chunks[hash_to_hex(term.xorb_hash)][term.start : term.end]
        assert sum(c.size for c in xorb_chunks) == term.size
        if term.verification is not None:
            assert term.verification == range_verification_hash([c.hash for c in xorb_chunks])
        in_order += [(c.hash, c.size) for c in xorb_chunks]
    assert hash_to_hex(file_hash(in_order)) == local.file_hash
    described = {hash_to_hex(x.xorb_hash): x for x in shard.xorbs}
    for name, parsed_chunks in chunks.items():
        assert [c.hash for c in described[name].chunks] == [c.hash for c in parsed_chunks]
        assert [c.size for c in described[name].chunks] == [c.size for c in parsed_chunks]


def test_hash_files_of_hf_xet_agrees_with_file_hash(tmp_path: Path) -> None:
    import hf_xet

    data = os.urandom(200_000) + bytes(300_000)
    upload = upload_locally(data, tmp_path / "cas")
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    [info] = hf_xet.hash_files([str(path)])
    assert info.hash == upload.file_hash


# --- bad input -------------------------------------------------------------------------


def _one(local: LocalUpload) -> tuple[str, bytes]:
    return next(iter(local.xorbs.items()))


def test_xorb_with_the_wrong_hash_is_an_integrity_error(local: LocalUpload) -> None:
    name, body = _one(local)
    other = hex_to_hash(name[::-1])
    with pytest.raises(IntegrityError):
        verify_xorb(parse_xorb(body), other)


def test_xorb_with_a_changed_byte_is_rejected(local: LocalUpload) -> None:
    name, body = _one(local)
    parsed = parse_xorb(body)
    damaged = bytearray(parsed.data)
    damaged[parsed.chunks[0].offset + 8 + 100] ^= 0xFF
    # Either the chunk no longer decompresses, or its content hashes differently.
    with pytest.raises((IntegrityError, InvalidRequest)):
        verify_xorb(parse_xorb(bytes(damaged)), hex_to_hash(name))


@pytest.mark.parametrize("cut", [1, 7, 9, 1000])
def test_truncated_xorb_is_malformed(local: LocalUpload, cut: int) -> None:
    _, body = _one(local)
    chunk_region = parse_xorb(body).data
    with raises_code("MalformedXorb", match="truncated"):
        parse_xorb(chunk_region[:-cut] if cut < len(chunk_region) else chunk_region[:3])


def test_empty_or_garbage_xorb_is_malformed() -> None:
    with raises_code("MalformedXorb"):
        parse_xorb(b"")
    with raises_code("MalformedXorb"):
        parse_xorb(b"\x07" * 64)


def test_truncated_or_foreign_shard_is_malformed(local: LocalUpload) -> None:
    [body] = local.shards
    for cut in (len(body) - 10, 200, 47):
        with raises_code("MalformedShard"):
            parse_shard(body[:cut])
    with raises_code("MalformedShard", match="tag"):
        parse_shard(b"x" * 32 + body[32:])
