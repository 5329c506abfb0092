"""Run records in the metadata store (migrations 0006 and 0014 on SQLite and PostgreSQL,
cascades), reproductions derived from the owner's re-run, privacy of records on every
endpoint, the built-in metric modules served to ``evaluate``, and the results pull request a
verified push run owes its model (migration 0029): owed with the record, opened once by hub
processes that race for it, and finished, not opened again, after an attempt that stopped
half-way."""

from __future__ import annotations

import secrets
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.support.evals import run_input
from tests.support.hub import HubProcess
from tests.support.kernel import make_user, unique
from workbench.client import HubClient
from workbench.config import HubSettings
from workbench.errors import Conflict, InvalidRequest, NotFound, PermissionDenied
from workbench.names import BOT_NAME
from workbench.store import collab_models as c
from workbench.store import contents, eval_prs, runner_leases, runners
from workbench.store import models as m
from workbench.store.accounts import create_user, principal_for
from workbench.store.commits import checkout
from workbench.store.db import alembic_config
from workbench.store.evals import (
    EvalRun,
    create_run,
    get_run,
    leaderboard,
    list_runs,
)
from workbench.store.repos import RepoKey, create_repo, delete_repo
from workbench.store.reproduction import attach_reproduction
from workbench.store.store import Store, utcnow


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    s = Store.open(HubSettings(data_dir=tmp_path, database_url=url, write_user_config=False))
    yield s
    s.close()


def _repos(store: Store) -> tuple[Any, Any, dict[str, str]]:
    """alice, with a model and a dataset; bob, with a write token; the repos' commits."""
    from sqlalchemy import select

    from workbench.store import models as m

    with store.write() as s:
        alice = principal_for(s, create_user(s, "alice"), "write")
        bob = principal_for(s, create_user(s, "bob"), "write")
        repos = [create_repo(store, s, alice, t, "alice", t[0]) for t in ("model", "dataset")]
    with store.read() as s:
        commits = {r.type: s.scalar(select(m.Ref.commit_oid).where(m.Ref.repo_id == r.id)) for r in repos}
    return alice, bob, commits


def _run(store: Store, p: Any, commits: dict[str, str], **changes: Any) -> str:
    data = run_input(commits, **{"parameters": {"batch_size": 8}, "seed": 3, **changes})
    with store.write() as s:
        return create_run(store, s, p, data).id


def test_migration_records_and_cascade(store: Store) -> None:
    alice, _, commits = _repos(store)
    notebook = b'{"cells": []}'
    lower = {"mse": {"higher_is_better": False}}
    first = _run(store, alice, commits, metrics={"mse": 0.5}, metric_info=lower, notebook=notebook)
    better = _run(store, alice, commits, metrics={"mse": 0.25}, metric_info=lower)
    with store.read() as s:
        run = get_run(s, alice, first)
    assert len(run.id) == 32 and int(run.id, 16) >= 0 and run.id == run.id.lower()
    assert store.blobs.read(run.executed_sha256 or "") == notebook
    rerun = _run(store, alice, commits, reproduction_of=run.id, metrics={"mse": 0.75})
    with store.write() as s:
        view = attach_reproduction(s, alice, run.id, rerun)
        assert view.reproduction == "differs" and view.reproduction_run == rerun
        assert [d["metric"] for d in view.differences or []] == ["mse"]
    with store.read() as s:
        assert get_run(s, alice, run.id).parameters == {"batch_size": 8}
        assert [r.id for r in leaderboard(s, alice, "alice/d", metric="mse")] == [better]
        assert {r.id for r in list_runs(s, alice, model="alice/m")} == {run.id, better, rerun}
    with store.write() as s:
        delete_repo(store, s, alice, RepoKey("dataset", "alice", "d"))
    with store.read() as s:
        assert s.get(EvalRun, run.id) is None  # ON DELETE CASCADE
        assert s.get(EvalRun, rerun) is None
        with pytest.raises(NotFound):
            get_run(s, alice, run.id)


def test_reproduction_is_derived_from_the_owners_rerun(store: Store) -> None:
    alice, bob, commits = _repos(store)
    original = _run(store, alice, commits)
    bobs = _run(store, bob, commits, reproduction_of=original)
    with store.read() as s:
        before = get_run(s, alice, original)
    refusals: list[tuple[Any, str, tuple[str, ...], type[Exception], str]] = [
        (bob, bobs, (), PermissionDenied, "NotRecordOwner"),
        (bob, bobs, ("status",), PermissionDenied, "NotRecordOwner"),
        (alice, bobs, ("status",), InvalidRequest, "StatusIsDerived"),
        (alice, bobs, (), InvalidRequest, "NotYourRerun"),
        (alice, _run(store, alice, commits), (), InvalidRequest, "NotAReproduction"),
        (
            alice,
            _run(store, alice, commits, reproduction_of=original, seed=4),
            (),
            InvalidRequest,
            "ReproductionPinsDiffer",
        ),
        (
            alice,
            _run(store, alice, commits, reproduction_of=original, status="running", metrics={}),
            (),
            Conflict,
            "RerunNotFinished",
        ),
    ]
    for who, rerun, refused, error, code in refusals:
        with pytest.raises(error) as caught, store.write() as s:
            attach_reproduction(s, who, original, rerun, refused=refused)
        assert caught.value.code == code  # type: ignore[attr-defined]
    with store.read() as s:
        assert get_run(s, alice, original) == before
    same = _run(store, alice, commits, reproduction_of=original)
    with store.write() as s:
        view = attach_reproduction(s, alice, original, same)
    with store.read() as s:
        assert get_run(s, alice, original) == view
    assert (view.reproduction, view.differences, view.reproduction_run) == ("reproduced", [], same)
    assert view.reproduced_by == "alice" and view.reproduced_at is not None


def _migrate(store: Store, revision: str, *, down: bool = False) -> None:
    from alembic import command

    with store.engine.begin() as conn:
        cfg = alembic_config(store.engine)
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def test_migration_0014_backfills_owners_and_clears_set_statuses(store: Store) -> None:
    from sqlalchemy import inspect, text

    alice, _, commits = _repos(store)
    original = _run(store, alice, commits)
    rerun = _run(store, alice, commits, reproduction_of=original)
    _migrate(store, "0013", down=True)
    with store.write() as s:
        columns = {c["name"] for c in inspect(s.connection()).get_columns("eval_runs")}
        assert not columns & {"created_by_id", "reproduction_run", "reproduced_by", "reproduced_at"}
        # as the old endpoint left it: a status anyone with read access could set
        s.execute(
            text("UPDATE eval_runs SET reproduction = 'reproduced', differences = '[]' WHERE id = :id"),
            {"id": original},
        )
        s.execute(text("UPDATE eval_runs SET created_by = 'nobody-here' WHERE id = :id"), {"id": rerun})
    _migrate(store, "head")
    with store.read() as s:
        rows = {
            r.id: r
            for r in s.execute(
                text(
                    "SELECT id, created_by_id, reproduction, differences, reproduction_of, "
                    "reproduction_run, reproduced_by, reproduced_at FROM eval_runs"
                )
            )
        }
    assert rows[original].created_by_id == alice.user_id  # backfilled from created_by
    assert rows[rerun].created_by_id is None  # no such user: nobody may attach its re-runs
    assert rows[original].reproduction is None and rows[original].differences in (None, "null")
    assert rows[rerun].reproduction_of == original  # the downgrade kept the link
    assert rows[original].reproduction_run is None and rows[original].reproduced_by is None
    again = _run(store, alice, commits, reproduction_of=original)
    with store.write() as s:  # the owner derives it again
        view = attach_reproduction(s, alice, original, again)
    assert view.reproduction == "reproduced"


def test_migration_0027_keeps_jobs_and_a_deleted_model_keeps_its_job(store: Store) -> None:
    """SQLite rebuilds ``jobs`` to let ``repo_id`` be NULL: the evaluation jobs pointing at it
    (and their labels and events) survive; a deleted model's job stays, cancelled."""
    from workbench.store import runners

    alice, _, _ = _repos(store)
    with store.write() as s:
        req = runners.JobRequest(model="alice/m", dataset="alice/d", requires=["gpu"])
        job = runners.queue_job(store, s, alice, req).id
        runners.add_event(s, job, "note")
    _migrate(store, "0026", down=True)
    _migrate(store, "head")
    with store.read() as s:
        view = runners.get_job(s, alice, job, after=0)
    assert view.state == "queued" and view.requires == ["gpu"] and view.trigger == "user"
    assert [e["event"] for e in view.events] == ["note"]
    with store.write() as s:
        delete_repo(store, s, alice, RepoKey("model", "alice", "m"))
    with store.read() as s:
        view = runners.get_job(s, alice, job)
    assert view.state == "cancelled" and view.error is not None and "repo deleted" in view.error


@pytest.fixture(scope="module")
def private_run(hub: HubProcess) -> dict[str, Any]:
    """A record whose model is private to the admin, and one on public repos."""
    with HubClient(hub.url, hub.token, progress=False) as client:
        model, public_model, data = unique("evals-private"), unique("evals-public"), unique("evals-data")
        client.create_repo(model, private=True)
        client.create_repo(public_model)
        client.create_repo(data, type="dataset")
        dataset_commit = client.revision_sha(data, type="dataset")
        runs = {}
        for key, repo in (("private", model), ("public", public_model)):
            runs[key] = client.create_eval_run(
                {
                    "model": repo,
                    "dataset": data,
                    "model_commit": client.revision_sha(repo),
                    "dataset_commit": dataset_commit,
                    "split": "test",
                    "notebook_name": "e.ipynb",
                    "notebook_sha256": "b" * 64,
                    "status": "succeeded",
                    "metrics": {"accuracy": 0.9},
                    "notebook": '{"cells": []}',
                }
            )
    return {"model": model, "data": data, **runs}


def test_private_records_answer_404(hub: HubProcess, private_run: dict[str, Any]) -> None:
    bob = make_user(hub)
    rid = private_run["private"]["id"]
    for token in (bob.token, None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        for path in (f"/api/evals/{rid}", f"/api/evals/{rid}/notebook"):
            resp = httpx.get(hub.url + path, headers=headers)
            assert resp.status_code == 404 and resp.json()["error"]["code"] == "RunNotFound"
        listed = httpx.get(
            f"{hub.url}/api/evals", params={"dataset": private_run["data"]}, headers=headers
        ).json()
        assert [r["id"] for r in listed] == [private_run["public"]["id"]]
        board = httpx.get(
            f"{hub.url}/api/leaderboards/{private_run['data']}",
            params={"metric": "accuracy"},
            headers=headers,
        ).json()
        assert [e["run"] for e in board["entries"]] == [private_run["public"]["id"]]
    for body in ({"status": "reproduced"}, {"run": private_run["public"]["id"]}):
        resp = httpx.post(
            f"{hub.url}/api/evals/{rid}/reproduction",
            json=body,
            headers={"Authorization": f"Bearer {bob.token}"},
        )
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "RunNotFound"
    # bob may not record runs of a model he cannot read, nor with a read-only token
    body = {
        k: private_run["private"][k] for k in ("model", "dataset", "model_commit", "dataset_commit", "split")
    }
    body.update(
        notebook_name="e.ipynb", notebook_sha256="c" * 64, status="succeeded", metrics={"accuracy": 0.5}
    )
    resp = httpx.post(f"{hub.url}/api/evals", json=body, headers={"Authorization": f"Bearer {bob.token}"})
    assert resp.status_code == 404
    public = {
        **body,
        "model": private_run["public"]["model"],
        "model_commit": private_run["public"]["model_commit"],
    }
    resp = httpx.post(
        f"{hub.url}/api/evals", json=public, headers={"Authorization": f"Bearer {bob.read_token}"}
    )
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "ReadOnlyToken"
    assert httpx.post(f"{hub.url}/api/evals", json=public).status_code == 401
    resp = httpx.post(f"{hub.url}/api/evals", json=public, headers={"Authorization": f"Bearer {bob.token}"})
    assert resp.status_code == 201 and resp.json()["created_by"] == bob.name
    # the owner sees everything
    with HubClient(hub.url, hub.token, progress=False) as admin:
        assert admin.eval_run(rid)["model"] == private_run["model"]
        missing = f"admin/nope-{secrets.token_hex(3)}"
        with pytest.raises(NotFound):
            admin.leaderboard(missing, metric="accuracy")


EXAMPLES = {
    "accuracy": ([0, 1, 1, 2], [0, 1, 0, 2], {}, 0.75),
    "precision": ([0, 1, 1, 0], [0, 1, 0, 0], {}, 0.5),
    "recall": ([0, 1, 1, 0], [0, 1, 0, 1], {}, 0.5),
    "f1": ([0, 1, 2, 2], [0, 1, 2, 1], {"average": "macro"}, (1 + 2 / 3 + 2 / 3) / 3),
    "exact_match": (["a", "b", "c"], ["a", "B", "c"], {}, 2 / 3),
    "mse": ([1.0, 2.0], [1.5, 3.0], {}, (0.25 + 1.0) / 2),
    "mae": ([1.0, 2.0], [1.5, 3.0], {}, 0.75),
}


def test_builtin_metric_modules_load_from_the_hub(hub: HubProcess) -> None:
    import evaluate

    for name, (pred, ref, kwargs, expected) in EXAMPLES.items():
        module = evaluate.load(name)
        assert module.compute(predictions=pred, references=ref, **kwargs)[name] == pytest.approx(
            expected, abs=1e-12
        )
    with HubClient(hub.url, hub.token, progress=False) as client:
        info = client.repo_info("evaluate-metric/accuracy", type="space")
        assert {s["rfilename"] for s in info["siblings"]} >= {"accuracy.py", "README.md"}
        before = len(client.log("evaluate-metric/accuracy", type="space"))
        init = hub.cli("hub", "init")  # publishing again changes nothing
        assert init.returncode == 0
        assert len(client.log("evaluate-metric/accuracy", type="space")) == before


# -- the results pull request a verified push run owes (store.eval_prs, migration 0029) -------

MAX_CHARS = 65536


def completed_push_job(store: Store) -> tuple[int, str]:
    """A push job of alice/m on alice/d that a runner completed with a verified record: the
    job's id and the record's."""
    alice, _, commits = _repos(store)
    with store.write() as s:
        admin = principal_for(s, create_user(s, "root", admin=True), "write")
        model, dataset = (s.scalar(select(m.Repo).where(m.Repo.type == t)) for t in ("model", "dataset"))
        assert model is not None and dataset is not None
        spec = {"model": "alice/m", "dataset": "alice/d", "split": "test", "metrics": ["accuracy"]}
        spec |= {"model_commit": commits["model"], "dataset_commit": commits["dataset"], "parameters": {}}
        spec |= {"notebook": None, "reads": [model.id, dataset.id]}
        assert alice.user_id is not None
        job_id = runners.add_job(
            s,
            repo_id=model.id,
            owner_id=alice.user_id,
            kind="run",
            spec=spec,
            timeout=60.0,
            requires=[],
            trigger="push",
            key="k" * 40,
        )
        runner, _ = runners.register_runner(s, admin, "box", labels=[])
    lease = runner_leases.lease_job(store, runner, lease_seconds=30)
    assert lease is not None and lease.job.id == job_id
    data = run_input(commits)
    with store.write() as s:
        record = runner_leases.complete_job(store, s, runner, job_id, lease.lease, data)
    assert job_id is not None
    return job_id, record.id


def bot_prs(store: Store) -> list[int]:
    with store.read() as s:
        return list(s.scalars(select(c.Discussion.num).where(c.Discussion.author == BOT_NAME)))


def row(store: Store, job_id: int) -> eval_prs.ResultsPr:
    with store.read() as s:
        found = s.get(eval_prs.ResultsPr, job_id)
        assert found is not None
        s.expunge(found)
        return found


def test_processes_racing_open_one_pull_request(store: Store) -> None:
    job_id, _ = completed_push_job(store)
    assert row(store, job_id).state == "owed"  # written with the record
    got: list[int | None] = []
    threads = [
        threading.Thread(target=lambda: got.append(eval_prs.settle(store, job_id, max_chars=MAX_CHARS)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    [num] = [n for n in got if n is not None]
    assert bot_prs(store) == [num] and eval_prs.sweep(store, max_chars=MAX_CHARS) == []
    assert row(store, job_id).state == "opened" and row(store, job_id).pull_request == num
    with store.read() as s:
        assert s.get(runners.EvalJob, job_id).pull_request == num  # type: ignore[union-attr]


def test_an_attempt_that_stopped_half_way_is_finished_not_repeated(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id, record = completed_push_job(store)
    real = eval_prs.create_commit

    def down(*args: Any, **kwargs: Any) -> Any:
        raise OSError("the blob store is away")

    monkeypatch.setattr(eval_prs, "create_commit", down)
    assert eval_prs.settle(store, job_id, max_chars=MAX_CHARS) is None
    owed = row(store, job_id)
    [num] = bot_prs(store)  # the pull request was opened, its commit failed
    assert owed.state == "owed" and owed.pull_request == num and owed.error == "the blob store is away"
    assert owed.next_at > utcnow() and owed.claimed_by is None
    assert eval_prs.sweep(store, max_chars=MAX_CHARS) == []  # not due yet
    with store.write() as s:
        s.get(eval_prs.ResultsPr, job_id).next_at = utcnow() - timedelta(seconds=1)  # type: ignore[union-attr]
    monkeypatch.setattr(eval_prs, "create_commit", real)
    assert eval_prs.sweep(store, max_chars=MAX_CHARS) == [num]
    assert bot_prs(store) == [num] and row(store, job_id).state == "opened"
    with store.read() as s:
        events = [e["event"] for e in runners.job_view(s, job_id, after=0).events]
        model = s.scalar(select(m.Repo).where(m.Repo.name == "m"))
        assert model is not None
        _, _, tree = checkout(store, s, model, f"refs/pr/{num}")
        card = contents.read_bytes(store, tree.get("README.md")).decode()  # type: ignore[arg-type]
    assert [e for e in events if e.startswith("pull_request")] == ["pull_request_failed", "pull_request"]
    assert record in card and "verified: true" in card
