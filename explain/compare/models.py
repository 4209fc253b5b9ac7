"""One text, two models: both predictions, IG of both per typed word, and which head of A is which of B.

The second model comes through the same source policy as the first (:func:`load_second_model`), so a
server that turns folders or the hub off turns them off here too. Each model reads the text with its
own tokenizer; when their tokens differ, everything is compared on the typed words (IG summed over a
word's pieces, attention merged into words) and the result says so. A model without a classification
head still has attention to compare: its prediction and IG are None, with a note.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from explain.compare.alignment import Alignment, align_words
from explain.compare.attribution import WordDelta, word_delta
from explain.compare.divergence import HeadSimilarity, RankedHead, head_similarity, top_heads
from explain.compare.sentences import Prediction, delta_probability, prediction_of
from explain.inputs import prepare_input
from explain.methods.attention import AttentionResult, run_attention
from explain.methods.attribution import AttributionResult, IGSettings, attribute
from explain.models.loading import ModelBundle, load_bundle
from explain.models.sources import SourcePolicy, policy_from_env, resolve_source

DEFAULT_SETTINGS = IGSettings()  # shared, frozen: a default argument built once


@dataclass(frozen=True, eq=False)
class ModelComparisonResult:
    """One text read by two models. Arrays are read-only."""

    model_a: str  # the first model's source, as its info names it
    model_b: str
    alignment: Alignment  # A's encoding (model A's tokens) and B's, aligned on the typed words
    tokenizers_differ: bool  # the models read different tokens: IG and attention are compared per typed word
    attention_a: AttentionResult  # weights [layers_a, heads_a, seq_a, seq_a]
    attention_b: AttentionResult  # weights [layers_b, heads_b, seq_b, seq_b]
    prediction_a: Prediction | None  # None for a model without a classification head
    prediction_b: Prediction | None
    delta_probability: np.ndarray | None  # [labels] float64 p_B − p_A, when both models name the same classes
    target_a: int | None  # the class A's IG explains (None: no IG)
    target_b: int | None
    attribution_a: AttributionResult | None  # scores [seq_a]
    attribution_b: AttributionResult | None  # scores [seq_b]
    words: WordDelta | None  # [rows] word IG under A, under B, Δ = B − A, shared colour limit
    similarity: HeadSimilarity  # each head of A's best match in B
    least_matched: tuple[RankedHead, ...]  # heads of A whose best match is weakest, weakest first (at most 3)
    notes: tuple[str, ...]


def load_second_model(ref: str, policy: SourcePolicy | None = None, device: str | None = None) -> ModelBundle:
    """The comparison's second model from a folder, the embedded model ("", "embedded") or a hub id, under
    ``policy`` (default: the server's, from the environment), on ``device`` (default: as the first model's
    loader decides). Raises the source's or the loader's error."""
    return load_bundle(resolve_source(ref, policy_from_env() if policy is None else policy), device)


def compare_models(
    bundle_a: ModelBundle,
    bundle_b: ModelBundle,
    text: str,
    text_b: str | None = None,
    settings: IGSettings = DEFAULT_SETTINGS,
    *,
    attribution: bool = True,
) -> ModelComparisonResult:
    """Compare two models on one text (or pair); ``attribution=False`` skips IG (see the module docstring).

    With ``settings.target`` unset, models with the same class names explain the class with the largest
    p_A + p_B (one class for both); models with different classes each explain their own prediction."""
    encoding_a, encoding_b = prepare_input(bundle_a, text, text_b), prepare_input(bundle_b, text, text_b)
    alignment = align_words(encoding_a, encoding_b)
    result_a, result_b = run_attention(bundle_a, encoding_a), run_attention(bundle_b, encoding_b)
    pred_a, pred_b = prediction_of(bundle_a, result_a), prediction_of(bundle_b, result_b)
    targets: tuple[int | None, int | None] = (None, None)
    attributions: tuple[AttributionResult | None, AttributionResult | None] = (None, None)
    words = None
    if attribution and pred_a is not None and pred_b is not None:
        targets = _targets(pred_a, pred_b, settings)
        ig_a = attribute(bundle_a, encoding_a, dataclasses.replace(settings, target=targets[0]))
        ig_b = attribute(bundle_b, encoding_b, dataclasses.replace(settings, target=targets[1]))
        attributions, words = (ig_a, ig_b), word_delta(alignment, ig_a, ig_b)
    similarity = head_similarity(result_a, result_b, alignment)
    differ = encoding_a.tokens != encoding_b.tokens
    return ModelComparisonResult(
        model_a=bundle_a.info.source,
        model_b=bundle_b.info.source,
        alignment=alignment,
        tokenizers_differ=differ,
        attention_a=result_a,
        attention_b=result_b,
        prediction_a=pred_a,
        prediction_b=pred_b,
        delta_probability=delta_probability(pred_a, pred_b),
        target_a=targets[0],
        target_b=targets[1],
        attribution_a=attributions[0],
        attribution_b=attributions[1],
        words=words,
        similarity=similarity,
        least_matched=top_heads(similarity.best_correlation, largest=False),
        notes=_notes(bundle_a, bundle_b, alignment, differ, (pred_a, pred_b)),
    )


def _targets(pred_a: Prediction, pred_b: Prediction, settings: IGSettings) -> tuple[int, int]:
    if settings.target is not None:
        return settings.target, settings.target
    if pred_a.labels == pred_b.labels:
        shared = int(np.argmax(pred_a.probabilities + pred_b.probabilities))
        return shared, shared
    return pred_a.label_id, pred_b.label_id


def _notes(
    bundle_a: ModelBundle,
    bundle_b: ModelBundle,
    alignment: Alignment,
    differ: bool,
    predictions: tuple[Prediction | None, Prediction | None],
) -> tuple[str, ...]:
    notes = [f"A: {n}" for n in alignment.encoding_a.notices] + [f"B: {n}" for n in alignment.encoding_b.notices]
    if differ:
        notes.append(
            "The models split the text into different tokens, so IG and attention are compared per typed word "
            "(IG summed over a word's pieces, attention merged into words)."
        )
    for bundle, pred in zip((bundle_a, bundle_b), predictions, strict=True):
        if pred is None:
            notes.append(
                f"'{bundle.info.source}' has no classification head: it makes no prediction, so there is no IG "
                "to compare (IG needs both models to be classifiers); attention is compared."
            )
    a, b = predictions
    if a is not None and b is not None and a.labels != b.labels:
        notes.append(
            f"The models name different classes ({', '.join(a.labels)} vs {', '.join(b.labels)}): each IG "
            "explains its own model's predicted class, so Δ attribution compares unlike outputs."
        )
    if len(alignment.equal_pairs()[0]) < len(alignment.rows):
        notes.append("Some special tokens have no counterpart in the other model; head similarity leaves them out.")
    return tuple(notes)
