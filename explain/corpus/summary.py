"""The corpus in a few numbers, read from the shards one at a time: accuracy and confusion (when labels
exist), certification, mean head statistics [layers × heads], the words with the most IG evidence per
predicted class, and mean AOPC per method."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from explain.corpus.stats import STAT_NAMES, HeadMeans
from explain.corpus.storage import iter_shards

MIN_COUNT = 5  # a word seen fewer times is not ranked: one lucky sentence must not top the list
TOP_WORDS = 15
MAX_LISTED_ERRORS = 20


@dataclass
class _Totals:
    labels: Sequence[str]
    heads: HeadMeans
    confusion: np.ndarray  # [labels, labels] int64: rows = true label, columns = predicted
    words: list[dict[str, list[float]]]  # per predicted class: word -> [IG sum, count]
    aopc: dict[str, list[float]] = field(default_factory=lambda: defaultdict(lambda: [0.0, 0.0]))
    counts: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    errors: list[dict[str, Any]] = field(default_factory=list)


def summarise(out: str, labels: Sequence[str], head_shape: tuple[int, int], aopc_columns: Sequence[str] = (),
              min_count: int = MIN_COUNT, top: int = TOP_WORDS) -> dict[str, Any]:  # fmt: skip
    """The summary of every finished row of the folder ``out`` (see the module docstring)."""
    n = len(labels)
    totals = _Totals(labels, HeadMeans.empty(*head_shape), np.zeros((n, n), dtype=np.int64),
                     [defaultdict(lambda: [0.0, 0.0]) for _ in labels])  # fmt: skip
    for shard in iter_shards(out):
        _add(totals, shard, aopc_columns)
    return _report(totals, head_shape, min_count, top)


def _add(t: _Totals, shard: pa.Table, aopc_columns: Sequence[str]) -> None:
    for row in shard.to_pylist():
        t.counts["rows"] += 1
        if row["status"] != "ok":
            t.counts["errors"] += 1
            if len(t.errors) < MAX_LISTED_ERRORS:
                t.errors.append({"row_id": row["row_id"], "number": row["number"], "error": row["error"]})
            continue
        t.counts["ok"] += 1
        t.counts["certified"] += bool(row["converged"])
        t.counts["steps"] += row["n_steps"]
        t.counts["max_relative_delta"] = max(t.counts["max_relative_delta"], row["relative_delta"])
        t.counts["max_token_error"] = max(t.counts["max_token_error"], row["token_error"])
        if row["label"] is not None:
            t.confusion[row["label"], row["predicted"]] += 1
        for name in STAT_NAMES:
            values = np.array([np.nan if v is None else v for v in row[name]], dtype=np.float64)
            t.heads.add(name, values.reshape(t.heads.sums[name].shape))
        words = t.words[row["target"]]
        for word, score in zip(row["words"], row["word_scores"], strict=True):
            entry = words[normalise(word)]
            entry[0] += score
            entry[1] += 1
        for column in aopc_columns:
            if row[column] is not None:
                t.aopc[column][0] += row[column]
                t.aopc[column][1] += 1


def normalise(word: str) -> str:
    """Case folded, punctuation at either end removed ("Film," and "film" are one word; "!" stays "!")."""
    folded = word.casefold()
    start, end = 0, len(folded)
    while start < end and unicodedata.category(folded[start]).startswith("P"):
        start += 1
    while end > start and unicodedata.category(folded[end - 1]).startswith("P"):
        end -= 1
    return folded[start:end] or folded


def _report(t: _Totals, head_shape: tuple[int, int], min_count: int, top: int) -> dict[str, Any]:
    c = t.counts
    ok = int(c["ok"])
    labelled = int(t.confusion.sum())
    correct = int(np.trace(t.confusion))
    return {
        "rows": int(c["rows"]), "ok": ok, "errors": int(c["errors"]), "first_errors": t.errors,
        "certified": int(c["certified"]), "not_certified": ok - int(c["certified"]),
        "mean_steps": c["steps"] / ok if ok else None,
        "max_relative_delta": c["max_relative_delta"] if ok else None,
        "max_token_error": c["max_token_error"] if ok else None,
        "accuracy": None if not labelled else {
            "accuracy": correct / labelled, "correct": correct, "total": labelled, "labels": list(t.labels),
            "confusion": t.confusion.tolist(), "confusion_axes": "rows = true label, columns = predicted"},
        "head_statistics": {"layers": head_shape[0], "heads": head_shape[1],
                            "mean": {n: _json_matrix(m) for n, m in t.heads.means().items()}},
        "top_words": {"min_count": min_count, "by_class": {
            label: _top_words(t.words[i], min_count, top) for i, label in enumerate(t.labels)}},
        "faithfulness": {column: s / k for column, (s, k) in t.aopc.items() if k} or None,
    }  # fmt: skip


def _top_words(words: dict[str, list[float]], min_count: int, top: int) -> dict[str, list[dict[str, Any]]]:
    """Words of rows predicted as the class, by mean IG toward it: 'for' (most evidence) and 'against'."""
    seen = [(w, s / k, int(k)) for w, (s, k) in words.items() if k >= min_count]
    seen.sort(key=lambda item: (-item[1], item[0]))
    as_dicts = [{"word": w, "mean_ig": m, "count": k} for w, m, k in seen]
    return {"for": as_dicts[:top], "against": as_dicts[::-1][:top]}


def _json_matrix(values: np.ndarray) -> list[list[float | None]]:
    return [[None if np.isnan(v) else float(v) for v in row] for row in values]
