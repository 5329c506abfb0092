"""Kernel helpers ``wb.evaluate`` and ``wb.leaderboard``.

>>> record = wb.evaluate("admin/tiny-classifier", "admin/iris-mini", ["accuracy"])  # doctest: +SKIP
>>> wb.leaderboard("admin/iris-mini", metric="accuracy")                            # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from workbench.evals.records import RunRecord
from workbench.evals.runner import EvalSpec, run_evaluation

if TYPE_CHECKING:
    from workbench.evals.leaderboard import Leaderboard


def evaluate(
    model: str,
    dataset: str,
    metrics: str | Sequence[str] = ("accuracy",),
    *,
    split: str = "test",
    notebook: str | None = None,
    parameters: dict[str, Any] | None = None,
    timeout: float | None = None,
    publish: bool = False,
    on: str = "here",
    requires: Sequence[str] = (),
) -> RunRecord:
    """Run the evaluation notebook in a fresh kernel and store its record on the hub.

    ``on="hub"``: queue it for the hub's runners (``requires``: labels the runner must have);
    the progress shows here, and the record is verified.

    >>> wb.evaluate("admin/tiny-classifier", "admin/iris-mini", ["accuracy", "f1"])  # doctest: +SKIP
    RunRecord(3f2a..., succeeded, {'accuracy': 0.93, 'f1': 0.93})
    """
    from workbench.errors import InvalidRequest
    from workbench.kernel.session import connection

    conn = connection()
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    spec = EvalSpec(
        model,
        dataset,
        metrics=names,
        split=split,
        notebook=notebook,
        parameters=dict(parameters or {}),
        timeout=timeout,
        hub_url=conn.url,
        token=conn.token,
        publish=publish,
    )
    if on == "hub":
        from workbench.evals.hub_jobs import run_on_hub

        return run_on_hub(conn.client, spec, requires=list(requires), progress=_notebook_progress())
    if on != "here":
        raise InvalidRequest(f"on={on!r}: use 'here' or 'hub'.", code="InvalidExecutor")
    if requires:
        raise InvalidRequest("requires= goes with on='hub'.", code="InvalidExecutor")
    return run_evaluation(spec, progress=_notebook_progress(), client=conn.client)


def _notebook_progress() -> Any:
    """Per-cell progress as one updating line in the notebook (plain print elsewhere)."""
    try:
        from IPython.display import display

        handle = display("starting ...", display_id=True)
    except ImportError:
        handle = None

    def show(event: dict[str, Any]) -> None:
        if event["event"] == "cell_start":
            text = f"running cell {event['index'] + 1}/{event['total']} ({event.get('id')})"
        elif event["event"] == "done":
            text = f"run {event.get('status')}: {event.get('metrics') or event.get('error')}"
        else:
            return
        if handle is not None:
            handle.update(text)
        else:
            print(text, flush=True)

    return show


def leaderboard(
    dataset: str, *, metric: str = "accuracy", split: str | None = "test", verified_only: bool = False
) -> Leaderboard:
    """The best run of each model on ``dataset`` (a DataFrame that draws a bar chart; each
    entry marked verified or self-reported). ``verified_only``: only records runners posted.

    >>> wb.leaderboard("admin/iris-mini", metric="accuracy")        # doctest: +SKIP
    """
    from workbench.evals.leaderboard import to_frame
    from workbench.kernel.session import connection

    conn = connection()
    board = conn.client.leaderboard(dataset, metric=metric, split=split, verified_only=verified_only)
    return to_frame(board, base_url=conn.url)
