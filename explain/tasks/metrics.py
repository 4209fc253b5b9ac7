"""The metrics of each task over labelled data, by their usual definitions (no model here).

- QA: exact match and token F1 after SQuAD's normalisation (lower case, punctuation and the articles
  a/an/the removed, whitespace collapsed), the best over the gold answers (the official SQuAD v1.1 script).
- Multi-label: micro F1 (every label decision pooled) and macro F1 (the mean of the labels' own F1).
- Regression: mean squared error and Pearson's r.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

import numpy as np

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


def normalise_answer(text: str) -> str:
    """SQuAD v1.1's normalize_answer: lower, drop punctuation, drop articles, collapse whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, answers: Sequence[str]) -> float:
    return float(max(normalise_answer(prediction) == normalise_answer(a) for a in answers))


def token_f1(prediction: str, answers: Sequence[str]) -> float:
    return max(_f1(normalise_answer(prediction).split(), normalise_answer(a).split()) for a in answers)


def _f1(predicted: list[str], gold: list[str]) -> float:
    common = sum((Counter(predicted) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def multilabel_f1(truth: np.ndarray, predicted: np.ndarray) -> tuple[float, float, list[float]]:
    """(micro F1, macro F1, per-label F1) of boolean [examples, labels] decisions; 0/0 counts as 0."""
    tp = (truth & predicted).sum(0).astype(float)  # (labels,)
    fp = (~truth & predicted).sum(0).astype(float)
    fn = (truth & ~predicted).sum(0).astype(float)
    per_label = [_ratio(2 * t, 2 * t + p + n) for t, p, n in zip(tp, fp, fn, strict=True)]
    return _ratio(2 * tp.sum(), 2 * tp.sum() + fp.sum() + fn.sum()), float(np.mean(per_label)), per_label


def mse_pearson(truth: np.ndarray, predicted: np.ndarray) -> tuple[float, float | None]:
    """Mean squared error, and Pearson's r (None when either side is constant: r is undefined)."""
    mse = float(np.mean((truth - predicted) ** 2))
    if len(truth) < 2 or np.std(truth) == 0 or np.std(predicted) == 0:
        return mse, None
    return mse, float(np.corrcoef(truth, predicted)[0, 1])


def _ratio(top: float, bottom: float) -> float:
    return float(top / bottom) if bottom else 0.0
