"""Export one evaluation record as a folder that reproduces it anywhere (a laptop, CI, Binder).

The folder holds the notebook as it was before papermill ran it, ``parameters.yaml`` (the
record's parameters with the model and dataset pinned to the record's commits),
``expected.json`` (the metrics to get back, and where they came from), ``binder/`` in
repo2docker's conventions whose ``requirements.txt`` pins the packages the run used (the
dependency tree of Workbench's ``ml`` and ``notebook`` extras, at the versions in the record's
environment), and a README with the commands and, given the folder's Git URL, a Binder badge.

>>> export_run("3f2a...", Path("repro"), client=hub)       # doctest: +SKIP
PosixPath('repro')
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from workbench.binder import badge_markdown, binder_url
from workbench.errors import Conflict, InvalidRequest
from workbench.evals.reproduce import source_notebook

# Installed besides Workbench's own extras: papermill needs a kernel to run the notebook in.
ROOTS = ("ipykernel",)
EXTRAS = ("ml", "notebook")
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
_SAFE_NAME = re.compile(r"^[\w][\w .-]*\.ipynb$")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def dependency_names(root: str = "workbench", extras: Iterable[str] = EXTRAS) -> set[str]:
    """Canonical names of ``root[extras]``'s dependency tree, from this environment's metadata.

    A dependency that is not installed here still counts (its own dependencies are unknown).
    """
    from packaging.requirements import Requirement

    seen: set[str] = set()
    todo: list[tuple[str, frozenset[str]]] = [(root, frozenset(extras)), *((r, frozenset()) for r in ROOTS)]
    done: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, wanted = todo.pop()
        key = (_canonical(name), wanted)
        if key in done:
            continue
        done.add(key)
        seen.add(key[0])
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            req = Requirement(line)
            envs = [{"extra": e} for e in (wanted or {""})]
            if req.marker is None or any(req.marker.evaluate(env) for env in envs):
                todo.append((req.name, frozenset(req.extras)))
    return seen


def installed_workbench(checkout: Path | None = None) -> str | None:
    """A requirement that installs this Workbench on another machine, or None if there is none.

    Workbench is installed from its source, not from a package index: from a Git URL (pip
    records it in ``direct_url.json``), or from a checkout (the clone's remote on a Git host,
    at its commit, when a remote branch holds that commit). A checkout counts only when this
    Workbench is installed from it (editable): a wheel installed into a virtual environment
    that happens to sit inside some other clone is not that clone's code.
    """
    from urllib.parse import unquote, urlparse

    from workbench.binder import detect_git_source
    from workbench.binder import git_output as _git

    extras = "workbench[ml,notebook]"
    try:
        dist = metadata.distribution("workbench")
        direct = json.loads(dist.read_text("direct_url.json") or "{}")
    except (metadata.PackageNotFoundError, ValueError):
        direct = {}
    vcs = direct.get("vcs_info") or {}
    if vcs.get("vcs") == "git" and direct.get("url") and vcs.get("commit_id"):
        return f"{extras} @ git+{direct['url']}@{vcs['commit_id']}"
    if checkout is None:
        url = urlparse(direct.get("url") or "")
        if not (direct.get("dir_info") or {}).get("editable") or url.scheme != "file":
            return None
        checkout = Path(unquote(url.path))
    source = detect_git_source(checkout / "pyproject.toml")
    head = _git(checkout, "rev-parse", "HEAD")
    if source is None or head is None or source.ref != head:
        return None  # not a clone, no Git host, or a commit no remote branch has
    return f"{extras} @ git+{source.repo_url}.git@{head}"


def pinned_requirements(environment: Mapping[str, Any], *, workbench: str | None = None) -> str:
    """``requirements.txt`` text pinning the run's packages to the versions it recorded."""
    recorded = {_canonical(k): str(v) for k, v in (environment.get("packages") or {}).items()}
    if not recorded:
        raise InvalidRequest(
            "The record has no package list in its environment, so its environment cannot be pinned.",
            code="NoEnvironment",
        )
    names = sorted(dependency_names() - {"workbench"})
    pins = [f"{name}=={recorded[name]}" for name in names if name in recorded]
    unpinned = [name for name in names if name not in recorded]
    version = recorded.get("workbench")
    lines = [
        f"# The packages of the recorded run (Python {environment.get('python', '?')}, "
        f"{environment.get('platform', '?')}), at the versions it used."
    ]
    if recorded.get("torch", "").endswith("+cpu"):
        lines += ["# torch's CPU builds are on PyTorch's own index.", f"--extra-index-url {TORCH_CPU_INDEX}"]
    workbench = workbench or installed_workbench()
    if workbench is None:
        lines.append(
            "# Workbench is installed from its source, not a package index: replace the "
            "next line with where your team installs it from (or export with "
            "--workbench 'workbench[ml,notebook] @ git+https://HOST/ORG/workbench@REF')."
        )
        workbench = f"workbench=={version}" if version else "workbench"
    lines.append(workbench)
    lines += pins
    if unpinned:
        lines.append(f"# not in the record, resolved by pip: {', '.join(unpinned)}")
        lines += unpinned
    return "\n".join(lines) + "\n"


def _notebook_name(record: Mapping[str, Any]) -> str:
    name = Path(str((record.get("notebook") or {}).get("name") or "")).name
    return name if _SAFE_NAME.match(name) else "evaluate.ipynb"


def _parameters(record: Mapping[str, Any]) -> dict[str, Any]:
    params = {k: v for k, v in (record.get("parameters") or {}).items()}
    params.update(
        model=record["model"],
        dataset=record["dataset"],
        split=record["split"],
        model_revision=record["model_commit"],
        dataset_revision=record["dataset_commit"],
    )
    return params


def _readme(record: Mapping[str, Any], hub: str, notebook: str, badge_url: str | None) -> str:
    metrics = "\n".join(f"| `{k}` | {v} |" for k, v in (record.get("metrics") or {}).items())
    env = record.get("environment") or {}
    packages = ", ".join(f"{k} {v}" for k, v in (env.get("key_packages") or {}).items())
    badge = f"{badge_markdown(badge_url)}\n\n" if badge_url else ""
    binder = (
        f"Or click the badge above: Binder builds `binder/` and opens `{notebook}`; "
        "set the hub and token in its first cell with `wb.connect(url, token=...)`."
        if badge_url
        else "To open it on Binder, push this folder to a Git host and export again with "
        "`--repo-url` (or build the link with `wb.binder_url(repo_url, "
        f'notebook="{notebook}")`).'
    )
    return f"""# Reproduce evaluation run {record["id"]}

{badge}`{record["model"]}` (commit `{record["model_commit"]}`) on `{record["dataset"]}`
(commit `{record["dataset_commit"]}`, split `{record["split"]}`), recorded on {hub}.

| metric | recorded value |
|---|---|
{metrics}

Recorded with Python {env.get("python", "?")} on {env.get("platform", "?")}; {packages}.

## Install

```bash
python -m venv .venv && . .venv/bin/activate
pip install -r binder/requirements.txt
```

## Run

A token that can read the model and the dataset goes in `WORKBENCH_TOKEN`.

```bash
export WORKBENCH_HUB_URL={hub} HF_ENDPOINT={hub}
export HF_UPDATE_DOWNLOAD_COUNTS=0 HF_HUB_DISABLE_TELEMETRY=1
papermill {notebook} executed.ipynb -f parameters.yaml
workbench eval record executed.ipynb
```

`workbench eval record` stores the re-run as a new record on the hub and prints its metrics:
they should equal the ones above (`expected.json`), within each metric's declared tolerance.
`workbench eval reproduce {record["id"]}` does the same from the hub's copy of the record.

{binder}

## Files

| file | what |
|---|---|
| `{notebook}` | the evaluation notebook, as it was before the run |
| `parameters.yaml` | the run's parameters, the model and dataset pinned to their commits |
| `expected.json` | the recorded metrics, pins and environment |
| `binder/requirements.txt` | the run's packages at their recorded versions (repo2docker reads `binder/`) |
"""


def export_run(
    run_id: str,
    folder: Path,
    *,
    client: Any,
    repo_url: str | None = None,
    ref: str = "main",
    workbench: str | None = None,
) -> Path:
    """Write the reproduction folder of run ``run_id`` to ``folder`` (new or empty).

    ``repo_url``/``ref``: where the folder will live on a Git host, for the Binder badge.
    ``workbench``: the requirement that installs Workbench (default: this installation's Git
    source at its commit, see :func:`installed_workbench`; else ``workbench==VERSION`` with a
    comment saying to replace it), e.g. ``workbench @ git+https://github.com/ORG/workbench@v0.1.0``.
    """
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise Conflict(
            f"{folder} exists and is not an empty folder: export into a new one.", code="ExportFolderNotEmpty"
        )
    record = client.eval_run(run_id)
    if record.get("status") != "succeeded":
        raise InvalidRequest(
            f"Run {run_id} {record.get('status')}: only a run that succeeded has metrics to reproduce.",
            code="RunNotSucceeded",
        )
    notebook = _notebook_name(record)
    badge_url = binder_url(repo_url, ref=ref, notebook=notebook) if repo_url else None
    requirements = pinned_requirements(record.get("environment") or {}, workbench=workbench)
    executed = client.eval_notebook(run_id)
    python = str((record.get("environment") or {}).get("python") or "")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        source_notebook(executed, Path(tmp)).replace(folder / notebook)
    (folder / "parameters.yaml").write_text(
        "# papermill -f parameters.yaml: the run's parameters, pinned to its commits\n"
        + yaml.safe_dump(_parameters(record), sort_keys=True),
        encoding="utf-8",
    )
    env = record.get("environment") or {}
    expected = {
        "run": record["id"],
        "hub": client.url,
        **{k: record[k] for k in ("model", "model_commit", "dataset", "dataset_commit", "split")},
        "metrics": record.get("metrics") or {},
        "metric_info": record.get("metric_info") or {},
        "environment": {k: env.get(k) for k in ("python", "platform", "key_packages")},
    }
    (folder / "expected.json").write_text(json.dumps(expected, indent=2) + "\n", encoding="utf-8")
    (folder / "binder").mkdir()
    (folder / "binder" / "requirements.txt").write_text(requirements, encoding="utf-8")
    if re.match(r"^3\.\d+", python):
        (folder / "binder" / "runtime.txt").write_text(
            f"python-{'.'.join(python.split('.')[:2])}\n", encoding="utf-8"
        )
    (folder / "README.md").write_text(_readme(record, client.url, notebook, badge_url), encoding="utf-8")
    return folder
