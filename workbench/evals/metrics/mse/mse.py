"""Mean squared error: a Workbench built-in metric module for `evaluate.load("mse")`.

Written for Workbench (no scikit-learn needed); published to the hub as the space
`evaluate-metric/mse` by `workbench hub init` and on the hub's first start.
"""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """Mean squared error between predicted and reference values (regression)."""

_KWARGS_DESCRIPTION = """
Args:
    predictions: predicted values (float).
    references: true values (float).
    squared: False returns the root mean squared error.
    sample_weight: weight per example.
Returns:
    mse: float >= 0.
Examples:
    >>> metric = evaluate.load("mse")
    >>> metric.compute(predictions=[2.5, 0.0], references=[3.0, -0.5])
    {'mse': 0.25}
"""

_CITATION = ""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Mse(evaluate.Metric):
    # Read by Workbench: which way is better, and how far a re-run may drift (absolute).
    higher_is_better = False
    tolerance = 1e-9

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Value("float64"),
                    "references": datasets.Value("float64"),
                }
            ),
        )

    def _compute(self, predictions, references, squared=True, sample_weight=None):
        p = np.asarray(predictions, dtype=float)
        r = np.asarray(references, dtype=float)
        value = float(np.average((p - r) ** 2, weights=sample_weight)) if len(r) else 0.0
        return {"mse": value if squared else float(np.sqrt(value))}
