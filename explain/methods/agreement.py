"""Does a head attend where integrated gradients says the evidence is? Rank correlation per head.

For every layer and head: the head's attention to each token (the [CLS] row, what the classifier reads,
or the mean over all queries), and the IG score of the same tokens, ranked and correlated (Spearman,
or Kendall's τ-b). Special tokens are left out of both (they soak up attention and carry no IG, since
the baseline keeps them), and word pieces can be merged into words the way every other view merges
them: attention *to* a word is the sum over its pieces; a word's IG is the sum of its pieces' scores.
IG is compared by magnitude by default (attention has no sign); ``signed=True`` keeps the sign.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from explain.errors import InputError
from explain.inputs import Encoding
from explain.knobs import Knob, check_knobs


class Query(StrEnum):
    CLS = "cls"  # the first token's row: what a classifier reads
    MEAN = "mean"  # the mean over every (non-special) query


class Correlation(StrEnum):
    SPEARMAN = "spearman"
    KENDALL = "kendall"


AGREEMENT_KNOBS = (
    Knob("query", "Attention from", "The [CLS] row (what the classifier reads) or the mean over all queries.",
         Query.CLS, choices=tuple(Query)),
    Knob("correlation", "Rank correlation", "Spearman's ρ, or Kendall's τ-b (fewer assumptions, smaller values).",
         Correlation.SPEARMAN, choices=tuple(Correlation)),
)  # fmt: skip


@dataclass(frozen=True)
class AgreementSettings:
    query: Query = Query.CLS
    correlation: Correlation = Correlation.SPEARMAN
    merge_words: bool = False
    signed: bool = False  # compare with signed IG instead of |IG|

    def __post_init__(self) -> None:
        check_knobs(self, AGREEMENT_KNOBS)
        object.__setattr__(self, "query", Query(self.query))
        object.__setattr__(self, "correlation", Correlation(self.correlation))


def attention_to_tokens(weights: np.ndarray, encoding: Encoding, settings: AgreementSettings) -> np.ndarray:
    """[layers, heads, n] attention each head pays to each kept token (or word), from the chosen queries."""
    keep = ~encoding.special
    cls = settings.query is Query.CLS
    rows = weights[:, :, 0, :] if cls else weights[:, :, keep, :].mean(axis=2)  # (layers, heads, seq)
    kept = rows[:, :, keep]
    if not settings.merge_words:
        return kept
    merged: np.ndarray = kept @ _onehot(encoding.word_index[keep])  # sum over a word's pieces
    return merged


def token_scores(scores: np.ndarray, encoding: Encoding, settings: AgreementSettings) -> np.ndarray:
    """[n] IG (or any per-token score) over the same kept tokens (or words) as :func:`attention_to_tokens`."""
    keep = ~encoding.special
    kept: np.ndarray = np.asarray(scores, dtype=np.float64)[keep]
    if settings.merge_words:
        kept = kept @ _onehot(encoding.word_index[keep])
    return kept if settings.signed else np.abs(kept)


def head_agreement(
    weights: np.ndarray, scores: np.ndarray, encoding: Encoding, settings: AgreementSettings = AgreementSettings()
) -> np.ndarray:
    """[layers, heads] rank correlation of each head's attention with the scores (NaN when undefined)."""
    attention = attention_to_tokens(weights, encoding, settings)  # (layers, heads, n)
    target = token_scores(scores, encoding, settings)  # (n,)
    if target.size < 2:
        raise InputError("Agreement needs at least two words or tokens besides [CLS]/[SEP]. Enter a longer text.")
    layers, heads, n = attention.shape
    flat = attention.reshape(-1, n)
    if settings.correlation is Correlation.SPEARMAN:
        out = _pearson(_ranks(flat), _ranks(target[None, :]))
    else:
        out = np.array([kendall_tau_b(row, target) for row in flat])
    return out.reshape(layers, heads)


def _onehot(groups: np.ndarray) -> np.ndarray:
    order = {w: i for i, w in enumerate(dict.fromkeys(groups.tolist()))}
    out = np.zeros((groups.size, len(order)))
    out[np.arange(groups.size), [order[w] for w in groups.tolist()]] = 1.0
    return out


def _ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks along the last axis of a (rows, n) array (tied values share the mean of their ranks)."""
    rows = np.atleast_2d(values)
    out = np.empty(rows.shape, dtype=np.float64)
    for r, row in enumerate(rows):
        order = np.argsort(row, kind="mergesort")
        ordered = row[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])  # first index of each run of ties
        ends = np.r_[starts[1:], row.size] - 1
        ranks = np.repeat((starts + ends) / 2.0, ends - starts + 1)
        out[r, order] = ranks
    return out


def _pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Pearson correlation of a (rows, n) with b (1, n); NaN where a row or b is constant."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denominator = np.sqrt((a**2).sum(axis=1) * (b**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = np.where(denominator > 1e-12, (a * b).sum(axis=1) / denominator, np.nan)
    return out


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's ρ of two [n] arrays (ties share their mean rank); NaN when either side is constant. The one
    rank correlation of the package: agreement, head-importance agreement and the sanity check all use it."""
    return float(_pearson(_ranks(a), _ranks(np.asarray(b)[None, :]))[0])


def kendall_tau_b(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall's τ-b (ties in either variable accounted for); NaN when either is constant."""
    da = np.sign(a[:, None] - a[None, :])
    db = np.sign(b[:, None] - b[None, :])
    upper = np.triu_indices(a.size, k=1)
    concordance = float((da * db)[upper].sum())
    ties_a, ties_b = float((da[upper] != 0).sum()), float((db[upper] != 0).sum())
    return concordance / np.sqrt(ties_a * ties_b) if ties_a and ties_b else float("nan")
