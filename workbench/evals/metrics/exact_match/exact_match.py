"""Exact match: a Workbench built-in metric module for `evaluate.load("exact_match")`.

Written for Workbench (no scikit-learn needed); published to the hub as the space
`evaluate-metric/exact_match` by `workbench hub init` and on the hub's first start.
"""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """Exact match: the fraction of predicted strings identical to their references."""

_KWARGS_DESCRIPTION = """
Args:
    predictions: predicted strings.
    references: reference strings.
    ignore_case: compare case-insensitively. ignore_punctuation: drop punctuation.
    strip: strip surrounding whitespace before comparing.
Returns:
    exact_match: float in [0, 1].
Examples:
    >>> metric = evaluate.load("exact_match")
    >>> metric.compute(predictions=["a", "b"], references=["a", "c"])
    {'exact_match': 0.5}
"""

_CITATION = ""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class ExactMatch(evaluate.Metric):
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
                    "predictions": datasets.Value("string"),
                    "references": datasets.Value("string"),
                }
            ),
        )

    def _compute(self, predictions, references, ignore_case=False, ignore_punctuation=False, strip=False):
        import string

        def norm(text):
            text = str(text)
            if strip:
                text = text.strip()
            if ignore_case:
                text = text.lower()
            if ignore_punctuation:
                text = text.translate(str.maketrans("", "", string.punctuation))
            return text

        hits = [norm(p) == norm(r) for p, r in zip(predictions, references, strict=True)]
        return {"exact_match": float(np.mean(hits)) if hits else 0.0}
