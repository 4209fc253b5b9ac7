"""How differently each head attends in two inputs (one model), and which head of one model is which of another.

**Divergence (two sentences, one model).** For every layer and head, a Jensen–Shannon divergence in
base 2 between the head's attention in A and in B, built so that it compares like with like:

- attention is taken word-merged, as every view shows it (attention *to* a word is the sum over its
  pieces, a word's row the mean of its pieces' rows), so a word that splits differently in A and B,
  or a changed neighbour, does not by itself count as a difference;
- only words present in both inputs unchanged (``equal`` rows of the alignment; the special tokens
  are aligned as words, so they are among them) are queries and keys. An inserted or replaced word has
  no counterpart to compare with: each query's row is restricted to the shared keys and renormalised,
  so both distributions live on the same support and the attention that went to the changed words
  is spread in proportion;
- JS rather than KL: it is symmetric (swapping A and B gives the same map), finite where a
  distribution has zeros, and in [0, 1] in base 2, so heads, layers and sentences of any length share
  one scale (0 = the head attends identically, 1 = to disjoint words);
- each shared query counts equally: the head's divergence is the mean over queries. Identical inputs
  give exactly 0 (the two rows are the same floats, and p·log2(p / ((p + p) / 2)) is exactly 0).

**Head similarity (one text, two models).** For each head of model A, Pearson's correlation of its
word-merged attention matrix (specials included, flattened) with every head of model B, over the
words both models read (their typed words agree; their special tokens are matched by role): the best
match, its (layer, head) and the correlation. Layer and head counts may differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explain.arrays import frozen as _frozen  # one copy for every result module
from explain.compare.alignment import Alignment
from explain.methods.attention import AttentionResult, attention_view, renormalise

#: How many heads a comparison names as the most divergent (or the least matched).
TOP_HEADS = 3


@dataclass(frozen=True)
class RankedHead:
    layer: int
    head: int
    value: float  # the divergence (two sentences) or the best correlation (two models)


@dataclass(frozen=True, eq=False)
class HeadSimilarity:
    """For each head of model A, the head of model B whose attention pattern is most alike."""

    correlation: np.ndarray  # [layers_a, heads_a, layers_b, heads_b] float64 Pearson r (NaN: a constant pattern)
    best_layer: np.ndarray  # [layers_a, heads_a] int64 layer of B's best match (-1: no defined correlation)
    best_head: np.ndarray  # [layers_a, heads_a] int64 head of B's best match (-1: none)
    best_correlation: np.ndarray  # [layers_a, heads_a] float64 the match's r (NaN: none)
    n_words: int  # words (specials included) in the compared matrices


def js_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen–Shannon divergence in bits between distributions along the last axis ([...] from [..., n]).

    Rows must sum to 1. The result lies in [0, 1]; terms with p = 0 contribute 0 (the limit of p·log p)."""
    p, q = p.astype(np.float64), q.astype(np.float64)
    m = (p + q) / 2.0
    out: np.ndarray = np.clip((_kl_to(p, m) + _kl_to(q, m)) / 2.0, 0.0, 1.0)  # rounding: -1e-17 or 1 + 1e-16
    return out


def _kl_to(p: np.ndarray, m: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log2(p / np.where(p > 0, m, 1.0)), 0.0)
    out: np.ndarray = terms.sum(axis=-1)
    return out


def attention_divergence(result_a: AttentionResult, result_b: AttentionResult, alignment: Alignment) -> np.ndarray:
    """[layers, heads] mean JS divergence (bits) over the shared query words (see the module docstring).

    A query whose attention falls entirely on changed words in A or B (no mass on the shared keys) has
    no distribution to compare and is left out; a head with no query left is NaN."""
    words_a, words_b = alignment.equal_pairs()
    p = _shared(result_a, words_a)  # (layers, heads, k, k)
    q = _shared(result_b, words_b)
    valid = (p.sum(-1) > 0) & (q.sum(-1) > 0)  # (layers, heads, k)
    js = np.where(valid, js_divergence(p, q), 0.0)
    counts = valid.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = np.where(counts > 0, js.sum(-1) / counts, np.nan)
    return out


def _shared(result: AttentionResult, words: np.ndarray) -> np.ndarray:
    """Word-merged attention among ``words`` only, rows renormalised: (layers, heads, k, k) float64."""
    merged = attention_view(result, hide_special=False, merge_words=True).weights.astype(np.float64)
    return renormalise(merged[:, :, words][:, :, :, words])


def top_heads(values: np.ndarray, *, largest: bool = True, count: int = TOP_HEADS) -> tuple[RankedHead, ...]:
    """The ``count`` heads with the largest (or smallest) value of a [layers, heads] map, NaN left out;
    ties go to the lower layer, then the lower head."""
    flat = values.ravel()
    finite = np.flatnonzero(np.isfinite(flat))
    order = finite[np.argsort(-flat[finite] if largest else flat[finite], kind="stable")][:count]
    heads = values.shape[1]
    return tuple(RankedHead(int(i // heads), int(i % heads), float(flat[i])) for i in order)


def head_similarity(result_a: AttentionResult, result_b: AttentionResult, alignment: Alignment) -> HeadSimilarity:
    """Best-matching head of B for every head of A by Pearson r over word-merged attention (module docstring)."""
    words_a, words_b = alignment.equal_pairs()
    flat_a = _flat_patterns(result_a, words_a)  # (layers_a * heads_a, k * k)
    flat_b = _flat_patterns(result_b, words_b)  # (layers_b * heads_b, k * k)
    r = _pearson_all(flat_a, flat_b)  # (heads of A, heads of B)
    la, ha = result_a.weights.shape[:2]
    lb, hb = result_b.weights.shape[:2]
    defined = np.isfinite(r).any(axis=1)
    best = np.where(defined, np.argmax(np.where(np.isfinite(r), r, -np.inf), axis=1), -1)
    best_r = np.where(defined, r[np.arange(len(best)), np.maximum(best, 0)], np.nan)
    best_layer, best_head = np.where(defined, best // hb, -1), np.where(defined, best % hb, -1)
    return HeadSimilarity(
        correlation=_frozen(r.reshape(la, ha, lb, hb)),
        best_layer=_frozen(best_layer.reshape(la, ha).astype(np.int64)),
        best_head=_frozen(best_head.reshape(la, ha).astype(np.int64)),
        best_correlation=_frozen(best_r.reshape(la, ha)),
        n_words=len(words_a),
    )


def _flat_patterns(result: AttentionResult, words: np.ndarray) -> np.ndarray:
    merged = attention_view(result, hide_special=False, merge_words=True).weights.astype(np.float64)
    shared = merged[:, :, words][:, :, :, words]  # (layers, heads, k, k): not renormalised, the pattern as drawn
    layers, heads = shared.shape[:2]
    return shared.reshape(layers * heads, -1)


def _pearson_all(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r between every row of a (m, n) and every row of b (p, n): (m, p); NaN for a constant row."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    norms = np.sqrt((a**2).sum(axis=1))[:, None] * np.sqrt((b**2).sum(axis=1))[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(norms > 1e-12, (a @ b.T) / norms, np.nan)
    out: np.ndarray = np.clip(r, -1.0, 1.0)
    return out
