"""The hub's Xet token endpoints and CAS, driven by the stock client (hf_xet) and raw HTTP.

hf_xet uploads through the hub's write token and downloads through its read token; the bad
inputs of issue 29 that the CAS covers answer their status and store nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.hub import HubProcess
from tests.xet.cas_client import auth, create_repo, stock_download, stock_upload
from tests.xet.xet_local import LocalUpload, upload_locally
from workbench.xet.hashing import hash_to_hex
from workbench.xet.shard import parse_shard
from workbench.xet.xorb import chunk_content, parse_xorb


@pytest.fixture(scope="module")
def xet_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    proc = HubProcess(tmp_path_factory.mktemp("xet-hub")).start()
    yield proc
    proc.stop()


def _token(hub: HubProcess, repo_id: str, kind: str) -> dict[str, object]:
    r = httpx.get(f"{hub.url}/api/models/{repo_id}/xet-{kind}-token/main", headers=auth(hub.token))
    assert r.status_code == 200, r.text
    body = r.json()
    assert r.headers["X-Xet-Access-Token"] == body["accessToken"]
    assert r.headers["X-Xet-Cas-Url"] == body["casUrl"] == hub.url
    assert int(r.headers["X-Xet-Token-Expiration"]) == body["exp"] > time.time()
    return body


def test_stock_client_uploads_and_downloads_through_the_cas(xet_hub: HubProcess, tmp_path: Path) -> None:
    repo_id = create_repo(xet_hub, "xet-roundtrip")
    data = os.urandom(3 * 1024 * 1024) + b"compressible text\n" * 100_000
    file_hash = stock_upload(xet_hub, repo_id, data)
    assert stock_download(xet_hub, repo_id, file_hash, len(data), tmp_path / "out.bin") == data


def test_reconstruction_honours_range(xet_hub: HubProcess, tmp_path: Path) -> None:
    repo_id = create_repo(xet_hub, "xet-range")
    data = os.urandom(1024 * 1024)
    file_hash = stock_upload(xet_hub, repo_id, data)
    token = _token(xet_hub, repo_id, "read")["accessToken"]
    r = httpx.get(
        f"{xet_hub.url}/v1/reconstructions/{file_hash}",
        headers={**auth(str(token)), "Range": "bytes=300000-300099"},
    )
    assert r.status_code == 200, r.text
    plan = r.json()
    got = b""
    for term in plan["terms"]:
        [fetch] = [f for f in plan["fetch_info"][term["hash"]] if f["range"] == term["range"]]
        span = fetch["url_range"]
        raw = httpx.get(fetch["url"], headers={"Range": f"bytes={span['start']}-{span['end']}"})
        assert raw.status_code == 206
        parsed = parse_xorb(raw.content)
        got += b"".join(chunk_content(parsed.data, c.offset) for c in parsed.chunks)
    start = plan["offset_into_first_range"]
    assert got[start : start + 100] == data[300000:300100]
    # Xorb bytes are streamed with their length; a range past the xorb's end is refused.
    fetch = next(iter(plan["fetch_info"].values()))[0]
    end = fetch["url_range"]["end"]
    raw = httpx.get(fetch["url"], headers={"Range": f"bytes=0-{end}"})
    assert raw.status_code == 206 and int(raw.headers["Content-Length"]) == end + 1 == len(raw.content)
    past = httpx.get(fetch["url"], headers={"Range": f"bytes=0-{10**9}"})
    assert past.status_code == 416
    r = httpx.get(
        f"{xet_hub.url}/v1/reconstructions/{file_hash}",
        headers={**auth(str(token)), "Range": f"bytes={len(data)}-"},
    )
    assert r.status_code == 416


# --- bad input -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> LocalUpload:
    return upload_locally(os.urandom(700_000), tmp_path_factory.mktemp("cas"))


def _xorb_count(hub: HubProcess) -> int:
    import sqlite3

    with sqlite3.connect(hub.data / "hub.sqlite") as conn:
        return int(conn.execute("select count(*) from xet_xorbs").fetchone()[0])


def test_xorb_whose_hash_does_not_match_is_refused(xet_hub: HubProcess, local: LocalUpload) -> None:
    repo_id = create_repo(xet_hub, "xet-bad-xorb")
    token = str(_token(xet_hub, repo_id, "write")["accessToken"])
    name, body = next(iter(local.xorbs.items()))
    wrong = name[::-1]
    before = _xorb_count(xet_hub)
    r = httpx.post(f"{xet_hub.url}/v1/xorbs/default/{wrong}", headers=auth(token), content=body)
    assert r.status_code == 400 and r.headers["X-Error-Code"] == "IntegrityError"
    chunks = parse_xorb(body).data
    r = httpx.post(f"{xet_hub.url}/v1/xorbs/default/{name}", headers=auth(token), content=chunks[:-5])
    assert r.status_code == 400 and r.headers["X-Error-Code"] == "MalformedXorb"
    assert _xorb_count(xet_hub) == before
    r = httpx.post(f"{xet_hub.url}/v1/xorbs/default/{name}", headers=auth(token), content=body)
    assert r.status_code == 200 and r.json() == {"was_inserted": True}
    assert _xorb_count(xet_hub) == before + 1
    r = httpx.post(f"{xet_hub.url}/v1/xorbs/default/{name}", headers=auth(token), content=body)
    assert r.json() == {"was_inserted": False}


def test_shard_needing_a_missing_xorb_or_chunk_is_refused(
    xet_hub: HubProcess, local: LocalUpload, tmp_path: Path
) -> None:
    repo_id = create_repo(xet_hub, "xet-bad-shard")
    token = str(_token(xet_hub, repo_id, "write")["accessToken"])
    [shard] = local.shards
    [file] = parse_shard(shard).files
    # A shard whose xorb was never uploaded to this hub.
    [fresh_shard] = upload_locally(os.urandom(300_000), tmp_path / "cas").shards
    r = httpx.post(f"{xet_hub.url}/v1/shards", headers=auth(token), content=fresh_shard)
    assert r.status_code == 400 and r.headers["X-Error-Code"] == "XorbNotFound"
    # Out-of-range chunk: patch the first term's chunk end past the xorb's chunk count.
    for name, body in local.xorbs.items():
        httpx.post(f"{xet_hub.url}/v1/xorbs/default/{name}", headers=auth(token), content=body)
    term_offset = 48 + 48  # header, then the file's header block
    patched = bytearray(shard)
    end_at = term_offset + 32 + 12
    patched[end_at : end_at + 4] = (file.terms[0].end + 50).to_bytes(4, "little")
    r = httpx.post(f"{xet_hub.url}/v1/shards", headers=auth(token), content=bytes(patched))
    assert r.status_code == 400 and r.headers["X-Error-Code"] == "ChunkRangeOutOfBounds"
    r = httpx.post(f"{xet_hub.url}/v1/shards", headers=auth(token), content=shard[:100])
    assert r.status_code == 400 and r.headers["X-Error-Code"] == "MalformedShard"
    read = str(_token(xet_hub, repo_id, "read")["accessToken"])
    r = httpx.get(f"{xet_hub.url}/v1/reconstructions/{local.file_hash}", headers=auth(read))
    assert r.status_code == 404  # nothing was registered
    r = httpx.post(f"{xet_hub.url}/v1/shards", headers=auth(token), content=shard)
    assert r.status_code == 200, r.text
    r = httpx.get(f"{xet_hub.url}/v1/reconstructions/{local.file_hash}", headers=auth(read))
    assert r.status_code == 200
    assert sum(t["unpacked_length"] for t in r.json()["terms"]) == len(local.data)
    assert hash_to_hex(file.file_hash) == local.file_hash


def test_shard_must_prove_it_holds_the_chunks(xet_hub: HubProcess, tmp_path: Path) -> None:
    """A shard naming a range of a xorb it did not upload must carry every term's verification
    hash and the right file hash; a wrong one is refused without being told the right one."""
    owner = create_repo(xet_hub, "xet-proof-owner", private=True)
    local = upload_locally(os.urandom(400_000), tmp_path / "cas")
    stock_upload(xet_hub, owner, local.data)  # the hub now holds the xorb
    [shard] = local.shards
    [file] = parse_shard(shard).files
    thief = create_repo(xet_hub, "xet-proof-thief")
    token = str(_token(xet_hub, thief, "write")["accessToken"])
    # Without verification entries: the flag cleared and the entries cut out.
    header = 48
    count = len(file.terms)
    flags = int.from_bytes(shard[header + 32 : header + 36], "little")
    stripped = bytearray(shard)
    stripped[header + 32 : header + 36] = (flags & ~(1 << 31)).to_bytes(4, "little")
    terms_end = header + 48 + 48 * count
    del stripped[terms_end : terms_end + 48 * count]
    r = httpx.post(f"{xet_hub.url}/v1/shards", headers=auth(token), content=bytes(stripped))
    assert r.status_code == 400 and r.headers["X-Error-Code"] == "MissingVerification", r.text
    # A wrong file hash: refused, and the answer does not give the right one away.
    wrong = bytearray(shard)
    wrong[header] ^= 0xFF
    r = httpx.post(f"{xet_hub.url}/v1/shards", headers=auth(token), content=bytes(wrong))
    assert r.status_code == 400 and r.headers["X-Error-Code"] == "IntegrityError", r.text
    assert local.file_hash not in r.text and file.file_hash.hex() not in r.text
    read = str(_token(xet_hub, thief, "read")["accessToken"])
    r = httpx.get(f"{xet_hub.url}/v1/reconstructions/{local.file_hash}", headers=auth(read))
    assert r.status_code == 404


def test_tokens_are_scoped_and_expire(xet_hub: HubProcess, local: LocalUpload) -> None:
    mine = create_repo(xet_hub, "xet-scope-a")
    other = create_repo(xet_hub, "xet-scope-b")
    write = str(_token(xet_hub, mine, "write")["accessToken"])
    read_other = str(_token(xet_hub, other, "read")["accessToken"])
    for name, body in local.xorbs.items():
        httpx.post(f"{xet_hub.url}/v1/xorbs/default/{name}", headers=auth(write), content=body)
    [shard] = local.shards
    assert httpx.post(f"{xet_hub.url}/v1/shards", headers=auth(write), content=shard).status_code == 200
    # A read token for another repo does not reach this repo's file.
    r = httpx.get(f"{xet_hub.url}/v1/reconstructions/{local.file_hash}", headers=auth(read_other))
    assert r.status_code == 404
    # A read token cannot upload.
    name, body = next(iter(local.xorbs.items()))
    r = httpx.post(f"{xet_hub.url}/v1/xorbs/default/{name}", headers=auth(read_other), content=body)
    assert r.status_code == 403
    # No token, a forged one, an expired one: 401.
    for headers in ({}, auth("xet1.Zm9v.00"), auth(write[:-4] + "0000")):
        r = httpx.post(f"{xet_hub.url}/v1/shards", headers=headers, content=shard)
        assert r.status_code == 401
    from workbench.hub.signing import Signer
    from workbench.hub.xet_tokens import check, issue

    signer = Signer(b"k" * 32)
    old = issue(signer, "write", 1, expires=int(time.time()) - 1)
    with pytest.raises(Exception, match="expired"):
        check(signer, old)
    # Hub tokens of someone who may not write get no write token.
    r = httpx.get(f"{xet_hub.url}/api/models/{mine}/xet-write-token/main")
    assert r.status_code in (401, 403, 404)
