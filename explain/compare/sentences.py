"""Two inputs, one model (minimal pairs): predictions and Δ, IG per aligned word and Δ, per-head divergence.

preprocess (two encodings, aligned word by word) → forward (an attention pass each; certified IG of
both for the same class) → postprocess (Δ probability, Δ attribution per word, the JS divergence map).
Every Δ is B − A, so swapping the inputs negates it; the divergence is symmetric.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from explain.compare.alignment import Alignment, align_words
from explain.compare.attribution import WordDelta, word_delta
from explain.compare.divergence import RankedHead, attention_divergence, top_heads
from explain.inputs import Encoding
from explain.methods.attention import AttentionResult, probabilities, run_attention
from explain.methods.attribution import AttributionResult, IGSettings, attribute_many
from explain.models.loading import ModelBundle

DEFAULT_SETTINGS = IGSettings()  # shared, frozen: a default argument built once


@dataclass(frozen=True, eq=False)
class Prediction:
    """A classifier's output for one input."""

    labels: tuple[str, ...]  # [labels] class names in id order
    probabilities: np.ndarray  # [labels] float64, sums to 1

    @property
    def label_id(self) -> int:
        return int(np.argmax(self.probabilities))

    @property
    def label(self) -> str:
        return self.labels[self.label_id]


@dataclass(frozen=True, eq=False)
class SentenceComparisonResult:
    """Two inputs compared on one model. Arrays are read-only."""

    model: str  # the model's source, as its info names it
    alignment: Alignment  # rows: the aligned words, A's encoding and B's
    attention_a: AttentionResult  # weights [layers, heads, seq_a, seq_a]
    attention_b: AttentionResult  # weights [layers, heads, seq_b, seq_b]
    prediction_a: Prediction | None  # None for a model without a classification head
    prediction_b: Prediction | None
    delta_probability: np.ndarray | None  # [labels] float64 p(B) − p(A)
    target: int | None  # the class both IG runs explain (None: no IG)
    attribution_a: AttributionResult | None  # scores [seq_a]
    attribution_b: AttributionResult | None  # scores [seq_b]
    words: WordDelta | None  # [rows] A, B and Δ per aligned word, with the shared colour limit
    divergence: np.ndarray  # [layers, heads] float64 mean JS divergence in bits, in [0, 1]
    top_heads: tuple[RankedHead, ...]  # the most divergent heads, largest first (at most 3)
    notes: tuple[str, ...]  # what the reader should know (identical inputs, no head, IG not certified, ...)


def compare_sentences(
    bundle: ModelBundle,
    encoding_a: Encoding,
    encoding_b: Encoding,
    settings: IGSettings = DEFAULT_SETTINGS,
    *,
    attribution: bool = True,
    on_progress: Callable[[str], None] | None = None,
    on_wait: Callable[[int, float], None] | None = None,
) -> SentenceComparisonResult:
    """Compare two encodings of one model (see the module docstring); ``attribution=False`` skips IG.

    With ``settings.target`` unset, both inputs explain the class with the largest p(A) + p(B): one class
    for both, so Δ compares like with like, and the choice does not depend on which input is A."""
    alignment = align_words(encoding_a, encoding_b)
    result_a, result_b = run_attention(bundle, encoding_a), run_attention(bundle, encoding_b)
    pred_a, pred_b = prediction_of(bundle, result_a), prediction_of(bundle, result_b)
    divergence = attention_divergence(result_a, result_b, alignment)
    divergence.setflags(write=False)
    target, ig = None, None
    if attribution and pred_a is not None and pred_b is not None:
        target = settings.target if settings.target is not None else _shared_class(pred_a, pred_b)
        both = dataclasses.replace(settings, target=target)
        ig = attribute_pair(bundle, encoding_a, encoding_b, both, on_progress, on_wait)
    ig_a, ig_b = (None, None) if ig is None else ig
    return SentenceComparisonResult(
        model=bundle.info.source,
        alignment=alignment,
        attention_a=result_a,
        attention_b=result_b,
        prediction_a=pred_a,
        prediction_b=pred_b,
        delta_probability=delta_probability(pred_a, pred_b),
        target=target,
        attribution_a=ig_a,
        attribution_b=ig_b,
        words=None if ig is None else word_delta(alignment, *ig),
        divergence=divergence,
        top_heads=top_heads(divergence),
        notes=_notes(bundle, alignment, pred_a, (ig_a, ig_b)),
    )


def attribute_pair(
    bundle: ModelBundle,
    encoding_a: Encoding,
    encoding_b: Encoding,
    settings: IGSettings,
    on_progress: Callable[[str], None] | None = None,
    on_wait: Callable[[int, float], None] | None = None,
) -> tuple[AttributionResult, AttributionResult]:
    """Certified IG of both inputs in one :func:`attribute_many` call: their paths share padded batches
    (bench/compare.py measures it against two :func:`attribute` calls).

    The same input twice is attributed once: in a shared batch its two rows can differ in the last float32
    bits, and identical inputs must show a Δ of exactly 0."""
    if _same_input(encoding_a, encoding_b):
        (result,) = attribute_many(bundle, [encoding_a], settings, on_progress, on_wait)
        return result, dataclasses.replace(result, encoding=encoding_b)
    result_a, result_b = attribute_many(bundle, [encoding_a, encoding_b], settings, on_progress, on_wait)
    return result_a, result_b


def _same_input(encoding_a: Encoding, encoding_b: Encoding) -> bool:
    types_a, types_b = encoding_a.token_type_ids, encoding_b.token_type_ids
    return np.array_equal(encoding_a.input_ids, encoding_b.input_ids) and (
        (types_a is None and types_b is None)
        or (types_a is not None and types_b is not None and np.array_equal(types_a, types_b))
    )


def prediction_of(bundle: ModelBundle, result: AttentionResult) -> Prediction | None:
    if result.logits is None:
        return None
    probs = probabilities(result.logits)
    probs.setflags(write=False)
    return Prediction(bundle.info.labels, probs)


def delta_probability(pred_a: Prediction | None, pred_b: Prediction | None) -> np.ndarray | None:
    """[labels] p(B) − p(A), or None when either has no prediction or their classes differ."""
    if pred_a is None or pred_b is None or pred_a.labels != pred_b.labels:
        return None
    delta: np.ndarray = pred_b.probabilities - pred_a.probabilities
    delta.setflags(write=False)
    return delta


def _shared_class(pred_a: Prediction, pred_b: Prediction) -> int:
    # p(A) + p(B) is the same float in either order, so swapping the inputs keeps the class.
    return int(np.argmax(pred_a.probabilities + pred_b.probabilities))


def _notes(
    bundle: ModelBundle,
    alignment: Alignment,
    prediction: Prediction | None,
    attributions: tuple[AttributionResult | None, AttributionResult | None],
) -> tuple[str, ...]:
    notes = [f"A: {n}" for n in alignment.encoding_a.notices] + [f"B: {n}" for n in alignment.encoding_b.notices]
    if alignment.identical:
        notes.append("The two inputs have the same words: every Δ and every head's divergence is 0.")
    if prediction is None:
        notes.append(
            f"'{bundle.info.source}' has no classification head: there are no predictions or attributions to "
            "compare, only attention. Load a fine-tuned classifier for the rest."
        )
    for side, result in zip("AB", attributions, strict=True):
        if result is not None and not result.converged:
            notes.append(
                f"IG of {side} is not certified at {result.n_steps} points (relative δ {result.relative_delta:.3g}, "
                f"per-token error {result.token_error:.3g}); raise the step cap for a trustworthy Δ."
            )
    return tuple(notes)
