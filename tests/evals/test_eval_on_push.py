"""Evaluation on push: a dataset's suite queues a verified run for each new model commit.

One hub and one ``workbench runner`` process for the module (as ``test_runners``); pushes go
through the stock ``HfApi``. The suite of each test requires a label of its own, which only
the module's runner has, so no test's runs wait on another's. The test of a hub killed while
it owes a results pull request has a hub and a runner of its own.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi, constants

from tests.evals.test_runners import (
    LEASE_SECONDS,
    Runners,
    client,
    finished,
    job_of,
    lease_hub,
    nap_notebook,
    new_user,
    register,
    unique,
    wait_for,
)
from tests.support.evals import eval_cli
from tests.support.hub import HubProcess
from tests.support.postgres import PostgresServer, create_database
from workbench.client import runners as api

pytestmark = pytest.mark.slow
LABEL = unique("push")


@pytest.fixture(scope="module")
def phub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    hub = lease_hub(tmp_path_factory, "push-hub")
    yield hub
    hub.stop()


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("push-work")


@pytest.fixture(scope="module")
def runner(phub: HubProcess, work: Path) -> Iterator[Runners]:
    """One runner for the module, with the module's label."""
    r = Runners(phub, work)
    r.start(register(phub, "push-box", LABEL), "push-box")
    yield r
    r.stop_all()


@pytest.fixture(scope="module")
def user(phub: HubProcess) -> dict[str, Any]:
    name, token = new_user(phub)
    return {"name": name, "token": token, "api": HfApi(endpoint=phub.url, token=token)}


@pytest.fixture(autouse=True)
def _no_xet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)


def card(meta: dict[str, Any], body: str = "# card\n") -> bytes:
    return f"---\n{json.dumps(meta)}\n---\n{body}".encode()  # JSON is YAML


def push_dataset(
    user: dict[str, Any], suite: Any, *, files: dict[str, bytes] | None = None, private: bool = False
) -> str:
    api: HfApi = user["api"]
    repo = f"{user['name']}/{unique('holdout')}"
    api.create_repo(repo, repo_type="dataset", private=private)
    for path, data in {"data.csv": b"a,b\n1,2\n", **(files or {})}.items():
        api.upload_file(path_or_fileobj=data, path_in_repo=path, repo_id=repo, repo_type="dataset")
    api.upload_file(
        path_or_fileobj=card({"workbench": {"evaluation": suite}}),
        path_in_repo="README.md",
        repo_id=repo,
        repo_type="dataset",
    )
    return repo


def push_model(user: dict[str, Any], datasets: list[str]) -> str:
    api: HfApi = user["api"]
    repo = f"{user['name']}/{unique('tiny')}"
    api.create_repo(repo)
    api.upload_file(path_or_fileobj=b"{}", path_in_repo="config.json", repo_id=repo)
    api.upload_file(path_or_fileobj=card({"datasets": datasets}), path_in_repo="README.md", repo_id=repo)
    return repo


def jobs_of(hub: HubProcess, user: dict[str, Any], model: str) -> list[dict[str, Any]]:
    with client(hub, user["token"]) as c:
        return [j for j in api.list_jobs(c) if j["spec"].get("model") == model]


def suite_cli(hub: HubProcess, work: Path, user: dict[str, Any], dataset: str) -> Any:
    return eval_cli(hub, work, "eval", "suite", dataset, "--json", env={"WORKBENCH_TOKEN": user["token"]})


def test_a_push_is_evaluated_and_proposed_through_a_pull_request(
    phub: HubProcess, user: dict[str, Any], runner: Runners, work: Path
) -> None:
    notebook = nap_notebook(work / "custom.ipynb").read_bytes()
    suite = {"metrics": ["accuracy"], "notebook": "evals/custom.ipynb", "requires": [LABEL]}
    dataset = push_dataset(user, suite, files={"evals/custom.ipynb": notebook})
    shown = json.loads(suite_cli(phub, work, user, dataset).stdout)
    assert shown["valid"] and shown["suite"]["notebook"] == "evals/custom.ipynb", shown
    assert shown["suite"]["requires"] == [LABEL] and shown["suite"]["split"] == "test"

    api: HfApi = user["api"]
    model = push_model(user, [dataset])
    head = api.model_info(model).sha
    [job] = jobs_of(phub, user, model)  # the README commit; the config.json before it listed nothing
    assert job["trigger"] == "push" and job["spec"]["model_commit"] == head
    assert job["spec"]["notebook"] == {"name": "custom.ipynb"}
    done = wait_for(finished(phub, user, job["id"]))
    assert done["state"] == "succeeded", done
    first = wait_for(lambda: jobs_of(phub, user, model)[0]["pull_request"], timeout=30)

    pr = api.get_discussion_details(model, first)
    assert pr.is_pull_request and pr.author == "workbench-bot" and pr.status == "open"
    readme = Path(api.hf_hub_download(model, "README.md", revision=f"refs/pr/{first}", cache_dir=work / "hf"))
    text = readme.read_text()
    assert "model-index" in text and "verified: true" in text and done["record"] in text
    assert api.model_info(model).sha == head  # nothing written to main
    listing = eval_cli(phub, work, "eval", "jobs", env={"WORKBENCH_TOKEN": user["token"]}).stdout
    assert f"trigger: push  PR #{first}" in listing, listing

    # a second push: a second run, whose pull request supersedes the first
    api.upload_file(path_or_fileobj=b'{"v": 2}', path_in_repo="config.json", repo_id=model)
    second_job = wait_for(lambda: len(jobs_of(phub, user, model)) == 2 and jobs_of(phub, user, model)[0])
    assert wait_for(finished(phub, user, second_job["id"]))["state"] == "succeeded"
    second = wait_for(lambda: jobs_of(phub, user, model)[0]["pull_request"], timeout=30)
    assert second != first
    assert api.get_discussion_details(model, first).status == "closed"
    assert api.get_discussion_details(model, second).status == "open"

    # the owner merges it; the merge changes only the model-index: no third run
    api.merge_pull_request(model, second)
    assert len(jobs_of(phub, user, model)) == 2
    merged = api.hf_hub_download(model, "README.md", cache_dir=work / "hf", force_download=True)
    assert "verified: true" in Path(merged).read_text()
    with client(phub, user["token"]) as c:
        board = c.leaderboard(dataset, metric="accuracy", verified_only=True)
    [entry] = board["entries"]
    assert entry["model"] == model and entry["verified"] and entry["verified_by"] == "push-box", board


def test_a_malformed_suite_is_reported_and_queues_nothing(
    phub: HubProcess, user: dict[str, Any], work: Path
) -> None:
    dataset = push_dataset(user, {"metrics": "accuracy", "requires": [LABEL]})  # the commit lands
    proc = suite_cli(phub, work, user, dataset)
    assert proc.returncode == 1
    shown = json.loads(proc.stdout)
    assert not shown["valid"] and shown["suite"] is None
    assert "metrics is a list of names" in shown["error"], shown
    assert "metrics is a list of names" in proc.stderr
    model = push_model(user, [dataset])
    assert jobs_of(phub, user, model) == []

    typo = push_dataset(user, {"metric": ["accuracy"]})
    assert "unknown key metric" in json.loads(suite_cli(phub, work, user, typo).stdout)["error"]
    missing = push_dataset(user, {"notebook": "evals/none.ipynb"})
    assert "not in this commit" in json.loads(suite_cli(phub, work, user, missing).stdout)["error"]
    plain = f"{user['name']}/{unique('plain')}"
    user["api"].create_repo(plain, repo_type="dataset")
    with client(phub, user["token"]) as c:
        assert api.eval_suite(c, plain) == {
            "dataset": plain,
            "declared": False,
            "commit": None,
            "valid": False,
            "suite": None,
            "error": None,
            "updated_at": None,
        }
    proc = eval_cli(phub, work, "eval", "suite", plain, env={"WORKBENCH_TOKEN": user["token"]})
    assert proc.returncode == 1 and "declares no evaluation suite" in proc.stderr


def test_a_suite_naming_the_model_queues_its_run(phub: HubProcess, user: dict[str, Any]) -> None:
    model = push_model(user, [])
    assert jobs_of(phub, user, model) == []
    suite = {
        "models": [model],
        "requires": [unique("nobody")],
        "split": "validation",
        "metrics": ["accuracy", "f1"],
        "parameters": {"label_column": "label"},
        "timeout": 90,
    }
    push_dataset(user, suite)  # the new suite names the model: its run at the model's head
    [rerun] = jobs_of(phub, user, model)
    assert rerun["trigger"] == "push" and rerun["spec"]["model_commit"] == user["api"].model_info(model).sha
    user["api"].upload_file(path_or_fileobj=b"[]", path_in_repo="w.json", repo_id=model)
    job, _ = jobs_of(phub, user, model)  # newest first
    assert job["trigger"] == "push" and job["state"] == "queued" and job["pull_request"] is None
    assert job["spec"]["split"] == "validation" and job["spec"]["metrics"] == ["accuracy", "f1"]
    assert job["spec"]["parameters"] == {"label_column": "label"} and job["timeout"] == 90
    assert job["requires"] == suite["requires"] and job["spec"]["notebook"] is None
    with client(phub, user["token"]) as c:
        api.cancel_job(c, job["id"])
        api.cancel_job(c, rerun["id"])


def test_a_changed_suite_reruns_the_models_it_applies_to(phub: HubProcess, user: dict[str, Any]) -> None:
    """A dataset commit that adds or changes its suite queues a run of each model listing it,
    at the model's head, as a push does; one that leaves the suite as it was queues nothing."""
    hf: HfApi = user["api"]
    nobody = unique("nobody")
    dataset = push_dataset(user, {"metrics": ["accuracy"], "requires": [nobody]})
    mine = push_model(user, [dataset])  # its push: one run
    bob_name, bob_token = new_user(phub)
    bob = {"name": bob_name, "token": bob_token, "api": HfApi(endpoint=phub.url, token=bob_token)}
    public = push_model(bob, [dataset.upper()])  # a card's ids are matched case-insensitively
    private = f"{bob_name}/{unique('hidden')}"
    bob["api"].create_repo(private, private=True)
    listing = card({"datasets": [dataset]})
    bob["api"].upload_file(path_or_fileobj=listing, path_in_repo="README.md", repo_id=private)
    assert len(jobs_of(phub, user, mine)) == 1 and jobs_of(phub, user, public) == []

    # other files, other card text: the suite is as it was
    put: dict[str, Any] = {"repo_id": dataset, "repo_type": "dataset"}
    hf.upload_file(path_or_fileobj=b"a,b\n3,4\n", path_in_repo="data.csv", **put)
    same = {"workbench": {"evaluation": {"metrics": ["accuracy"], "requires": [nobody]}}}
    hf.upload_file(path_or_fileobj=card(same, "# new text\n"), path_in_repo="README.md", **put)
    assert len(jobs_of(phub, user, mine)) == 1 and jobs_of(phub, user, public) == []

    # the metrics change: a run of each model listing it that the pusher reads, at its head
    changed = card({"workbench": {"evaluation": {"metrics": ["accuracy", "f1"], "requires": [nobody]}}})
    info = hf.upload_file(path_or_fileobj=changed, path_in_repo="README.md", **put)
    for model, api_of in ((mine, hf), (public, bob["api"])):
        rerun = jobs_of(phub, user, model)[0]
        assert rerun["trigger"] == "push" and rerun["spec"]["metrics"] == ["accuracy", "f1"], rerun
        assert rerun["spec"]["model_commit"] == api_of.model_info(model).sha
        assert rerun["spec"]["dataset_commit"] == info.oid and rerun["owner"] == user["name"]
    assert len(jobs_of(phub, user, mine)) == 2 and len(jobs_of(phub, user, public)) == 1
    assert jobs_of(phub, user, private) == []  # the pusher cannot read it: not theirs to run
    assert len(jobs_of(phub, bob, private)) == 1  # bob's own push
    for who, models in ((user, (mine, public)), (bob, (public, private))):
        with client(phub, who["token"]) as c:
            for job in [j for model in models for j in jobs_of(phub, who, model)]:
                api.cancel_job(c, job["id"])


def test_a_private_suite_runs_only_private_models_of_its_namespace(
    phub: HubProcess, user: dict[str, Any]
) -> None:
    hf: HfApi = user["api"]
    model = push_model(user, [])  # public
    push_dataset(user, {"models": [model], "requires": [unique("nobody")]}, private=True)
    hf.upload_file(path_or_fileobj=b"1", path_in_repo="a.txt", repo_id=model)
    assert jobs_of(phub, user, model) == []
    hf.update_repo_settings(model, private=True)
    hf.upload_file(path_or_fileobj=b"2", path_in_repo="a.txt", repo_id=model)
    [job] = jobs_of(phub, user, model)
    with client(phub, user["token"]) as c:
        api.cancel_job(c, job["id"])


@pytest.mark.parametrize("deleted", ["model", "dataset"])
def test_a_deleted_repo_cancels_its_queued_job_with_the_reason(
    phub: HubProcess, user: dict[str, Any], deleted: str
) -> None:
    dataset = push_dataset(user, {"requires": [unique("nobody")]})  # no runner has the label
    model = push_model(user, [dataset])
    [job] = jobs_of(phub, user, model)
    assert job["state"] == "queued"
    user["api"].delete_repo(model if deleted == "model" else dataset, repo_type=deleted)
    with client(phub, user["token"]) as c:
        after = api.get_job(c, job["id"])
    assert after["state"] == "cancelled", after
    gone = model if deleted == "model" else dataset
    assert after["error"] == (
        f"Cancelled (repo deleted): the {deleted} repo {gone} was deleted while this job was queued."
    )


@pytest.mark.postgres
def test_runners_race_for_one_job_on_postgres(
    postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory, work: Path
) -> None:
    """Two runners against a hub on PostgreSQL, long-polling when the job comes: one leases it,
    one record."""
    url = create_database(postgres_server, f"t_runners_{unique('pg').replace('-', '_')}")
    hub = HubProcess(tmp_path_factory.mktemp("pg-hub"), database_url=url).start()
    runners = Runners(hub, work)
    try:
        name, token = new_user(hub)
        label = unique("pg")
        runners.start(register(hub, "pg-a", label), "pg-a")
        runners.start(register(hub, "pg-b", label), "pg-b")
        with client(hub, token) as c:
            model, dataset = f"{name}/m", f"{name}/d"
            c.create_repo(model)
            c.create_repo(dataset, type="dataset")
            notebook = nap_notebook(work / "pg.ipynb")
            with client(hub, hub.token) as a:  # both long-poll when the job comes
                wait_for(lambda: sum(r["last_seen"] is not None for r in api.list_runners(a)) == 2)
            body = {
                "model": model,
                "dataset": dataset,
                "requires": [label],
                "notebook": {"name": notebook.name, "content": notebook.read_text()},
            }
            job = api.queue_job(c, body)
            done = wait_for(finished(hub, {"token": token}, job["id"]))
            assert done["state"] == "succeeded" and done["attempts"] == 1, done
            assert done["runner"] in ("pg-a", "pg-b")
            [record] = c.eval_runs(model=model)
            assert record["verified"] and record["verified_by"] == done["runner"]
    finally:
        runners.stop_all()
        hub.stop()


def test_a_deleted_model_stops_its_running_job(
    phub: HubProcess, user: dict[str, Any], runner: Runners, work: Path
) -> None:
    notebook = nap_notebook(work / "nap.ipynb").read_bytes()
    suite = {"notebook": "nap.ipynb", "parameters": {"nap": 60}, "requires": [LABEL]}
    model = push_model(user, [push_dataset(user, suite, files={"nap.ipynb": notebook})])
    [job] = jobs_of(phub, user, model)
    wait_for(lambda: job_of(phub, user, job["id"])["state"] == "running")
    user["api"].delete_repo(model)
    after = wait_for(finished(phub, user, job["id"]), timeout=30)
    assert after["state"] == "cancelled" and after["record"] is None
    assert "was deleted while this job was running" in after["error"], after
    # the runner drops it at its next heartbeat and takes the next job
    suite["parameters"] = {"nap": 0}
    model = push_model(user, [push_dataset(user, suite, files={"nap.ipynb": notebook})])
    [job] = jobs_of(phub, user, model)
    assert wait_for(finished(phub, user, job["id"]))["state"] == "succeeded"


# -- the results pull request survives its hub --------------------------------------------------


@pytest.fixture
def hubs(tmp_path: Path) -> Iterator[list[HubProcess]]:
    env = {"WORKBENCH_RUNNER_LEASE_SECONDS": str(LEASE_SECONDS)}
    started = [HubProcess(tmp_path / "hub", env=env).start()]
    yield started
    for hub in started:
        hub.stop()


def events(hub: HubProcess, user: dict[str, Any], job_id: int, kind: str) -> list[dict[str, Any]]:
    return [e for e in job_of(hub, user, job_id)["events"] if e["event"] == kind]


def test_a_results_pr_owed_when_the_hub_dies_is_opened_once(hubs: list[HubProcess], tmp_path: Path) -> None:
    """The model card's blob is moved away while the run goes, so the pull request the record
    owes cannot be made when the runner posts it; the hub is killed (``kill -9``) in that
    window. Two hub processes on the same data folder start again and both sweep: exactly one
    pull request."""
    hub = hubs[0]
    name, token = new_user(hub)
    user: dict[str, Any] = {"name": name, "token": token, "api": HfApi(endpoint=hub.url, token=token)}
    label = unique("crash")
    runners = Runners(hub, tmp_path)
    try:
        runners.start(register(hub, "crash-box", label), "crash-box")
        notebook = nap_notebook(tmp_path / "nap.ipynb").read_bytes()
        suite = {"notebook": "nap.ipynb", "parameters": {"nap": 2}, "requires": [label]}
        dataset = push_dataset(user, suite, files={"nap.ipynb": notebook})
        model = push_model(user, [dataset])
        [job] = jobs_of(hub, user, model)

        # the model card cannot be read when the record comes: the pull request fails
        readme = f"---\n{json.dumps({'datasets': [dataset]})}\n---\n# card\n".encode()
        [blob] = hub.data.rglob(hashlib.sha256(readme).hexdigest())
        away = blob.rename(blob.with_name(blob.name + ".away"))
        done = wait_for(finished(hub, user, job["id"]))
        assert done["state"] == "succeeded" and done["record"], done
        [failure] = wait_for(lambda: events(hub, user, job["id"], "pull_request_failed"))
        assert failure["attempt"] == 1, failure
        hub.kill()  # kill -9: the record is stored, its pull request is not
        away.rename(blob)

        # two processes on the same store start and both sweep what is owed
        hub.start()
        hubs.append(HubProcess(hub.root, env=hub.extra_env).start())
        num = wait_for(lambda: job_of(hubs[1], user, job["id"])["pull_request"], timeout=60)
        time.sleep(6)  # a few more sweeps of both: nothing more happens
        api: HfApi = user["api"]
        bots = [d for d in api.get_repo_discussions(model) if d.author == "workbench-bot"]
        assert [d.num for d in bots] == [num] and bots[0].is_pull_request, bots
        assert bots[0].status == "open"
        assert len(events(hub, user, job["id"], "pull_request")) == 1
        card = Path(api.hf_hub_download(model, "README.md", revision=f"refs/pr/{num}", cache_dir=tmp_path))
        assert done["record"] in card.read_text() and "verified: true" in card.read_text()
    finally:
        runners.stop_all()
