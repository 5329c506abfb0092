"""``workbench hub usage`` and ``workbench hub quota`` against a real hub and the stock HfApi."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError

from tests.support.hub import HubProcess


def test_usage_and_quota(hub_factory) -> None:  # type: ignore[no-untyped-def]
    h: HubProcess = hub_factory(env={"WORKBENCH_BUILTIN_METRICS": "false"})
    api = HfApi(endpoint=h.url, token=h.token)
    api.create_repo("admin/q")
    api.upload_file(path_or_fileobj=b"x" * 1000, path_in_repo="a.txt", repo_id="admin/q")
    api.create_repo("admin/other")
    api.upload_file(path_or_fileobj=b"x" * 1000, path_in_repo="same.txt", repo_id="admin/other")
    base = sum(f.size for f in api.model_info("admin/q", files_metadata=True).siblings or [])
    assert api.model_info("admin/q").used_storage == base  # .gitattributes and a.txt
    assert api.model_info("admin/q", revision="main").used_storage == base
    other = api.model_info("admin/other").used_storage
    assert other is not None and other >= 1000
    h.cli("hub", "org", "create", "acme", "--owner", "admin")

    r = h.cli("hub", "usage", "--help")
    assert "--namespace" in r.stdout and "--json" in r.stdout
    rows = {row["namespace"]: row for row in json.loads(h.cli("hub", "usage", "--json").stdout)}
    assert rows["admin"] == {
        "namespace": "admin",
        "kind": "user",
        "repos": 2,
        "bytes": base + other,
        "quota": None,
    }
    assert rows["acme"]["bytes"] == 0
    table = h.cli("hub", "usage").stdout.splitlines()
    assert table[0].split() == ["NAMESPACE", "KIND", "REPOS", "BYTES", "QUOTA"]
    assert table[1].split() == ["admin", "user", "2", str(base + other)]
    one = json.loads(h.cli("hub", "usage", "--namespace", "admin", "--json").stdout)
    assert one["bytes"] == base + other and one["quota"] is None
    assert {r["repo"]: r["bytes"] for r in one["repos"]} == {"admin/q": base, "admin/other": other}
    r = h.cli("hub", "usage", "--namespace", "admin")
    assert "admin/q" in r.stdout and f"total {base + other} bytes in 2 repos; quota none" in r.stdout

    limit = base + other + 500
    assert (
        h.cli("hub", "quota", "set", "admin", f"{limit}B").stdout.strip() == f"quota of admin: {limit} bytes"
    )
    head = api.model_info("admin/q").sha
    with pytest.raises(HfHubHTTPError) as caught:  # inline
        api.upload_file(path_or_fileobj=b"y" * 600, path_in_repo="big.txt", repo_id="admin/q")
    assert caught.value.response.status_code == 413
    assert caught.value.response.headers["X-Error-Code"] == "QuotaExceeded"
    message = caught.value.response.headers["X-Error-Message"]
    assert all(
        s in message for s in ("'admin'", f"{limit:,} bytes", f"{base + other:,} bytes", "adds 600 bytes")
    )
    with pytest.raises(HfHubHTTPError) as caught:  # LFS
        api.upload_file(path_or_fileobj=b"z" * 2000, path_in_repo="w.bin", repo_id="admin/q")
    assert caught.value.response.status_code == 413
    # a client that skips preupload meets the same refusal at the commit
    header = {"key": "header", "value": {"summary": "raw"}}
    file = {"key": "file", "value": {"path": "raw.txt", "encoding": "base64", "content": "eXl5" * 200}}
    r = httpx.post(
        f"{h.url}/api/models/admin/q/commit/main",
        content="\n".join(json.dumps(line) for line in (header, file)),
        headers={"Authorization": f"Bearer {h.token}", "Content-Type": "application/x-ndjson"},
    )
    assert (r.status_code, r.headers["X-Error-Code"]) == (413, "QuotaExceeded")
    assert "adds 600 bytes" in r.headers["X-Error-Message"]
    # so does one that asks the git-LFS batch API directly: refused before any byte travels
    oid = hashlib.sha256(b"q" * 2000).hexdigest()
    batch = {"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": 2000}]}
    r = httpx.post(
        f"{h.url}/admin/q.git/info/lfs/objects/batch",
        json=batch,
        headers={"Authorization": f"Bearer {h.token}", "Accept": "application/vnd.git-lfs+json"},
    )
    assert (r.status_code, r.headers["X-Error-Code"]) == (413, "QuotaExceeded")
    assert "adds 2,000 bytes" in r.headers["X-Error-Message"]
    assert api.model_info("admin/q").sha == head
    assert {f.rfilename for f in api.model_info("admin/q").siblings or []} == {".gitattributes", "a.txt"}
    assert json.loads(h.cli("hub", "usage", "--namespace", "admin", "--json").stdout)["quota"] == limit

    api.upload_file(path_or_fileobj=b"y" * 400, path_in_repo="small.txt", repo_id="admin/q")  # fits
    api.delete_file("small.txt", repo_id="admin/q")  # deleting always works
    api.create_commit(  # replaces a.txt by one as large: adds nothing
        "admin/q", [CommitOperationAdd("a.txt", b"w" * 1000)], commit_message="same size"
    )

    assert h.cli("hub", "quota", "clear", "admin").stdout.strip() == "quota of admin: none"
    r = httpx.post(
        f"{h.url}/admin/q.git/info/lfs/objects/batch",
        json=batch,
        headers={"Authorization": f"Bearer {h.token}", "Accept": "application/vnd.git-lfs+json"},
    )
    assert r.status_code == 200 and "upload" in r.json()["objects"][0]["actions"]
    api.upload_file(path_or_fileobj=b"z" * 2000, path_in_repo="w.bin", repo_id="admin/q")
    assert api.model_info("admin/q").used_storage == base + 2000

    r = h.cli("hub", "quota", "set", "admin", "lots", check=False)
    assert r.returncode == 2 and "is not a size" in r.stderr
    r = h.cli("hub", "quota", "set", "nobody", "1GB", check=False)
    assert r.returncode == 1 and "No user or organization named 'nobody'" in r.stderr
    r = h.cli("hub", "usage", "--namespace", "nobody", check=False)
    assert r.returncode == 1 and "No user or organization named 'nobody'" in r.stderr


def test_quota_at_merge_and_move(hub_factory) -> None:  # type: ignore[no-untyped-def]
    # the two other ways files arrive in a namespace: merging a pull request, moving a repo in
    h: HubProcess = hub_factory(env={"WORKBENCH_BUILTIN_METRICS": "false"})
    api = HfApi(endpoint=h.url, token=h.token)
    api.create_repo("admin/m")
    pr = api.upload_file(
        path_or_fileobj=b"p" * 5000, path_in_repo="pr.bin", repo_id="admin/m", create_pr=True
    ).pr_num
    assert pr is not None
    used = api.model_info("admin/m").used_storage
    assert used is not None
    h.cli("hub", "quota", "set", "admin", f"{used + 1000}B")
    head = api.model_info("admin/m").sha
    with pytest.raises(HfHubHTTPError) as caught:
        api.merge_pull_request("admin/m", pr)
    assert (caught.value.response.status_code, caught.value.response.headers["X-Error-Code"]) == (
        413,
        "QuotaExceeded",
    )
    assert "adds 5,000 bytes" in caught.value.response.headers["X-Error-Message"]
    assert api.model_info("admin/m").sha == head  # nothing merged
    assert api.get_discussion_details("admin/m", pr).status == "open"
    h.cli("hub", "quota", "clear", "admin")
    api.merge_pull_request("admin/m", pr)
    assert api.model_info("admin/m").used_storage == used + 5000

    h.cli("hub", "org", "create", "acme", "--owner", "admin")
    h.cli("hub", "quota", "set", "acme", "4KB")
    with pytest.raises(HfHubHTTPError) as caught:
        api.move_repo("admin/m", "acme/m")
    assert caught.value.response.headers["X-Error-Code"] == "QuotaExceeded"
    assert "'acme'" in caught.value.response.headers["X-Error-Message"]
    assert api.model_info("admin/m").sha  # still where it was
    assert not api.repo_exists("acme/m")
    api.move_repo("admin/m", "admin/renamed")  # within a namespace: nothing added
    h.cli("hub", "quota", "set", "acme", "1MB")
    api.move_repo("admin/renamed", "acme/m")
    assert api.model_info("acme/m").used_storage == used + 5000
