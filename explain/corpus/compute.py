"""One batch of corpus rows, computed: one padded forward pass with attentions for the predictions and the
head statistics, one certified IG pass over the whole batch (:func:`~explain.methods.attribution.attribute_many`),
and, on request, the faithfulness curves per row. The batch's rows are always the same rows (see
:mod:`explain.corpus.rows`), so the padding, and so every number, does not depend on the engine.

A row that fails (empty text, too long, bytes that are not UTF-8) becomes a record with its error; the
other rows of its batch go on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from explain.corpus.rows import CorpusRow
from explain.corpus.stats import STAT_NAMES, head_stats
from explain.errors import ComputationError, GlimpseError, SettingsError
from explain.inputs import Encoding, prepare_input
from explain.knobs import Knob, check_knobs
from explain.methods.attribution import AttributionResult, IGSettings, attribute_many
from explain.models.loading import ModelBundle

CORPUS_KNOBS = (
    Knob("batch_size", "Batch size", "Rows per batch: one IG pass and one forward pass each, and one Parquet "
         "shard. Fixed for a results folder (padding depends on it).", 8, low=1, high=512, integer=True,
         flag="--batch-size"),
)  # fmt: skip


@dataclass(frozen=True)
class CorpusSettings:
    """What every row gets (declared knobs in ``CORPUS_KNOBS``); part of a results folder's identity."""

    ig: IGSettings = field(default_factory=IGSettings)
    batch_size: int = 8  # rows per batch and per shard
    faithfulness: bool = False  # AOPC comprehensiveness and sufficiency per method, per row

    def __post_init__(self) -> None:
        check_knobs(self, CORPUS_KNOBS)


@dataclass(frozen=True, eq=False)
class _Computed:
    """What the forward and IG passes give one row."""

    encoding: Encoding
    logits: np.ndarray  # [labels] float64
    weights: np.ndarray  # [layers, heads, seq, seq] float32
    attribution: AttributionResult


def compute_batch(bundle: ModelBundle, rows: Sequence[CorpusRow], settings: CorpusSettings) -> list[dict[str, Any]]:
    """One record per row, in row order (the columns of :func:`explain.corpus.storage.schema`)."""
    if not bundle.info.has_classifier:
        raise SettingsError(
            f"'{bundle.info.source}' has no classification head, so corpus mode has no prediction to explain. "
            "Load a fine-tuned classifier (a *ForSequenceClassification checkpoint)."
        )
    encodings: dict[int, Encoding] = {}
    errors: dict[int, str] = {}
    for i, row in enumerate(rows):
        try:
            if row.error is not None:
                raise GlimpseError(row.error)
            encodings[i] = prepare_input(bundle, row.text, row.text_b)
        except GlimpseError as exc:
            errors[i] = str(exc)
    computed = _compute(bundle, encodings, settings, errors)
    return [_record(bundle, row, computed.get(i), errors.get(i), settings) for i, row in enumerate(rows)]


def _compute(
    bundle: ModelBundle, encodings: dict[int, Encoding], settings: CorpusSettings, errors: dict[int, str]
) -> dict[int, _Computed]:
    """The batch's passes; when one fails for the batch (out of memory, say), each row is tried alone."""
    if not encodings:
        return {}
    try:
        return _passes(bundle, encodings, settings)
    except GlimpseError as exc:
        if len(encodings) == 1:
            errors.update(dict.fromkeys(encodings, str(exc)))
            return {}
    out: dict[int, _Computed] = {}
    for i, encoding in encodings.items():
        try:
            out.update(_passes(bundle, {i: encoding}, settings))
        except GlimpseError as exc:
            errors[i] = str(exc)
    return out


def _passes(bundle: ModelBundle, encodings: dict[int, Encoding], settings: CorpusSettings) -> dict[int, _Computed]:
    keys = list(encodings)
    forward = batched_attention([encodings[i] for i in keys], bundle)
    logits = [f[0] for f in forward]
    results = attribute_many(bundle, [encodings[i] for i in keys], settings.ig, logits=logits)
    return {i: _Computed(encodings[i], f[0], f[1], r) for i, f, r in zip(keys, forward, results, strict=True)}


def batched_attention(encodings: Sequence[Encoding], bundle: ModelBundle) -> list[tuple[np.ndarray, np.ndarray]]:
    """(logits [labels] float64, attention [layers, heads, seq, seq] float32) per input, from one padded,
    masked forward pass on the shared eager model; padding is cut off again (its weights are exactly 0)."""
    width = max(e.n_tokens for e in encodings)
    pad = bundle.tokenizer.pad_token_id or 0
    device = bundle.device
    ids = torch.full((len(encodings), width), pad, dtype=torch.long, device=device)
    mask = torch.zeros((len(encodings), width), dtype=torch.long, device=device)
    types = None if encodings[0].token_type_ids is None else torch.zeros_like(ids)
    for i, e in enumerate(encodings):
        ids[i, : e.n_tokens], mask[i, : e.n_tokens] = torch.tensor(e.input_ids, device=device), 1
        if types is not None and e.token_type_ids is not None:
            types[i, : e.n_tokens] = torch.tensor(e.token_type_ids, device=device)
    extra = {} if types is None else {"token_type_ids": types}
    try:
        with torch.no_grad():
            out = bundle.model(input_ids=ids, attention_mask=mask, output_attentions=True, **extra)
    except (RuntimeError, MemoryError) as exc:
        raise ComputationError(
            f"The batch's forward pass failed ({type(exc).__name__}: {str(exc)[:160]}). Lower --batch-size."
        ) from exc
    attentions = torch.stack(out.attentions, dim=1).float().cpu()  # (batch, layers, heads, width, width), one copy
    logits = out.logits.cpu().double()
    return [
        (logits[i].numpy(), attentions[i, :, :, : e.n_tokens, : e.n_tokens].numpy()) for i, e in enumerate(encodings)
    ]


def _record(
    bundle: ModelBundle, row: CorpusRow, c: _Computed | None, error: str | None, settings: CorpusSettings
) -> dict[str, Any]:
    record: dict[str, Any] = {"row_id": row.row_id, "number": row.number, "text": row.text, "text_b": row.text_b,
                              "label": row.label}  # fmt: skip
    if c is None:
        return {**record, "status": "error", "error": error or "The row was not computed."}
    r = c.attribution
    probabilities = np.exp(c.logits - c.logits.max())
    probabilities /= probabilities.sum()
    predicted = int(np.argmax(c.logits))
    words, word_sums = _words(c.encoding, r.scores)
    stats = head_stats(c.weights, c.encoding, r.scores, bundle.tokenizer.sep_token_id).as_dict()
    record |= {
        "status": "ok", "error": None, "predicted": predicted, "predicted_label": bundle.info.labels[predicted],
        "probabilities": probabilities.tolist(), "target": r.target, "tokens": list(c.encoding.tokens),
        "scores": r.scores.tolist(), "token_changes": r.token_changes.tolist(), "words": words,
        "word_scores": word_sums, "f_input": r.f_input, "f_baseline": r.f_baseline,
        "convergence_delta": r.convergence_delta, "relative_delta": r.relative_delta, "token_error": r.token_error,
        "n_steps": r.n_steps, "converged": r.converged,
        **{name: _cells(stats[name]) for name in STAT_NAMES},
    }  # fmt: skip
    if settings.faithfulness:
        from explain.corpus.faithful import aopc_columns

        record |= aopc_columns(bundle, c.encoding, c.logits, c.weights, r)
    return record


def _cells(values: np.ndarray) -> list[float | None]:
    """[layers, heads] as a flat float32 list; an undefined value (NaN) is stored as null, so tables compare equal."""
    return [None if np.isnan(v) else float(v) for v in values.astype(np.float32).ravel()]


def _words(encoding: Encoding, scores: np.ndarray) -> tuple[list[str], list[float]]:
    """The typed words (specials left out) and the sum of their tokens' IG."""
    sums = np.bincount(encoding.word_index, weights=scores, minlength=len(encoding.words))
    special_words = set(encoding.word_index[encoding.special].tolist())
    kept = [w for w in range(len(encoding.words)) if w not in special_words]
    return [encoding.words[w] for w in kept], [float(sums[w]) for w in kept]
