"""Reproducible evaluation runs: papermill runner, run records, reproduction, leaderboards.

>>> from workbench.evals import EvalSpec, run_evaluation
>>> record = run_evaluation(EvalSpec("admin/tiny-classifier", "admin/iris-mini"))  # doctest: +SKIP
"""

from workbench.evals.records import RunRecord, build_record
from workbench.evals.report import MIME, read_results
from workbench.evals.runner import EvalSpec, run_evaluation, template_path

__all__ = ["MIME", "EvalSpec", "RunRecord", "build_record", "read_results", "run_evaluation", "template_path"]
