"""Accuracy: a Workbench built-in metric module for `evaluate.load("accuracy")`.

Written for Workbench (no scikit-learn needed); published to the hub as the space
`evaluate-metric/accuracy` by `workbench hub init` and on the hub's first start.
"""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """Accuracy: the fraction of predictions equal to their references."""

_KWARGS_DESCRIPTION = """
Args:
    predictions: predicted labels (int).
    references: true labels (int).
    normalize: return the fraction (True) or the count (False).
    sample_weight: weight per example.
Returns:
    accuracy: float in [0, 1] (or a count).
Examples:
    >>> metric = evaluate.load("accuracy")
    >>> metric.compute(predictions=[0, 1, 1], references=[0, 1, 0])
    {'accuracy': 0.6666666666666666}
"""

_CITATION = ""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Accuracy(evaluate.Metric):
    # Read by Workbench: which way is better, and how far a re-run may drift (absolute).
    higher_is_better = True
    tolerance = 0.0

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Value("int32"),
                    "references": datasets.Value("int32"),
                }
            ),
        )

    def _compute(self, predictions, references, normalize=True, sample_weight=None):
        p = np.asarray(predictions)
        r = np.asarray(references)
        w = np.ones(len(r)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        hits = float(w[p == r].sum())
        value = hits / float(w.sum()) if normalize else hits
        return {"accuracy": float(value) if len(r) else 0.0}
