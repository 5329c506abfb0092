"""``workbench eval ...``: run, record, reproduce, show and list evaluation runs; leaderboards; gates.

    workbench eval run --model admin/tiny-classifier --dataset admin/iris-mini --metric accuracy
    papermill notebooks/evaluate.ipynb out.ipynb -p model M -p dataset D
    workbench eval record out.ipynb
    workbench eval reproduce RUN_ID            # your own record: re-run it and attach the re-run
    workbench eval leaderboard admin/iris-mini --metric accuracy
    workbench eval gate gate.yaml --junit gate.xml --summary gate.md

Failed runs exit with status 1 (after storing their record); errors print ``error: ...``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from workbench.cli.options import JsonOpt, TokenOpt, UrlOpt, errors_to_exit, fail
from workbench.client import HubClient

app = typer.Typer(no_args_is_help=True, help="Reproducible evaluation runs and leaderboards.")

ExecutorOpt = Annotated[
    str,
    typer.Option(
        "--executor",
        help="'local' (a pool of processes) or 'dask://HOST:PORT' (a dask.distributed scheduler).",
    ),
]
TimeoutOpt = Annotated[
    float | None, typer.Option("--timeout", help="Seconds the whole run may take; a run past it fails.")
]
OnOpt = Annotated[
    str,
    typer.Option(
        "--on",
        help="'here' (this machine) or 'hub' (queue a job for the hub's runners; the record is verified).",
    ),
]
RequiresOpt = Annotated[
    list[str] | None,
    typer.Option("--requires", help="With --on hub: a label the runner must have, e.g. gpu (repeatable)."),
]
OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--output-dir", help="Where executed notebooks are kept (default: ~/.cache/workbench/eval-runs)."
    ),
]


def _value(text: str) -> Any:
    """papermill's ``-p`` typing: ints, floats, True/False/None, YAML lists/maps, else text."""
    if text in ("None", "none", "null"):
        return None
    try:
        import yaml

        value = yaml.safe_load(text)
    except Exception:  # anything YAML rejects is plain text
        return text
    quoted = isinstance(value, str) and text[:1] in ("'", '"')  # -p name '"a b"'
    return value if isinstance(value, int | float | bool | list | dict) or quoted else text


def _parameters(args: list[str]) -> dict[str, Any]:
    """``-p NAME VALUE`` pairs (repeatable) from the arguments typer left over."""
    out: dict[str, Any] = {}
    i = 0
    while i < len(args):
        if args[i] not in ("-p", "--parameter"):
            fail(f"Unexpected argument {args[i]!r}; parameters are given as -p NAME VALUE.")
        if i + 2 >= len(args):
            fail(f"{args[i]} takes two values: NAME VALUE.")
        out[args[i + 1]] = _value(args[i + 2])
        i += 3
    return out


def _client(url: str | None, token: str | None) -> HubClient:
    return HubClient(url, token, progress=False)


class TerminalProgress:
    """One line per cell on stderr: which cell runs, how long each took."""

    def __init__(self, label: str = "", enabled: bool = True) -> None:
        self.label = label
        self.enabled = enabled

    def __call__(self, event: dict[str, Any]) -> None:
        if not self.enabled:
            return
        kind = event.get("event")
        prefix = f"[{self.label}] " if self.label else ""
        if kind == "resolve":
            typer.echo(f"{prefix}pinning {event['model']} and {event['dataset']} ...", err=True)
        elif kind == "cell_start":
            typer.echo(
                f"{prefix}cell {event['index'] + 1}/{event['total']} {event.get('id') or ''} ...", err=True
            )
        elif kind == "cell_complete":
            typer.echo(
                f"{prefix}cell {event['index'] + 1}/{event['total']} {event.get('status')} "
                f"in {event.get('duration', 0):.2f} s",
                err=True,
            )


def _show_record(data: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        typer.echo(
            json.dumps(
                {k: v for k, v in data.items() if not (k == "notebook" and isinstance(v, str))},
                indent=2,
                default=str,
            )
        )
        return
    typer.echo(f"run {data.get('id') or '(not stored)'}: {data.get('status')}")
    if data.get("id"):
        verified = data.get("verified")
        typer.echo(f"  verified by runner {data.get('verified_by')}" if verified else "  self-reported")
    typer.echo(f"  model    {data.get('model')} @ {str(data.get('model_commit') or '?')[:12]}")
    typer.echo(
        f"  dataset  {data.get('dataset')} @ {str(data.get('dataset_commit') or '?')[:12]} "
        f"[{data.get('split')}]"
    )
    for name, value in (data.get("metrics") or {}).items():
        typer.echo(f"  {name:<12} {value}")
    if data.get("error"):
        err = data["error"]
        where = (
            f" (cell {err.get('cell_index')}, {err.get('cell_id')})"
            if err.get("cell_index") is not None
            else ""
        )
        typer.echo(f"  error{where}: {err.get('message')}")
    if data.get("reproduction"):
        typer.echo(
            f"  reproduction: {data['reproduction']} by {data.get('reproduced_by')} at "
            f"{data.get('reproduced_at')} (re-run {data.get('reproduction_run')})"
        )
        for diff in data.get("differences") or []:
            typer.echo(f"    {_difference(diff)}")
    if data.get("notebook_path"):
        typer.echo(f"  executed notebook: {data['notebook_path']}")


def _difference(diff: dict[str, Any]) -> str:
    if "error" in diff:
        return f"re-run failed: {(diff['error'] or {}).get('message')}"
    return (
        f"{diff.get('metric')}: original {diff.get('original')}, re-run {diff.get('rerun')} "
        f"(tolerance {diff.get('tolerance')})"
    )


@app.command("run", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@errors_to_exit
def run(
    ctx: typer.Context,
    model: Annotated[str, typer.Option("--model", help="Model repo id.")],
    dataset: Annotated[str, typer.Option("--dataset", help="Dataset repo id.")],
    metric: Annotated[
        list[str] | None,
        typer.Option("--metric", help="evaluate module name (repeatable; default accuracy)."),
    ] = None,
    split: Annotated[str, typer.Option("--split", help="Dataset split.")] = "test",
    notebook: Annotated[
        Path | None, typer.Option("--notebook", help="Evaluation notebook (default: the template).")
    ] = None,
    model_revision: Annotated[str | None, typer.Option("--model-revision")] = None,
    dataset_revision: Annotated[str | None, typer.Option("--dataset-revision")] = None,
    executor: ExecutorOpt = "local",
    timeout: TimeoutOpt = None,
    output_dir: OutOpt = None,
    publish: Annotated[
        bool, typer.Option("--publish", help="Also write the metrics into the model card's model-index.")
    ] = False,
    on: OnOpt = "here",
    requires: RequiresOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Evaluate a model on a dataset split in a fresh kernel and store the run record.

    Notebook parameters: -p NAME VALUE (repeatable), e.g. -p batch_size 256 -p seed 1.
    With --on hub a runner runs it: the progress streams here, the record is verified.
    """
    from workbench.evals.executors import run_many
    from workbench.evals.hub_jobs import run_on_hub
    from workbench.evals.runner import EvalSpec, run_evaluation

    _check_on(on, requires)

    with _client(url, token) as client:
        spec = EvalSpec(
            model,
            dataset,
            metrics=list(metric or ["accuracy"]),
            split=split,
            notebook=str(notebook) if notebook else None,
            parameters=_parameters(ctx.args),
            model_revision=model_revision,
            dataset_revision=dataset_revision,
            timeout=timeout,
            hub_url=client.url,
            token=client.token,
            output_dir=str(output_dir) if output_dir else None,
            publish=publish,
        )
        progress = TerminalProgress()  # on stderr: stdout stays clean for --json
        if on == "hub":
            record = run_on_hub(client, spec, requires=requires or [], progress=progress)
        elif executor == "local":
            record = run_evaluation(spec, progress=progress, client=client)
        else:
            record = run_many([spec], executor=executor, progress=lambda i, e: progress(e))[0]
    _show_record(record.to_dict(), as_json=as_json)
    if not record.ok:
        raise typer.Exit(1)


@app.command("record")
@errors_to_exit
def record(
    notebook: Annotated[Path, typer.Argument(help="A notebook executed by papermill.")],
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Store the run record of a notebook executed with plain papermill (CI)."""
    from workbench.evals.records import build_record, upload

    with _client(url, token) as client:

        def resolve(repo_id: str, kind: str, revision: str | None) -> str:
            return client.revision_sha(repo_id, type=kind, revision=revision or "main")

        data = build_record(notebook, resolve=resolve)
        stored = upload(client, data, notebook)
    _show_record(stored.to_dict(), as_json=as_json)
    if not stored.ok:
        raise typer.Exit(1)


@app.command("reproduce")
@errors_to_exit
def reproduce(
    run_id: Annotated[str, typer.Argument(help="Run record id.")],
    timeout: TimeoutOpt = None,
    output_dir: OutOpt = None,
    on: OnOpt = "here",
    requires: RequiresOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-run your record with its pins and parameters and attach the re-run.

    The hub compares the metrics and marks the record reproduced, differs or failed, with who
    attached the re-run and when. Only the record's owner may; exit 1 unless it reproduced.
    With --on hub a runner re-runs it (any record you may read; the only way a verified
    record gets its reproduction).
    """
    from workbench.evals.hub_jobs import reproduce_on_hub
    from workbench.evals.reproduce import reproduce as do_reproduce

    _check_on(on, requires)
    with _client(url, token) as client:
        if on == "hub":
            outcome = reproduce_on_hub(
                client, run_id, requires=requires or [], timeout=timeout, progress=TerminalProgress()
            )
        else:
            outcome = do_reproduce(
                run_id,
                client=client,
                timeout=timeout,
                output_dir=str(output_dir) if output_dir else None,
                progress=TerminalProgress(),
            )
    if as_json:
        typer.echo(json.dumps(outcome, indent=2, default=str))
    else:
        who = outcome["reproduced_by"]
        by = f" by {who} at {outcome['reproduced_at']}" if who else ""
        typer.echo(f"run {run_id}: {outcome['status']}{by} (re-run {outcome['rerun']})")
        for diff in outcome["differences"]:
            typer.echo(f"  {_difference(diff)}")
    if outcome["status"] != "reproduced":
        raise typer.Exit(1)


def _check_on(on: str, requires: list[str] | None) -> None:
    if on not in ("here", "hub"):
        fail(f"--on takes 'here' or 'hub', not {on!r}.")
    if requires and on != "hub":
        fail("--requires goes with --on hub.")


@app.command("jobs")
@errors_to_exit
def jobs(
    state: Annotated[
        str | None,
        typer.Option("--state", help="queued, running, succeeded, failed or cancelled."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit")] = 50,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List your evaluation jobs on the hub's runners, newest first."""
    from workbench.client import runners as api

    with _client(url, token) as client:
        rows = api.list_jobs(client, state=state, limit=limit)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no jobs")
    for j in rows:
        what = j["spec"].get("reproduction_of") or f"{j['spec'].get('model')} on {j['spec'].get('dataset')}"
        extra = j.get("record") or j.get("error") or ""
        if j.get("trigger") == "push":
            pr = f"  PR #{j['pull_request']}" if j.get("pull_request") else ""
            extra = f"trigger: push{pr}  {extra}"
        typer.echo(f"{j['id']:>6}  {j['state']:<9} {j['kind']:<9} {what}  {j.get('runner') or '-'}  {extra}")


@app.command("suite")
@errors_to_exit
def suite(
    dataset: Annotated[str, typer.Argument(help="Dataset repo id.")],
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the evaluation suite a dataset's card declares, or why it is malformed (exit 1)."""
    from workbench.client import runners as api

    with _client(url, token) as client:
        result = api.eval_suite(client, dataset)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    if not result["declared"]:
        fail(
            f"{result['dataset']} declares no evaluation suite: add `workbench: evaluation:` to the "
            "YAML metadata of its README.md."
        )
    if not result["valid"]:
        fail(f"{result['dataset']} at {result['commit'][:12]}: {result['error']}")
    if not as_json:
        s = result["suite"]
        metrics = ", ".join(s["metrics"])
        typer.echo(f"{result['dataset']} at {result['commit'][:12]}: split {s['split']}, metrics {metrics}")
        for key in ("parameters", "notebook", "requires", "timeout", "models"):
            if s.get(key):
                typer.echo(f"  {key}: {s[key]}")


@app.command("cancel")
@errors_to_exit
def cancel(
    job: Annotated[int, typer.Argument(help="Job id (`workbench eval jobs`).")],
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Cancel your queued or running evaluation job (a runner running it stops)."""
    from workbench.client import runners as api

    with _client(url, token) as client:
        result = api.cancel_job(client, job)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        typer.echo(f"job {job}: {result['state']}")


@app.command("show")
@errors_to_exit
def show(
    run_id: Annotated[str, typer.Argument(help="Run record id.")],
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one run record."""
    with _client(url, token) as client:
        _show_record(client.eval_run(run_id), as_json=as_json)


@app.command("list")
@errors_to_exit
def list_runs(
    model: Annotated[str | None, typer.Option("--model")] = None,
    dataset: Annotated[str | None, typer.Option("--dataset")] = None,
    status: Annotated[str | None, typer.Option("--status", help="running, succeeded or failed.")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 50,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List run records, newest first."""
    with _client(url, token) as client:
        runs = client.eval_runs(model=model, dataset=dataset, status=status, limit=limit)
    if as_json:
        typer.echo(json.dumps(runs, indent=2))
        return
    for r in runs:
        metrics = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r["metrics"].items()
        )
        typer.echo(
            f"{r['id']}  {r['status']:<9} {r['model']} on {r['dataset']} [{r['split']}]  "
            f"{metrics}  {r.get('reproduction') or ''}"
        )


@app.command("leaderboard")
@errors_to_exit
def leaderboard(
    dataset: Annotated[str, typer.Argument(help="Dataset repo id.")],
    metric: Annotated[str, typer.Option("--metric", help="Metric name.")] = "accuracy",
    split: Annotated[str, typer.Option("--split")] = "test",
    verified: Annotated[
        bool, typer.Option("--verified", help="Only records the hub's runners posted (verified).")
    ] = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The best run of each model on a dataset split, for one metric (each marked verified or
    self-reported)."""
    from workbench.evals.leaderboard import badge

    with _client(url, token) as client:
        board = client.leaderboard(dataset, metric=metric, split=split, verified_only=verified)
        base = client.url
    if as_json:
        typer.echo(json.dumps(board, indent=2))
        return
    better = "higher" if board["higher_is_better"] else "lower"
    typer.echo(f"{dataset} [{split}] {metric} ({better} is better)")
    if not board["entries"]:
        typer.echo("  no succeeded runs yet")
    for e in board["entries"]:
        mark = badge(e.get("verified"), e.get("verified_by"))
        typer.echo(
            f"{e['rank']:>3}. {e['model']:<40} {e['value']:<12.6g} {e['model_commit'][:12]}  "
            f"{mark:<24} {base}{e['url']}"
        )


@app.command("gate")
@errors_to_exit
def gate(
    spec_path: Annotated[Path, typer.Argument(metavar="SPEC.yaml", help="Gate spec (YAML).")],
    junit: Annotated[Path, typer.Option("--junit", help="JUnit XML report.")] = Path("eval-gate.xml"),
    summary: Annotated[Path, typer.Option("--summary", help="Markdown summary.")] = Path("eval-gate.md"),
    executor: Annotated[str | None, typer.Option("--executor", help="Override the spec's executor.")] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", help="Runs at once (local).")] = None,
    verified: Annotated[
        bool,
        typer.Option(
            "--verified",
            help="Run on the hub's runners and count only verified records (`verified: true` in the spec).",
        ),
    ] = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a model x dataset x metric matrix; exit 1 on a threshold or regression failure."""
    from workbench.evals.gate import junit_xml, load_spec, markdown_summary, run_gate

    spec = load_spec(spec_path)

    def progress(i: int, event: dict[str, Any]) -> None:
        if event.get("event") == "done" and not as_json:
            ev = spec.evaluations[i]
            typer.echo(
                f"[{i + 1}/{len(spec.evaluations)}] {ev.model} on {ev.dataset}: {event.get('status')}",
                err=True,
            )

    with _client(url, token) as client:
        outcome = run_gate(
            spec, client=client, executor=executor, jobs=jobs, progress=progress, verified=verified or None
        )
        base = client.url
    junit.write_text(junit_xml(outcome), encoding="utf-8")
    summary.write_text(markdown_summary(outcome, base_url=base), encoding="utf-8")
    if as_json:
        typer.echo(
            json.dumps({"passed": outcome.passed, "checks": [c.__dict__ for c in outcome.checks]}, indent=2)
        )
    else:
        typer.echo(markdown_summary(outcome, base_url=base))
    if not outcome.passed:
        raise typer.Exit(1)


@app.command("export")
@errors_to_exit
def export(
    run_id: Annotated[str, typer.Argument(help="Run record id (it must have succeeded).")],
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="New or empty folder.")],
    repo_url: Annotated[
        str | None,
        typer.Option("--repo-url", help="Git URL the folder will be pushed to (adds a Binder badge)."),
    ] = None,
    ref: Annotated[str, typer.Option("--ref", help="Branch or tag for the badge.")] = "main",
    workbench: Annotated[
        str | None,
        typer.Option(
            "--workbench",
            help="Requirement that "
            "installs Workbench (default: this "
            "installation's Git source at its "
            "commit, if it has one).",
        ),
    ] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Write a folder that reproduces one run anywhere: notebook, parameters, binder/, README."""
    from workbench.evals.export import export_run

    with _client(url, token) as client:
        out = export_run(run_id, folder, client=client, repo_url=repo_url, ref=ref, workbench=workbench)
    typer.echo(f"exported run {run_id} to {out}: see {out / 'README.md'}")
