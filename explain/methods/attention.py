"""Attention extraction and the views derived from it.

One forward pass with ``output_attentions=True`` on the shared eager model gives every layer's and
head's attention; everything else here is arithmetic on that array:

- hiding special tokens ([CLS]/[SEP] soak up much of the attention and wash out the rest);
- merging word pieces into words (Clark et al. 2019): attention *to* a word is the **sum** over its
  pieces (so each row still sums to 1), attention *from* a word is the **mean** of its pieces' rows;
- attention rollout (Abnar & Zuidema 2020): each layer's head-fused attention mixed with the identity
  for the residual connection, rows renormalised, multiplied through the layers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import torch

from explain.errors import ComputationError
from explain.inputs import Encoding
from explain.knobs import Knob, check_knobs
from explain.models.loading import ModelBundle


@dataclass(frozen=True, eq=False)
class AttentionResult:
    """The outcome of one attention pass."""

    encoding: Encoding
    weights: np.ndarray  # [layers, heads, seq, seq] float32; row i = how token i attends; rows sum to 1
    logits: np.ndarray | None  # [labels] float32 for a classifier, else None
    seconds: float  # wall time of the forward pass


@dataclass(frozen=True, eq=False)
class AttentionView:
    """Attention as displayed: possibly without specials, possibly merged into words."""

    weights: np.ndarray  # [layers, heads, n, n] float32, rows sum to 1 (or 0 if a row had no mass left)
    labels: tuple[str, ...]  # [n] token or word strings
    sentence_b_start: int | None  # first position of segment B in this view


class HeadFusion(StrEnum):
    MEAN = "mean"
    MAX = "max"
    MIN = "min"


ROLLOUT_KNOBS = (
    Knob("residual", "Residual weight",
         "Weight of the identity mixed into each layer's attention for the skip connection "
         "(0.5 in Abnar & Zuidema 2020).", 0.5, low=0.0, high=1.0),
    Knob("fusion", "Head fusion", "How a layer's heads are combined before rolling out: mean, max or min.",
         HeadFusion.MEAN, choices=tuple(HeadFusion)),
)  # fmt: skip


@dataclass(frozen=True)
class RolloutSettings:
    """Knobs of attention rollout (declared in ``ROLLOUT_KNOBS``); checked when built."""

    residual: float = 0.5
    fusion: HeadFusion = HeadFusion.MEAN

    def __post_init__(self) -> None:
        check_knobs(self, ROLLOUT_KNOBS)
        object.__setattr__(self, "fusion", HeadFusion(self.fusion))


def run_attention(bundle: ModelBundle, encoding: Encoding) -> AttentionResult:
    """Forward pass with attention outputs on the shared eager model (no hooks, no mutation)."""
    inputs = encoding.model_inputs(bundle.device)
    start = time.perf_counter()
    try:
        with torch.no_grad():
            out = bundle.model(**inputs, output_attentions=True)
    except (RuntimeError, MemoryError) as exc:
        raise ComputationError(
            f"The attention pass failed ({type(exc).__name__}: {str(exc)[:200]}). "
            "Try a shorter text; the previous result is kept."
        ) from exc
    seconds = time.perf_counter() - start
    # weights: (layers, heads, seq, seq)
    weights = torch.stack([a[0] for a in out.attentions]).float().cpu().numpy()
    # A class's logits only: a tagger's or a masked LM's per-token logits (seq × vocabulary for an MLM) are the
    # task's to read (explain.tasks), not worth keeping in every cached attention result.
    logits = out.logits[0].float().cpu().numpy() if hasattr(out, "logits") and bundle.info.has_classifier else None
    weights.setflags(write=False)  # results are cached and shared between sessions
    return AttentionResult(encoding, weights, logits, seconds)


def attention_view(result: AttentionResult, *, hide_special: bool, merge_words: bool) -> AttentionView:
    """Derive the displayed attention from a result."""
    enc = result.encoding
    if not hide_special and not merge_words:  # the view is the result: share it (cached results are large)
        return AttentionView(result.weights, enc.tokens, enc.sentence_b_start)
    keep = ~enc.special if hide_special else np.ones(enc.n_tokens, dtype=bool)
    weights = result.weights[:, :, keep][:, :, :, keep]
    if hide_special:
        weights = renormalise(weights)
    labels = tuple(t for t, k in zip(enc.tokens, keep, strict=True) if k)
    segment = enc.segment[keep]
    if merge_words:
        groups = _dense_groups(enc.word_index[keep])
        weights = merge_pieces(weights, groups)
        labels = tuple(enc.words[w] for w in dict.fromkeys(enc.word_index[keep].tolist()))
        segment = np.array([segment[groups == g][0] for g in range(groups.max() + 1)])
    b_start = np.flatnonzero(segment == 1)
    return AttentionView(weights, labels, int(b_start[0]) if enc.text_b is not None and b_start.size else None)


def renormalise(weights: np.ndarray) -> np.ndarray:
    """Rescale each row to sum to 1; rows with no mass stay 0 rather than dividing by zero."""
    sums = weights.sum(axis=-1, keepdims=True)
    out: np.ndarray = np.divide(weights, sums, out=np.zeros_like(weights), where=sums > 1e-12)
    return out


def merge_pieces(weights: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Merge positions with the same group id: columns summed, rows averaged (row sums preserved)."""
    n_groups = int(groups.max()) + 1
    onehot = np.zeros((groups.size, n_groups), dtype=weights.dtype)  # (seq, words)
    onehot[np.arange(groups.size), groups] = 1.0
    to_words = weights @ onehot  # (..., seq, words): attention to a word = sum over its pieces
    counts = onehot.sum(axis=0)  # (words,)
    merged = np.swapaxes(onehot, 0, 1) @ to_words  # (..., words, words): sum of rows
    out: np.ndarray = (merged / counts[:, None]).astype(weights.dtype)  # mean of rows
    return out


def head_average(weights: np.ndarray) -> np.ndarray:
    """Mean over heads: (layers, heads, n, n) -> (layers, n, n). Rows still sum to 1."""
    out: np.ndarray = weights.mean(axis=1)
    return out


def rollout(weights: np.ndarray, residual: float = 0.5, fusion: HeadFusion = HeadFusion.MEAN) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020): (layers, heads, n, n) -> (n, n), rows sum to 1.

    ``residual`` is the weight of the identity (the skip connection): 0.5 as in the paper.
    ``fusion`` combines the heads of a layer before mixing.
    """
    settings = RolloutSettings(residual, fusion)  # raises SettingsError with the bounds
    fused = {"mean": weights.mean(axis=1), "max": weights.max(axis=1), "min": weights.min(axis=1)}[
        HeadFusion(settings.fusion).value
    ]  # (layers, n, n)
    eye = np.eye(weights.shape[-1], dtype=np.float64)
    joint = eye
    for layer in fused.astype(np.float64):
        mixed = residual * eye + (1.0 - residual) * renormalise(layer)
        joint = renormalise(mixed) @ joint
    return joint.astype(np.float32)


def _dense_groups(word_index: np.ndarray) -> np.ndarray:
    """Renumber group ids 0..k-1 in order of first appearance."""
    order = {w: i for i, w in enumerate(dict.fromkeys(word_index.tolist()))}
    return np.array([order[w] for w in word_index.tolist()], dtype=np.int64)


def rollout_relevance(
    joint: np.ndarray, encoding: Encoding, *, hide_special: bool, merge_words: bool
) -> tuple[tuple[str, ...], np.ndarray]:
    """Per-token relevance for the first position ([CLS], what a classifier reads): row 0 of the rollout.

    Returns (labels, relevance [n]); with specials hidden the rest is rescaled to sum to 1, and merged
    words get the sum of their pieces.
    """
    values = joint[0].astype(np.float64)
    keep = ~encoding.special if hide_special else np.ones(encoding.n_tokens, dtype=bool)
    values = values[keep]
    if hide_special and values.sum() > 0:
        values = values / values.sum()
    labels = tuple(t for t, k in zip(encoding.tokens, keep, strict=True) if k)
    if merge_words:
        groups = _dense_groups(encoding.word_index[keep])
        values = np.bincount(groups, weights=values)
        labels = tuple(encoding.words[w] for w in dict.fromkeys(encoding.word_index[keep].tolist()))
    return labels, values.astype(np.float32)


def probabilities(logits: np.ndarray) -> np.ndarray:
    """Softmax of a logit vector [labels], computed stably."""
    shifted = np.exp(logits.astype(np.float64) - logits.max())
    out: np.ndarray = shifted / shifted.sum()
    return out
