"""Run in a fresh process with HF_HUB_DISABLE_XET=1: the stock client's git-LFS path.

Usage: python -m tests.scenarios.lfs_upload REPO_ID WORKDIR; prints one JSON line of results.
"""

import hashlib
import json
import os
import sys
from pathlib import Path

from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.utils._runtime import is_xet_available


def main() -> None:
    repo_id, work = sys.argv[1], Path(sys.argv[2])
    assert os.environ["HF_HUB_DISABLE_XET"] == "1" and not is_xet_available()
    # Announcing git-LFS makes preupload answer `lfs` for large and binary files.
    api = HfApi(headers={"X-Workbench-Lfs": "1"})
    results: dict[str, object] = {}
    single = os.urandom(3 * 1024 * 1024)  # below the multipart chunk: one signed PUT
    api.upload_file(path_or_fileobj=single, path_in_repo="single.bin", repo_id=repo_id)
    multi_path = work / "multi.bin"
    multi_path.write_bytes(os.urandom(13 * 1024 * 1024))  # 3 parts of 5 MiB on this hub
    folder = work / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "t.txt").write_text("text")
    (folder / "weights.safetensors").write_bytes(os.urandom(100_000))
    api.upload_file(path_or_fileobj=str(multi_path), path_in_repo="multi.bin", repo_id=repo_id)
    api.upload_folder(folder_path=folder, repo_id=repo_id, path_in_repo="f")
    head = api.model_info(repo_id).sha
    api.upload_file(path_or_fileobj=str(multi_path), path_in_repo="multi.bin", repo_id=repo_id)
    results["noop_reupload"] = api.model_info(repo_id).sha == head
    infos = {
        e.path: e
        for e in api.get_paths_info(
            repo_id, ["single.bin", "multi.bin", "f/weights.safetensors", "f/sub/t.txt"]
        )
    }
    results["lfs"] = {p: e.lfs is not None for p, e in infos.items()}
    ok = {}
    for path, data in [("single.bin", single), ("multi.bin", multi_path.read_bytes())]:
        got = Path(hf_hub_download(repo_id, path, cache_dir=work / "cache")).read_bytes()
        ok[path] = hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()
    results["downloads_match"] = ok
    print(json.dumps(results))


if __name__ == "__main__":
    main()
