"""Notebook diffs (nbdime) on the compare endpoint and a pull request's details: cells added,
removed, moved and changed, the ignore flags, broken notebooks shown as text, outputs
sanitized."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

import httpx
import nbformat
from huggingface_hub import CommitOperationAdd, HfApi
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from tests.support.hub import HubProcess


def notebook(cells: list[Any], **meta: Any) -> bytes:
    nb = new_notebook(cells=cells, metadata=meta)
    return nbformat.writes(nb).encode()


def base_cells() -> list[Any]:
    return [
        new_markdown_cell("# Title", id="title"),
        new_code_cell("x = 1", id="setup", execution_count=1),
        new_code_cell(
            "print(x)",
            id="show",
            execution_count=2,
            outputs=[new_output("stream", name="stdout", text="1\n")],
        ),
        new_code_cell("y = 2", id="gone"),
        new_code_cell("z = 3", id="last", metadata={"tags": ["a"]}),
    ]


def put(api: HfApi, repo_id: str, path: str, data: bytes) -> str:
    return api.create_commit(repo_id, [CommitOperationAdd(path, data)], commit_message=f"put {path}").oid


def get(hub: HubProcess, path: str, **params: str) -> dict[str, Any]:
    """GET ``path`` of the hub as its admin; the answer must be 200."""
    auth = {"Authorization": f"Bearer {hub.token}"}
    r = httpx.get(hub.url + path, params=params, headers=auth, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def compare(hub: HubProcess, repo_id: str, a: str, b: str, **params: str) -> dict[str, Any]:
    return get(hub, f"/api/models/{repo_id}/compare/{a}/{b}", structured="1", **params)


def structured(answer: dict[str, Any], path: str) -> dict[str, Any]:
    return next(f["structured"] for f in answer["files"] if f["path"] == path)


def nbdime_patch(base: dict[str, Any], diff: list[dict[str, Any]]) -> dict[str, Any]:
    """``base`` patched with ``diff`` by nbdime, as its lab widgets rebuild the new side."""
    from nbdime import patch
    from nbdime.diff_utils import to_diffentry_dicts

    return patch(base, to_diffentry_dicts(diff))  # type: ignore[no-any-return]


def by_id(diff: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in diff["cells"]}


def edited() -> bytes:
    cells = base_cells()
    title, setup, show, _gone, last = cells
    setup.source = "x = 10"
    show.outputs = [new_output("stream", name="stdout", text="10\n")]
    show.execution_count = 3
    last.metadata = {"tags": ["b"]}
    added = new_code_cell("w = 4", id="fresh")
    return notebook([setup, title, show, added, last], authors=[{"name": "ada"}])


def test_cells_added_removed_moved_changed(api: HfApi, hub: HubProcess, repo_id: str) -> None:
    a = put(api, repo_id, "nb.ipynb", notebook(base_cells()))
    b = put(api, repo_id, "nb.ipynb", edited())
    diff = structured(compare(hub, repo_id, a, b), "nb.ipynb")
    assert diff["kind"] == "notebook"
    cells = by_id(diff)
    assert cells["fresh"]["change"] == "added" and cells["fresh"]["newIndex"] == 3
    assert cells["fresh"]["source"] == {"new": "w = 4"}
    assert cells["gone"]["change"] == "removed" and cells["gone"]["oldIndex"] == 3
    assert cells["gone"]["source"] == {"old": "y = 2"}
    setup = cells["setup"]  # moved above the title, and edited
    assert (setup["change"], setup["oldIndex"], setup["newIndex"]) == ("moved", 1, 0)
    assert setup["parts"] == ["source"] and setup["source"] == {"old": "x = 1", "new": "x = 10"}
    assert "title" not in cells
    show = cells["show"]
    assert show["change"] == "changed" and show["parts"] == ["outputs"]
    assert show["outputs"]["old"][0]["text"] == "1\n" and show["outputs"]["new"][0]["text"] == "10\n"
    last = cells["last"]
    assert last["parts"] == ["metadata"]
    assert last["metadata"] == [{"field": "tags", "change": "changed", "old": ["a"], "new": ["b"]}]
    assert diff["metadata"] == [{"field": "authors", "change": "added", "new": [{"name": "ada"}]}]
    assert diff["summary"] == {"added": 1, "removed": 1, "moved": 1, "changed": 2}
    json.dumps(diff)  # serializable as sent


def test_ignore_outputs_and_metadata(api: HfApi, hub: HubProcess, repo_id: str) -> None:
    a = put(api, repo_id, "nb.ipynb", notebook(base_cells()))
    b = put(api, repo_id, "nb.ipynb", edited())
    quiet = by_id(structured(compare(hub, repo_id, a, b, ignore_outputs="1"), "nb.ipynb"))
    assert "show" not in quiet  # only its outputs and execution count changed
    assert quiet["last"]["parts"] == ["metadata"]
    plain = structured(compare(hub, repo_id, a, b, ignore_metadata="true"), "nb.ipynb")
    cells = by_id(plain)
    assert "last" not in cells and plain["metadata"] == []
    assert cells["show"]["parts"] == ["outputs"]
    both = by_id(structured(compare(hub, repo_id, a, b, ignore_outputs="1", ignore_metadata="1"), "nb.ipynb"))
    assert set(both) == {"setup", "gone", "fresh"}


def test_new_and_deleted_notebook(api: HfApi, hub: HubProcess, repo_id: str) -> None:
    a = api.list_repo_commits(repo_id)[0].commit_id
    b = put(api, repo_id, "nb.ipynb", notebook(base_cells()))
    diff = structured(compare(hub, repo_id, a, b), "nb.ipynb")
    assert [c["change"] for c in diff["cells"]] == ["added"] * 5
    assert diff["cells"][2]["outputs"]["new"][0]["text"] == "1\n"
    back = structured(compare(hub, repo_id, b, a), "nb.ipynb")
    assert [c["change"] for c in back["cells"]] == ["removed"] * 5


def test_invalid_notebooks_are_text_with_a_notice(api: HfApi, hub: HubProcess, repo_id: str) -> None:
    a = put(api, repo_id, "nb.ipynb", notebook(base_cells()))
    b = put(api, repo_id, "nb.ipynb", b'{"cells": [oops')
    diff = structured(compare(hub, repo_id, a, b), "nb.ipynb")
    assert diff["kind"] == "text" and "not valid JSON" in diff["notice"]
    c = put(api, repo_id, "nb.ipynb", json.dumps({"cells": [], "metadata": {}}).encode())
    diff = structured(compare(hub, repo_id, a, c), "nb.ipynb")
    assert diff["kind"] == "text" and "nbformat" in diff["notice"]
    bad = json.loads(notebook(base_cells()))
    bad["cells"][0]["cell_type"] = "wizard"
    d = put(api, repo_id, "nb.ipynb", json.dumps(bad).encode())
    diff = structured(compare(hub, repo_id, a, d), "nb.ipynb")
    assert diff["kind"] == "text" and "not a valid nbformat 4 notebook" in diff["notice"]


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def test_outputs_are_sanitized(api: HfApi, hub: HubProcess, repo_id: str) -> None:
    a = put(api, repo_id, "nb.ipynb", notebook(base_cells()))
    evil = new_code_cell(
        "show()",
        id="evil",
        outputs=[
            new_output(
                "display_data",
                data={
                    "text/html": '<b>ok</b><script>alert(1)</script><img src=x onerror="alert(2)">',
                    "text/markdown": "<script>alert(3)</script> [x](javascript:alert(4))",
                    "application/javascript": "alert(5)",
                    "image/svg+xml": "<svg onload=alert(6)></svg>",
                    "text/plain": "<script>",
                },
            ),
            new_output("display_data", data={"application/javascript": "alert(7)"}),
        ],
    )
    b = put(api, repo_id, "nb.ipynb", notebook([*base_cells(), evil]))
    answer = compare(hub, repo_id, a, b)
    out = by_id(structured(answer, "nb.ipynb"))["evil"]["outputs"]["new"][0]
    assert out["omitted"] == ["application/javascript", "image/svg+xml"]
    assert out["data"]["text/plain"] == "<script>"  # text, shown as text
    html = out["data"]["text/html"]
    parser = Tags()
    parser.feed(html)
    tags = parser.found
    assert ("b", []) in tags
    assert all(tag not in ("script", "svg", "iframe") for tag, _ in tags), html
    assert not [a for _, attrs in tags for a, v in attrs if a.startswith("on") or "javascript:" in (v or "")]
    assert "alert(5)" not in json.dumps(answer) and "onload" not in json.dumps(answer)
    # what nbdime's widgets get is sanitized the same way, script types named in text/plain
    payload = structured(answer, "nb.ipynb")["nbdime"]
    text = json.dumps(payload).replace('"text/plain": "<script>"', "")  # text, shown as text
    assert "<script" not in text and "javascript:" not in text and "alert(7)" not in text
    first, second = nbdime_patch(payload["base"], payload["diff"])["cells"][-1]["outputs"]
    assert first["data"]["text/html"] == html and first["data"]["text/plain"] == "<script>"
    assert set(first["data"]) == {"text/html", "text/plain"}  # markdown: its HTML is the cell's
    assert second["data"] == {"text/plain": "(not shown: application/javascript)"}


def test_pull_request_details_carry_the_notebook_diff(api: HfApi, hub: HubProcess, repo_id: str) -> None:
    put(api, repo_id, "nb.ipynb", notebook(base_cells()))
    pr = api.create_commit(
        repo_id, [CommitOperationAdd("nb.ipynb", edited())], commit_message="edit", create_pr=True
    )
    num = int(pr.pr_url.rstrip("/").split("/")[-1])
    details = get(hub, f"/api/models/{repo_id}/discussions/{num}", structured="1", ignore_outputs="1")
    files = details["compare"]["files"]
    diff = next(f["structured"] for f in files if f["path"] == "nb.ipynb")
    assert diff["kind"] == "notebook" and "show" not in by_id(diff) and "fresh" in by_id(diff)
    plain = get(hub, f"/api/models/{repo_id}/discussions/{num}")
    assert "compare" not in plain


def test_cells_without_ids_move_by_source() -> None:
    """nbformat 4.4 notebooks have no cell ids: a cell is the same where type and source are."""
    from workbench.store.notebook_diff import notebook_diff

    def old_style(*sources: str) -> bytes:
        cells = [
            {"cell_type": "code", "source": src, "metadata": {}, "outputs": [], "execution_count": None}
            for src in sources
        ]
        return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 4}).encode()

    diff = notebook_diff("old.ipynb", old_style("a", "b", "c", "d"), old_style("d", "a", "b", "c"))
    assert [(c["change"], c["oldIndex"], c["newIndex"], c["id"]) for c in diff["cells"]] == [
        ("moved", 3, 0, None)
    ]


def test_outputs_changed_within_a_cell() -> None:
    """Outputs that differ but keep their types go through nbdime's output differ: the cell
    is changed and nbdime's payload carries the change."""
    from workbench.store.notebook_diff import notebook_diff

    def nb(text: str, table: str) -> bytes:
        cell = new_code_cell(
            "show()",
            id="c1",
            outputs=[
                new_output("stream", name="stdout", text=text),
                new_output("display_data", data={"text/html": table, "text/plain": "table"}),
            ],
            execution_count=1,
        )
        return nbformat.writes(new_notebook(cells=[cell])).encode()

    diff = notebook_diff(
        "x.ipynb",
        nb("loss 0.5\n", "<table><td>1</td></table>"),
        nb("loss 0.4\n", "<table><td>2</td></table>"),
    )
    assert [(c["change"], c["id"]) for c in diff["cells"]] == [("changed", "c1")]
    assert diff["nbdime"]["diff"], "nbdime's diff of the outputs"


def test_nbdime_payload_rebuilds_the_new_notebook(api: HfApi, hub: HubProcess, repo_id: str) -> None:
    """``nbdime`` is what nbdime's lab widgets take (``{base, diff}``, as nbdime's server
    answers): patching ``base`` with ``diff`` gives the new notebook; the ignore flags leave
    outputs and metadata out of both."""
    a = put(api, repo_id, "nb.ipynb", notebook(base_cells()))
    b = put(api, repo_id, "nb.ipynb", edited())
    payload = structured(compare(hub, repo_id, a, b), "nb.ipynb")["nbdime"]
    assert [c["id"] for c in payload["base"]["cells"]] == ["title", "setup", "show", "gone", "last"]
    new = nbdime_patch(payload["base"], payload["diff"])
    assert [c["id"] for c in new["cells"]] == ["setup", "title", "show", "fresh", "last"]
    assert new["cells"][2]["outputs"][0]["text"] == "10\n"
    assert new["metadata"]["authors"] == [{"name": "ada"}]

    quiet = structured(compare(hub, repo_id, a, b, ignore_outputs="1", ignore_metadata="1"), "nb.ipynb")
    new = nbdime_patch(quiet["nbdime"]["base"], quiet["nbdime"]["diff"])
    assert all(not c.get("outputs") for c in new["cells"]) and new["metadata"] == {}
    assert all(c["metadata"] == {} for c in new["cells"])

    c = put(api, repo_id, "other.ipynb", edited())  # a notebook new in the comparison
    fresh = structured(compare(hub, repo_id, b, c), "other.ipynb")["nbdime"]
    assert fresh["base"]["cells"] == [] and fresh["base"]["nbformat"] == 4
    assert nbdime_patch(fresh["base"], fresh["diff"])["cells"][0]["id"] == "setup"
