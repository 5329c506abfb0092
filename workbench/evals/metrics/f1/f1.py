"""F1: a Workbench built-in metric module for `evaluate.load("f1")`.

Written for Workbench (no scikit-learn needed); published to the hub as the space
`evaluate-metric/f1` by `workbench hub init` and on the hub's first start.
"""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """F1: the harmonic mean of precision and recall, 2tp / (2tp + fp + fn)."""

_KWARGS_DESCRIPTION = """
Args:
    predictions: predicted labels (int).
    references: true labels (int).
    average: 'binary' (default; needs two classes), 'micro', 'macro', 'weighted' or None.
    labels: the classes to include (default: all seen). pos_label: the positive class (binary).
    sample_weight: weight per example. zero_division: the value when a ratio is 0/0.
Returns:
    f1: float in [0, 1] (a list with average=None).
Examples:
    >>> metric = evaluate.load("f1")
    >>> metric.compute(predictions=[0, 1, 1], references=[0, 1, 0])
    {'f1': 0.6666666666666666}
"""

_CITATION = ""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class F1(evaluate.Metric):
    # Read by Workbench: which way is better, and how far a re-run may drift (absolute).
    higher_is_better = True
    tolerance = 1e-12

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

    def _compute(
        self,
        predictions,
        references,
        labels=None,
        pos_label=1,
        average="binary",
        sample_weight=None,
        zero_division=0.0,
    ):
        p = np.asarray(predictions)
        r = np.asarray(references)
        w = np.ones(len(r)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        classes = np.unique(np.concatenate([p, r])) if labels is None else np.asarray(labels)
        if average == "binary":
            if len(classes) > 2:
                raise ValueError(
                    "Target is multiclass but average='binary'; pass average='macro', 'micro' or 'weighted'."
                )
            classes = np.asarray([pos_label])
        tp = np.array([w[(p == c) & (r == c)].sum() for c in classes])
        fp = np.array([w[(p == c) & (r != c)].sum() for c in classes])
        fn = np.array([w[(p != c) & (r == c)].sum() for c in classes])
        support = np.array([w[r == c].sum() for c in classes])
        if average == "micro":
            tp, fp, fn, support = (
                tp.sum(keepdims=True),
                fp.sum(keepdims=True),
                fn.sum(keepdims=True),
                support.sum(keepdims=True),
            )
        score = _score(tp, fp, fn, zero_division)
        if average in (None, "none"):
            return {"f1": score.tolist()}
        if average == "weighted":
            total = support.sum()
            value = float((score * support).sum() / total) if total else float(zero_division)
        else:
            value = float(score.mean()) if len(score) else float(zero_division)
        return {"f1": value}


def _div(num, den, zero_division):
    out = np.full(num.shape, float(zero_division))
    np.divide(num, den, out=out, where=den != 0)
    return out


def _score(tp, fp, fn, zero_division):
    return _div(2 * tp, 2 * tp + fp + fn, zero_division)
