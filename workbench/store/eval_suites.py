"""Evaluation on push: a dataset's suite, and the verified runs a model commit queues.

A dataset card declares its suite in its YAML metadata::

    workbench:
      evaluation:
        split: test
        metrics: [accuracy, f1]
        parameters: {label_column: label}   # notebook parameters, as `eval run -p`
        notebook: evals/custom.ipynb        # a notebook in the dataset repo (default: the template)
        requires: [gpu]                     # labels a runner must have
        timeout: 600                        # seconds
        models: [alice/tiny]                # models evaluated even if their card does not list it

When the card changes on ``main`` (:func:`dataset_card_changed`, from ``head_updates``) the
suite is checked and kept in ``eval_suites``, or the reason it is malformed is: the commit
lands either way, ``GET /api/datasets/{id}/eval-suite`` says what is wrong, and nothing is
queued from it. Each new head of a model's ``main`` (:func:`model_pushed`) queues one runner
job per suite that applies (the card's ``datasets:`` lists the dataset, or the suite's
``models:`` names the model), owned by whoever pushed, pinned to the new commit and the
dataset's head, in the push's own transaction: once per (model commit, dataset), whoever adds
it first. A private dataset's suite applies only to private models of its own namespace, so
its name and results never reach a pull request that others read. A head whose only change
is the card's ``model-index`` (a results pull request merged) or that the hub's own identity
made queues nothing, so results never loop. A dataset commit that adds or changes its suite
(:func:`suite_changed`) queues the same runs for each model the suite applies to, at the
model's head and the new dataset commit, owned by whoever pushed it and under the same rules
of visibility (they must read the model too); a commit that leaves the suite as it was
(other files, other card text) queues nothing.

>>> dataset_card_changed(store, s, repo, tree, oid, card)                  # doctest: +SKIP
>>> model_pushed(store, s, repo, old_tree, new_tree, oid, old_card=before, actor=p)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, String, Text, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from workbench.errors import InvalidRequest, NotFound, WorkbenchError
from workbench.names import BOT_NAME, metric_space_id, validate_path
from workbench.repocard import README, strings
from workbench.store import contents, runners
from workbench.store import models as m
from workbench.store.access import Principal, can_read, readable_repo
from workbench.store.refs import resolve_revision
from workbench.store.store import Store, utcnow
from workbench.store.trees import Tree

log = logging.getLogger(__name__)

KEYS = ("split", "metrics", "parameters", "notebook", "requires", "timeout", "models")
MAX_METRICS = 32
MAX_MODELS = 100


class EvalSuite(m.Base):
    """A dataset's evaluation suite as its card on ``main`` declares it (migration 0027)."""

    __tablename__ = "eval_suites"
    dataset_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True)
    commit: Mapped[str] = mapped_column(String(40))
    suite: Mapped[dict | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


@dataclass(frozen=True)
class SuiteView:
    dataset: str
    commit: str | None  # None: the card declares no suite
    suite: dict[str, Any] | None
    error: str | None
    updated_at: datetime | None

    @property
    def declared(self) -> bool:
        return self.commit is not None


def _bad(message: str) -> InvalidRequest:
    return InvalidRequest(f"workbench.evaluation in README.md: {message}", code="InvalidEvalSuite")


def _names(value: object, key: str, limit: int) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(x, str) and x.strip() for x in value):
        raise _bad(f"{key} is a list of names, such as [accuracy, f1].")
    if len(value) > limit:
        raise _bad(f"{key} lists {len(value)} names; at most {limit}.")
    return [x.strip() for x in value]


def declared(card: dict[str, Any] | None) -> Any:
    """What the card's ``workbench.evaluation`` holds (None: no suite declared)."""
    section = card.get("workbench") if isinstance(card, dict) else None
    return section.get("evaluation") if isinstance(section, dict) else None


def parse_suite(raw: Any, tree: Tree) -> dict[str, Any]:
    """A declared suite, checked (``InvalidEvalSuite`` says what to fix), with its defaults.

    >>> parse_suite({"metrics": ["accuracy"]}, Tree.from_entries([]))["split"]
    'test'
    """
    if not isinstance(raw, dict):
        raise _bad("it is a mapping of split, metrics, parameters, notebook, requires, timeout, models.")
    unknown = sorted(str(k) for k in raw if k not in KEYS)
    if unknown:
        raise _bad(f"unknown key {', '.join(unknown)}; the keys are {', '.join(KEYS)}.")
    split = raw.get("split", "test")
    if not isinstance(split, str) or not split.strip():
        raise _bad("split is the name of a split, such as test.")
    suite: dict[str, Any] = {
        "split": split.strip(),
        "metrics": _names(raw.get("metrics", ["accuracy"]), "metrics", MAX_METRICS) or ["accuracy"],
        "parameters": raw.get("parameters") or {},
        "requires": _names(raw.get("requires", []), "requires", runners.MAX_LABELS),
        "models": _names(raw.get("models", []), "models", MAX_MODELS),
        "notebook": None,
        "timeout": None,
    }
    if not isinstance(suite["parameters"], dict):
        raise _bad("parameters is a mapping of notebook parameters, such as {label_column: label}.")
    try:
        suite["requires"] = runners.check_labels(suite["requires"])
    except InvalidRequest as exc:
        raise _bad(f"requires: {exc.message}") from None
    for model in suite["models"]:
        if model.count("/") != 1:
            raise _bad(f"models: {model!r} is not a model id such as alice/tiny-classifier.")
    notebook = raw.get("notebook")
    if notebook is not None:
        try:
            path = validate_path(notebook) if isinstance(notebook, str) else None
        except InvalidRequest:
            path = None
        if path is None or not path.endswith(".ipynb"):
            raise _bad(f"notebook is the path of a .ipynb file in this dataset repo, not {notebook!r}.")
        entry = tree.get(path)
        if entry is None:
            raise _bad(f"notebook {path} is not in this commit of the dataset.")
        if entry.size > runners.MAX_JOB_NOTEBOOK_BYTES:
            raise _bad(f"notebook {path} is over {runners.MAX_JOB_NOTEBOOK_BYTES} bytes; clear its outputs.")
        suite["notebook"] = path
    timeout = raw.get("timeout")
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise _bad("timeout is a number of seconds.")
        if not 0 < timeout <= runners.MAX_TIMEOUT:
            raise _bad(f"timeout must be between 0 and {runners.MAX_TIMEOUT:g} seconds.")
        suite["timeout"] = float(timeout)
    return suite


def dataset_card_changed(
    store: Store,
    s: Session,
    repo: m.Repo,
    tree: Tree,
    oid: str,
    card: dict[str, Any] | None,
    *,
    actor: Principal | None = None,
) -> list[int]:
    """The card of dataset ``repo`` changed on ``main`` (commit ``oid``): keep its suite, or
    why it is malformed (the commit lands either way). A suite added or changed (anything
    :func:`parse_suite` keeps) queues its runs of the models it applies to, at their heads,
    owned by ``actor`` (:func:`suite_changed`); the ids of the jobs queued."""
    row = s.get(EvalSuite, repo.id)
    before = row.suite if row is not None else None
    raw = declared(card)
    if raw is None:
        if row is not None:
            s.delete(row)
        return []
    suite, error = None, None
    try:
        suite = parse_suite(raw, tree)
    except InvalidRequest as exc:
        error = exc.message
    if row is None:
        s.add(EvalSuite(dataset_id=repo.id, commit=oid, suite=suite, error=error, updated_at=utcnow()))
    else:
        row.commit, row.suite, row.error, row.updated_at = oid, suite, error, utcnow()
    if suite is None or suite == before:
        return []
    return suite_changed(store, s, repo, tree, oid, suite, actor=actor)


def get_suite(store: Store, s: Session, p: Principal, key: tuple[str, str, str]) -> SuiteView:
    """The suite dataset ``key`` declares on ``main``, or why it is malformed (``declared``
    False, and no commit, when its card declares none)."""
    repo = readable_repo(store, s, p, key)
    row = s.get(EvalSuite, repo.id)
    name = f"{repo.namespace}/{repo.name}"
    if row is None:
        return SuiteView(name, None, None, None, None)
    return SuiteView(name, row.commit, row.suite, row.error, row.updated_at)


def _only_model_index(before: dict[str, Any] | None, after: dict[str, Any] | None) -> bool:
    def rest(card: dict[str, Any] | None) -> dict[str, Any]:
        return {k: v for k, v in (card or {}).items() if k != "model-index"}

    return rest(before) == rest(after)


def _applies(model: m.Repo, dataset: m.Repo, suite: dict[str, Any]) -> bool:
    """Whether ``suite`` of ``dataset`` evaluates ``model``: the model's card lists the
    dataset, or the suite's ``models:`` names the model."""
    model_id = f"{model.namespace}/{model.name}".lower()
    if model_id in {x.lower() for x in suite.get("models") or []}:
        return True
    listed = {x.lower() for x in strings((model.card_data or {}).get("datasets")) if "/" in x}
    return f"{dataset.namespace}/{dataset.name}".lower() in listed


def _suites_for(s: Session, model: m.Repo) -> list[tuple[m.Repo, dict[str, Any]]]:
    rows = s.execute(
        select(m.Repo, EvalSuite.suite)
        .join(EvalSuite, EvalSuite.dataset_id == m.Repo.id)
        .where(EvalSuite.suite.is_not(None))
        .order_by(m.Repo.id)
    ).all()
    return [(d, suite) for d, suite in rows if isinstance(suite, dict) and _applies(model, d, suite)]


def _private_to(model: m.Repo, dataset: m.Repo) -> bool:
    """Whether the results pull request on ``model`` stays among the private ``dataset``'s
    own: a private model of the same namespace."""
    return model.private and model.namespace.lower() == dataset.namespace.lower()


def _may_run(actor: Principal, model: m.Repo, dataset: m.Repo) -> bool:
    """Whether ``actor``'s commit may queue the run of ``model`` on ``dataset``: they read
    both, and a private dataset's results stay among its own (:func:`_private_to`)."""
    if not (can_read(actor, model) and can_read(actor, dataset)):
        return False
    return not dataset.private or _private_to(model, dataset)


def model_pushed(
    store: Store,
    s: Session,
    repo: m.Repo,
    old: Tree,
    new: Tree,
    oid: str,
    *,
    old_card: dict[str, Any] | None,
    actor: Principal | None,
) -> list[int]:
    """``main`` of model ``repo`` moved to ``oid``: queue the suites' runs (see the module
    docstring); the ids of the jobs queued. A suite that cannot be queued is logged and
    skipped: the commit lands regardless."""
    suites = _suites_for(s, repo)
    paths = old.changed_paths(new) if suites else []
    if not paths or (paths == [README] and _only_model_index(old_card, repo.card_data)):
        return []
    key = "push:{model_commit}:{dataset_id}"
    return _queue_all(store, s, actor, [(repo, oid, dataset, suite) for dataset, suite in suites], key=key)


def suite_changed(
    store: Store,
    s: Session,
    dataset: m.Repo,
    tree: Tree,
    oid: str,
    suite: dict[str, Any],
    *,
    actor: Principal | None,
) -> list[int]:
    """Commit ``oid`` (tree ``tree``) of ``dataset`` added or changed its ``suite``: queue its
    run of each model it applies to, at the model's head, as a model's push does (the same
    owner, visibility and pins); the ids of the jobs queued."""
    runs = []
    for model in _candidates(s, dataset, suite):
        if not _applies(model, dataset, suite):
            continue
        head = resolve_revision(s, model, "main").oid
        commit = s.get(m.Commit, head)
        if commit is not None and commit.depth > 0:  # an empty model has nothing to run
            runs.append((model, head, dataset, suite))
    key = "suite:{model_commit}:{dataset_id}:" + oid
    return _queue_all(store, s, actor, runs, key=key, dataset_head=(oid, tree))


def _candidates(s: Session, dataset: m.Repo, suite: dict[str, Any]) -> list[m.Repo]:
    """The model repos ``suite`` may apply to, found through the search index's ``dataset:``
    tags (written in the same transaction as each card) and the suite's ``models:``, so that
    a suite change does not read every model's card; :func:`_applies` decides."""
    tag = f"dataset:{dataset.namespace}/{dataset.name}".lower()
    listed = select(m.SearchFacet.repo_id).where(
        m.SearchFacet.kind == "tag", func.lower(m.SearchFacet.value) == tag
    )
    named = [x.lower() for x in suite.get("models") or [] if isinstance(x, str) and "/" in x]
    where: ColumnElement[bool] = m.Repo.id.in_(listed)
    if named:
        where = or_(where, (func.lower(m.Repo.namespace) + "/" + func.lower(m.Repo.name)).in_(named))
    return list(s.scalars(select(m.Repo).where(m.Repo.type == "model", where).order_by(m.Repo.id)))


def _queue_all(
    store: Store,
    s: Session,
    actor: Principal | None,
    runs: list[tuple[m.Repo, str, m.Repo, dict[str, Any]]],
    *,
    key: str,
    dataset_head: tuple[str, Tree] | None = None,
) -> list[int]:
    """Queue the push runs ``runs`` (model, model commit, dataset, suite) that ``actor`` may
    have; once per ``key`` (formatted with the model commit and the dataset id). A run that
    cannot be queued is logged and skipped: the commit lands regardless. The hub's own commits
    (and anonymous ones) queue nothing, so results never loop."""
    if actor is None or actor.user_id is None or actor.name == BOT_NAME:
        return []
    queued: list[int] = []
    for model, model_commit, dataset, suite in runs:
        if not _may_run(actor, model, dataset):
            continue
        job_key = key.format(model_commit=model_commit, dataset_id=dataset.id)
        try:
            with s.begin_nested():
                job = _queue(store, s, actor, model, model_commit, dataset, suite, job_key, dataset_head)
        except WorkbenchError as exc:
            log.warning(
                "no push run of %s/%s on %s/%s: %s",
                model.namespace,
                model.name,
                dataset.namespace,
                dataset.name,
                exc,
            )
            continue
        if job is not None:
            queued.append(job)
    return queued


def _queue(
    store: Store,
    s: Session,
    actor: Principal,
    model: m.Repo,
    oid: str,
    dataset: m.Repo,
    suite: dict[str, Any],
    key: str,
    dataset_head: tuple[str, Tree] | None,
) -> int | None:
    """Queue one push run; ``dataset_head``: the dataset commit to pin and its tree (default:
    the head of its ``main``)."""
    dataset_commit, tree = dataset_head or (resolve_revision(s, dataset, "main").oid, None)
    notebook = None
    if suite.get("notebook"):
        if tree is None:
            tree = store.load_tree(s, s.get(m.Commit, dataset_commit).tree_hash)  # type: ignore[union-attr]
        entry = tree.get(suite["notebook"])
        if entry is None:
            raise NotFound(f"notebook {suite['notebook']} is not in {dataset.name}.", code="EntryNotFound")
        text = contents.read_bytes(store, entry).decode("utf-8", "replace")
        notebook = {"name": suite["notebook"].rsplit("/", 1)[-1], "content": text}
    spaces = {metric: metric_space_id(metric) for metric in suite["metrics"]}
    reads = [model.id, dataset.id, *runners.metric_reads(store, s, actor, spaces)]
    spec = {
        "model": f"{model.namespace}/{model.name}",
        "dataset": f"{dataset.namespace}/{dataset.name}",
        "model_commit": oid,
        "dataset_commit": dataset_commit,
        "split": suite["split"],
        "metrics": list(suite["metrics"]),
        "parameters": dict(suite["parameters"]),
        "notebook": notebook,
        "reads": reads,
    }
    assert actor.user_id is not None
    return runners.add_job(
        s,
        repo_id=model.id,
        owner_id=actor.user_id,
        kind="run",
        spec=spec,
        timeout=suite.get("timeout") or runners.DEFAULT_TIMEOUT,
        requires=list(suite["requires"]),
        trigger="push",
        key=hashlib.sha1(key.encode()).hexdigest(),
    )
