"""IG of two inputs side by side, per aligned word: A, B and Δ = B − A on one colour scale.

Word scores are the sums of their pieces' IG (completeness makes sums meaningful), so a word that
splits into different pieces in A and B, or under two tokenizers, is still compared as one word. A word
only in B (inserted) has A = 0 and a word only in A (deleted) has B = 0: it carried no attribution in
the input that lacks it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explain.compare.alignment import Alignment
from explain.methods.attribution import AttributionResult, word_scores


@dataclass(frozen=True, eq=False)
class WordDelta:
    """Attribution per aligned row (the rows of the :class:`Alignment` it was built from)."""

    scores_a: np.ndarray  # [rows] float64 IG summed over the word's pieces in A (0 for an inserted word)
    scores_b: np.ndarray  # [rows] float64 the same in B (0 for a deleted word)
    delta: np.ndarray  # [rows] float64 scores_b − scores_a
    limit: float  # the shared colour scale: max |value| over A, B and Δ (at least 1e-12), drawn as [−limit, limit]


def word_delta(alignment: Alignment, result_a: AttributionResult, result_b: AttributionResult) -> WordDelta:
    """Per-row word attributions of A and B and their difference (see the module docstring)."""
    _, words_a = word_scores(result_a.scores, alignment.encoding_a)  # (words of A,)
    _, words_b = word_scores(result_b.scores, alignment.encoding_b)  # (words of B,)
    a = np.array([0.0 if r.a is None else words_a[r.a] for r in alignment.rows])
    b = np.array([0.0 if r.b is None else words_b[r.b] for r in alignment.rows])
    delta = b - a
    limit = max(float(np.abs(np.concatenate([a, b, delta])).max(initial=0.0)), 1e-12)
    for values in (a, b, delta):
        values.setflags(write=False)
    return WordDelta(a, b, delta, limit)


def largest_changes(delta: WordDelta, count: int = 3) -> tuple[int, ...]:
    """Indices of the ``count`` rows with the largest |Δ|, largest first (ties: the earlier row)."""
    order = np.argsort(-np.abs(delta.delta), kind="stable")
    return tuple(int(i) for i in order[:count])
