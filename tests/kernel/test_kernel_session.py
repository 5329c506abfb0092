"""wb.connect, pointing the HF libraries at the hub, wb.info and wb.inputs, on a real hub."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import workbench as wb
from tests.support.hub import HubProcess, free_port
from tests.support.kernel import seed_demo, unique
from workbench.config import UserConfig
from workbench.errors import AuthenticationError, HubUnreachable, InvalidRequest, RepoNotFound
from workbench.kernel import session

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def conn(hub: HubProcess, tmp_path_factory: pytest.TempPathFactory) -> wb.Connection:
    wb.clear_inputs()
    return wb.connect(hub.url, hub.token, cache_dir=tmp_path_factory.getbasetemp() / "wb-cache")


@pytest.fixture(scope="module")
def demo(hub: HubProcess) -> dict[str, str]:
    return seed_demo(hub)


def test_connect_explicit(conn: wb.Connection, hub: HubProcess) -> None:
    assert conn.url == hub.url and conn.token == hub.token and conn.user == "admin"
    assert wb.connection() is conn
    assert repr(conn) == f"Connection({hub.url!r}, user='admin')"
    assert "admin" in conn._repr_html_() and hub.url in conn._repr_html_()


def test_connect_points_imported_libraries_at_the_hub(conn: wb.Connection, hub: HubProcess) -> None:
    import datasets
    import evaluate
    import huggingface_hub
    from huggingface_hub import constants, hf_api

    assert os.environ["HF_ENDPOINT"] == hub.url
    assert os.environ["HF_UPDATE_DOWNLOAD_COUNTS"] == "0"
    assert os.environ["HF_HUB_DISABLE_TELEMETRY"] == "1"
    assert constants.ENDPOINT == hub.url
    assert constants.HUGGINGFACE_CO_URL_TEMPLATE.startswith(hub.url + "/{repo_id}/resolve/")
    assert "127.0.0.1" in constants.HF_URL_HOSTS
    assert hf_api.api.endpoint == hub.url
    assert datasets.config.HF_ENDPOINT == hub.url
    assert datasets.config.USE_PARQUET_EXPORT is False
    assert datasets.config.HF_UPDATE_DOWNLOAD_COUNTS is False
    assert evaluate.config.HUB_EVALUATE_URL.startswith(hub.url + "/spaces/")
    assert evaluate.config.HF_UPDATE_DOWNLOAD_COUNTS is False
    assert huggingface_hub.hf_hub_url("a/b", "x.txt").startswith(hub.url + "/a/b/resolve/")


def _python(code: str, env: dict[str, str]) -> dict:  # type: ignore[type-arg]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


REPORT = """
import json, os
import datasets, evaluate, huggingface_hub
from huggingface_hub import constants, hf_api
import workbench as wb
print(json.dumps({"hub": constants.ENDPOINT, "api": hf_api.api.endpoint,
                  "datasets": datasets.config.HF_ENDPOINT,
                  "parquet_export": datasets.config.USE_PARQUET_EXPORT,
                  "evaluate": evaluate.config.HUB_EVALUATE_URL,
                  "token": os.environ.get("HF_TOKEN"), "user": wb.connection().user}))
"""


def test_libraries_imported_after_connect_are_patched(hub: HubProcess, tmp_path: Path) -> None:
    """A fresh kernel: env from WORKBENCH_*, HF_ENDPOINT elsewhere, libraries imported later."""
    env = {
        **os.environ,
        "WORKBENCH_HUB_URL": hub.url,
        "WORKBENCH_TOKEN": hub.token,
        "HF_ENDPOINT": "https://huggingface.co",
        "XDG_CONFIG_HOME": str(tmp_path),
    }
    env.pop("HF_TOKEN", None)
    got = _python("import workbench as wb; wb.connect()\n" + REPORT, env)
    assert got == {
        "hub": hub.url,
        "api": hub.url,
        "datasets": hub.url,
        "parquet_export": False,
        "evaluate": f"{hub.url}/spaces/{{path}}/resolve/{{revision}}/{{name}}",
        "token": None,
        "user": "admin",
    }


def test_libraries_imported_before_connect_are_patched(hub: HubProcess, tmp_path: Path) -> None:
    env = {**os.environ, "HF_ENDPOINT": "https://huggingface.co", "XDG_CONFIG_HOME": str(tmp_path)}
    for name in ("HF_TOKEN", "WORKBENCH_HUB_URL", "WORKBENCH_TOKEN"):
        env.pop(name, None)
    code = (
        "import datasets, evaluate, huggingface_hub\nimport workbench as wb\n"
        f"wb.connect({hub.url!r}, {hub.token!r})\n" + REPORT
    )
    got = _python(code, env)
    assert (got["hub"], got["api"], got["datasets"]) == (hub.url, hub.url, hub.url)
    assert got["parquet_export"] is False and got["evaluate"].startswith(hub.url)
    assert got["token"] is None  # tokens are passed explicitly, never put in the environment


def test_precedence_env_then_user_config(
    hub: HubProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "workbench" / "config.json"
    config.parent.mkdir()
    config.write_text(json.dumps({"hub_url": hub.url, "token": hub.token}))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("WORKBENCH_HUB_URL", raising=False)
    monkeypatch.delenv("WORKBENCH_TOKEN", raising=False)
    from_config = wb.connect(cache_dir=tmp_path / "cache")
    assert (from_config.url, from_config.token, from_config.user) == (hub.url, hub.token, "admin")
    # The saved token belongs to the saved hub: another hub gets no token.
    other = f"http://127.0.0.1:{free_port()}"
    elsewhere = wb.connect(other, cache_dir=tmp_path / "cache")
    assert (elsewhere.url, elsewhere.token, elsewhere.user) == (other, None, None)
    monkeypatch.setenv("WORKBENCH_HUB_URL", other)
    monkeypatch.setenv("WORKBENCH_TOKEN", "wb_from_env")
    assert UserConfig.load().resolve() == (other, "wb_from_env")
    assert UserConfig.load().resolve(hub.url) == (hub.url, hub.token)  # the saved hub's own
    assert UserConfig.load().resolve(hub.url, "explicit") == (hub.url, "explicit")
    wb.connect(hub.url, hub.token)  # leave the session pointed at the test hub


def test_auto_connect_on_first_use(
    hub: HubProcess, demo: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(session, "_current", None)
    monkeypatch.setenv("WORKBENCH_HUB_URL", hub.url)
    monkeypatch.setenv("WORKBENCH_TOKEN", hub.token)
    info = wb.info(demo["model"])
    assert info.type == "model" and wb.connection().url == hub.url
    wb.connection().client.close()  # monkeypatch puts the previous connection back


def test_bad_token_and_unreachable_hub(hub: HubProcess) -> None:
    with pytest.raises(AuthenticationError, match="workbench login"):
        wb.connect(hub.url, "wb_not-a-real-token")
    with pytest.raises(HubUnreachable, match="workbench hub serve") as err:
        wb.connect(f"http://127.0.0.1:{free_port()}", "wb_token")
    assert isinstance(err.value, ConnectionError) and err.value.code == "HubUnreachable"
    wb.connect(hub.url, hub.token)


def test_info_of_each_type_and_its_display(conn: wb.Connection, demo: dict[str, str]) -> None:
    for kind, rid in demo.items():
        info = wb.info(rid)
        assert (info.id, info.type, info.private) == (rid, kind, False)
        assert len(info.sha or "") == 40 and info.files
        assert repr(info).startswith(f"RepoInfo({rid!r}, type={kind!r}")
        html = info._repr_html_()
        assert rid in html and "README.md" in html
    model = wb.info(demo["model"], type="model")
    assert {f["path"] for f in model.files} >= {"config.json", "model.safetensors"}
    assert model.card_data["license"] == "apache-2.0"
    assert "wb.load_model(&quot;admin/tiny-classifier&quot;)" in model._repr_html_()
    assert wb.info(demo["paper"]).title.startswith("TinyMLP")


def test_info_bad_input(conn: wb.Connection, demo: dict[str, str]) -> None:
    with pytest.raises(RepoNotFound, match=r"wb\.search\('nothing-here'\)"):
        wb.info("admin/nothing-here")
    with pytest.raises(InvalidRequest) as err:
        wb.info(demo["dataset"], type="model")
    assert err.value.code == "WrongRepoType" and "wb.load_dataset" in err.value.message
    with pytest.raises(InvalidRequest, match="namespace/name"):
        wb.info("no-slash")


def test_display_escapes_user_text(conn: wb.Connection) -> None:
    rid = unique("xss")
    title = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    card = (
        f"---\ntitle: '{title}'\ntags: ['<b>t</b>']\nlicense: mit\n---\n# <b>Hi</b>\n\n"
        "[click](javascript:alert(3)) and `<kbd>` in code\n"
    )
    conn.client.create_repo(rid)
    conn.client.upload(rid, {"README.md": card.encode()})
    html = wb.info(rid)._repr_html_()
    assert "<script>" not in html and "<img" not in html and "<b>t</b>" not in html
    assert "&lt;script&gt;" in html
    shown = wb.card(rid)
    assert "<b>Hi</b>" not in shown._repr_html_() and "&lt;b&gt;Hi" in shown._repr_html_()
    markdown = shown._repr_markdown_()
    assert "<b>Hi</b>" not in markdown and "](javascript:" not in markdown
    assert "`<kbd>`" in markdown  # code spans are left alone: the parser escapes them
    assert 'href="javascript' not in shown._repr_html_()
    paper = wb.Paper(
        "a/b",
        "0" * 40,
        "<i>T</i>",
        ["<b>A</b>"],
        "x < y",
        {"doi": "10.1234/x)[e](javascript:alert(1))"},
        {},
        None,
        None,
        "u",
    )
    assert "](javascript:" not in paper._repr_markdown_() and "<i>" not in paper._repr_html_()
    assert 'href="https://doi.org/10.1234/x%29%5Be%5D%28javascript' in paper._repr_html_()


def test_inputs_record_each_commit_once(conn: wb.Connection, demo: dict[str, str]) -> None:
    assert wb.inputs() == [] and "Nothing loaded" in wb.inputs()._repr_html_()
    wb.load_dataset(demo["dataset"], split="test")
    wb.load_dataset(demo["dataset"], split="train")
    wb.load_paper(demo["paper"])
    records = wb.inputs()
    sha = conn.client.revision_sha(demo["dataset"], type="dataset")
    assert [(r.repo, r.type) for r in records] == [(demo["dataset"], "dataset"), (demo["paper"], "paper")]
    assert records[0].commit == sha and records[0].via == "wb.load_dataset"
    assert records[0].hub == conn.url and records[0].revision is None
    assert sha[:12] in repr(records) and sha[:12] in records._repr_html_()
    assert records.to_dicts()[0]["commit"] == sha
    wb.clear_inputs()
    assert wb.inputs() == []
