"""Comments anchored to notebook cells and evaluation runs: they survive an edit and say what changed."""

from __future__ import annotations

import secrets

import httpx
import nbformat
import pytest
from huggingface_hub import HfApi

import workbench as wb
from tests.support.hub import HubProcess
from workbench.errors import InvalidRequest, NotFound


def notebook(cells: list[tuple[str, str]], *, with_ids: bool = True) -> bytes:
    nb = nbformat.v4.new_notebook()
    for cid, source in cells:
        cell = nbformat.v4.new_code_cell(source)
        cell["id"] = cid
        nb.cells.append(cell)
    if not with_ids:
        nb.nbformat_minor = 4
        for cell in nb.cells:
            del cell["id"]
    return nbformat.writes(nb).encode()


@pytest.fixture
def conn(hub: HubProcess, tmp_path_factory: pytest.TempPathFactory) -> wb.Connection:
    return wb.connect(hub.url, hub.token, cache_dir=tmp_path_factory.getbasetemp() / "wb-cache")


def test_cell_comments_survive_a_notebook_edit_and_report_changes(
    api: HfApi, repo_id: str, conn: wb.Connection
) -> None:
    cells = [("load", "df = load()"), ("train", "fit(epochs=3)"), ("plot", "plot(df)")]
    first = api.upload_file(path_or_fileobj=notebook(cells), path_in_repo="train.ipynb", repo_id=repo_id).oid
    on_train = wb.comment(repo_id, "Why 3 epochs?", path="train.ipynb", cell="train")
    on_plot = wb.comment(
        repo_id, "Nice plot", path="train.ipynb", cell="plot", discussion=on_train["discussion"]
    )
    on_file = wb.comment(
        repo_id, "The notebook overall", path="train.ipynb", discussion=on_train["discussion"]
    )
    assert on_plot["discussion"] == on_file["discussion"] == on_train["discussion"] == 1

    edited = [("load", "df = load()"), ("plot", "plot(df)"), ("train", "fit(epochs=10)")]
    second = api.upload_file(
        path_or_fileobj=notebook(edited), path_in_repo="train.ipynb", repo_id=repo_id
    ).oid
    listing = conn.client.comments(repo_id, path="train.ipynb")
    assert listing["commit"] == second and listing["cellsWithoutIds"] == 0
    by_cell = {g["cell"]: g for g in listing["cells"]}
    assert [g["cell"] for g in listing["cells"]] == ["plot", "train"]  # in today's cell order
    assert by_cell["train"]["changed"] is True and by_cell["train"]["index"] == 2
    assert by_cell["plot"]["changed"] is False and by_cell["plot"]["index"] == 1
    assert [c["content"] for c in by_cell["train"]["comments"]] == ["Why 3 epochs?"]
    assert by_cell["train"]["comments"][0]["commit"] == first
    assert [c["content"] for c in listing["fileComments"]] == ["The notebook overall"]

    old = conn.client.comments(repo_id, path="train.ipynb", revision=first)
    assert all(not g["changed"] for g in old["cells"])  # at the commented commit nothing changed

    api.upload_file(
        path_or_fileobj=notebook([("load", "df = load()")]), path_in_repo="train.ipynb", repo_id=repo_id
    )
    gone = {g["cell"]: g for g in conn.client.comments(repo_id, path="train.ipynb")["cells"]}
    assert gone["train"]["deleted"] and gone["train"]["changed"] and gone["plot"]["deleted"]

    details = api.get_discussion_details(repo_id, 1)  # anchored comments are discussion comments
    assert [e.content for e in details.events] == ["Why 3 epochs?", "Nice plot", "The notebook overall"]
    assert details.events[0]._event["anchor"] == {
        "path": "train.ipynb",
        "cell": "train",
        "commit": first,
        "run": None,
    }
    api.create_discussion(repo_id, '<script>alert(1)</script><img src=x onerror="alert(2)">')
    shown = wb.discussions(repo_id)
    assert len(shown) == 2 and shown.df.loc[1, "title"] == "Comment on train.ipynb cell train"
    html = shown._repr_html_()
    assert "Comment on train.ipynb" in html and "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html


def test_bad_anchors_are_refused_with_what_to_fix(api: HfApi, repo_id: str, conn: wb.Connection) -> None:
    api.upload_file(path_or_fileobj=notebook([("a", "1")]), path_in_repo="nb.ipynb", repo_id=repo_id)
    api.upload_file(
        path_or_fileobj=notebook([("a", "1")], with_ids=False), path_in_repo="old.ipynb", repo_id=repo_id
    )
    api.upload_file(path_or_fileobj=b"text", path_in_repo="notes.txt", repo_id=repo_id)
    cases = [
        (dict(path="nb.ipynb", cell="zzz"), NotFound, "CellNotFound"),
        (dict(path="old.ipynb", cell="a"), InvalidRequest, "NotebookWithoutCellIds"),
        (dict(path="notes.txt", cell="a"), InvalidRequest, "NotANotebook"),
        (dict(path="missing.ipynb", cell="a"), NotFound, "EntryNotFound"),
        (dict(path="../etc/passwd"), InvalidRequest, None),
        (dict(cell="a"), InvalidRequest, "InvalidAnchor"),
        (dict(path="nb.ipynb", cell="bad id!"), InvalidRequest, "InvalidAnchor"),
        (dict(run="not-a-run"), InvalidRequest, "InvalidAnchor"),
    ]
    for anchor, error, code in cases:
        with pytest.raises(error) as exc:
            wb.comment(repo_id, "hm", **anchor)  # type: ignore[arg-type]
        if code:
            assert exc.value.code == code, anchor
    assert list(api.get_repo_discussions(repo_id)) == []  # nothing half-made


def make_run(hub: HubProcess, api: HfApi, model: str) -> str:
    """A real evaluation run record for ``model``."""
    from workbench.config import HubSettings
    from workbench.store.accounts import authenticate
    from workbench.store.evals import RunInput, create_run
    from workbench.store.store import Store

    store = Store.open(HubSettings(data_dir=hub.data, write_user_config=False))
    try:
        dataset = f"{model}-data"
        api.create_repo(dataset, repo_type="dataset")
        with store.write() as s:
            p = authenticate(s, hub.token)
            run = create_run(
                store,
                s,
                p,
                RunInput(
                    model=model,
                    dataset=dataset,
                    model_commit=api.model_info(model).sha,
                    dataset_commit=api.dataset_info(dataset).sha,
                    split="test",
                    notebook_name="evaluate.ipynb",
                    notebook_sha256="0" * 64,
                    status="succeeded",
                    metrics={"accuracy": 0.5},
                ),
            )
            return run.id
    finally:
        store.close()


def test_run_anchors(api: HfApi, repo_id: str, hub: HubProcess, conn: wb.Connection) -> None:
    run = make_run(hub, api, repo_id)
    made = wb.comment(repo_id, "about that run", run=run)
    listing = conn.client.comments(repo_id, run=run)
    assert [c["content"] for c in listing["comments"]] == ["about that run"]
    assert listing["comments"][0]["discussion"] == made["discussion"]
    assert api.get_discussion_details(repo_id, made["discussion"]).events[0]._event["anchor"]["run"] == run
    with pytest.raises(NotFound) as exc:
        wb.comment(repo_id, "about another run", run=secrets.token_hex(16))
    assert exc.value.code == "RunNotFound"
    with httpx.Client(base_url=hub.url) as http:
        r = http.get(f"/api/models/{repo_id}/comments", params={"path": "../x"})
        assert r.status_code == 422 and r.headers["X-Error-Code"] == "InvalidPath" and "error" in r.json()
