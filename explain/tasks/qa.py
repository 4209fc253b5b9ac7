"""Extractive question answering: the answer is the context span whose start and end logits score highest.

A context longer than the window is read in overlapping windows (as transformers' pipeline does with
``doc_stride``), cut at spaces so every window holds whole typed words; the best span over all windows
wins. Explaining the answer explains its start logit and its end logit at the predicted positions, fixed
along the path (never a max over positions, which would change which position is explained mid-path).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import numpy as np

from explain.errors import InputError
from explain.inputs import Encoding, prepare_input
from explain.methods.target import Target
from explain.models.heads import TaskKind
from explain.models.loading import TOKENIZER_LOCK, ModelBundle
from explain.tasks.base import Choice, Highlight, Selects, TaskPrediction, TaskRequest, forward, numpy, softmax

MAX_ANSWER_TOKENS = 30  # the pipeline's max_answer_len: longer spans are not answers
_NOT_SPACE = re.compile(r"\S+")


class QuestionAnswering(Selects):
    kind = TaskKind.QUESTION_ANSWERING

    def predict(self, bundle: ModelBundle, request: TaskRequest) -> TaskPrediction:
        if request.text_b is None or not request.text_b.strip():
            raise InputError(
                "Question answering needs a context: type the question as the text and the passage "
                "that holds the answer as the context (sentence B)."
            )
        windows = context_windows(bundle, request.text, request.text_b)
        scored = [
            (w, *_spans(bundle, prepare_input(bundle, request.text, request.text_b[a:b]), a, request.top_k))
            for w, (a, b) in enumerate(windows)
        ]
        best_w, encoding, spans, _start, _end = max(scored, key=lambda s: s[2][0]["score"])
        best = spans[0]
        s, e = best["start_token"], best["end_token"]
        labels = tuple(f"{i}:{t}" for i, t in enumerate(encoding.tokens))
        choices = (
            Choice(
                Target("start_logits", index=s, name=f"answer start '{encoding.tokens[s]}' (token {s})"),
                encoding,
                labels,
                "answer",
                "start",
            ),
            Choice(
                Target("end_logits", index=e, name=f"answer end '{encoding.tokens[e]}' (token {e})"),
                encoding,
                labels,
                "answer",
                "end",
            ),
        )
        notices = list(encoding.notices)
        if len(windows) > 1:
            notices.append(
                f"The context is longer than this model reads with the question ({bundle.info.max_length} tokens), "
                f"so it was read in {len(windows)} overlapping windows; the answer is in window {best_w + 1}, and "
                "attention and explanations show that window."
            )
        every = distinct_spans(sp for _w, _e, sps, _s, _x in scored for sp in sps)
        return TaskPrediction(
            task=self.kind,
            encoding=encoding,
            headline=f"Answer: {best['answer']!r} (start {best['start_probability']:.1%}, "
            f"end {best['end_probability']:.1%})",
            output={
                "answer": best["answer"],
                "start": best["start"],
                "end": best["end"],
                "start_probability": best["start_probability"],
                "end_probability": best["end_probability"],
                "score": best["score"],
                "top_spans": every[: request.top_k],
                "windows": len(windows),
            },
            rows=tuple(every[: request.top_k]),
            choices=choices,
            highlights=(Highlight(1, best["start"], best["end"], "answer"),),
            notices=tuple(notices),
            extra={"window": best_w},
            defaults=2,  # the answer is explained by its start and its end
        )


def distinct_spans(spans: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Spans best first, each (start, end) of the context once: overlapping windows find a span in their
    overlap twice, with a probability from each window's own softmax; the better one is kept."""
    best: dict[tuple[int, int], dict[str, Any]] = {}
    for span in sorted(spans, key=lambda sp: -sp["score"]):
        best.setdefault((span["start"], span["end"]), span)
    return list(best.values())


def context_windows(bundle: ModelBundle, question: str, context: str) -> list[tuple[int, int]]:
    """Character ranges of the context, each fitting the model with the question, overlapping by about a
    quarter, cut at spaces (so a window holds whole words)."""
    tok = bundle.tokenizer
    with TOKENIZER_LOCK:
        q_tokens = len(tok(question, add_special_tokens=False, split_special_tokens=True)["input_ids"])
        ctx = tok(context, add_special_tokens=False, split_special_tokens=True, return_offsets_mapping=True)
        specials = tok.num_special_tokens_to_add(pair=True)
    offsets = ctx["offset_mapping"]
    budget = bundle.info.max_length - q_tokens - specials - 4  # a few tokens spare: windows end at spaces
    if budget < 16:
        raise InputError(
            f"The question is {q_tokens} tokens; with it this model has room for fewer than 16 context "
            "tokens. Shorten the question."
        )
    if len(offsets) <= budget + 4:
        return [(0, len(context))]
    words = [m.span() for m in _NOT_SPACE.finditer(context)]
    step = max(1, budget - budget // 4)
    out: list[tuple[int, int]] = []
    for first in range(0, len(offsets), step):
        last = min(first + budget, len(offsets)) - 1
        start = next(ws for ws, we in words if we > offsets[first][0])  # the word the first token is in
        ends = [we for ws, we in words if ws < offsets[last][1]]
        end = ends[-1] if ends else len(context)
        # a word cut at the end is dropped (it starts the next window), unless it is the window's only one
        if end > offsets[last][1] and len(ends) > 1 and last < len(offsets) - 1:
            end = ends[-2]
        out.append((start, end))
        if last >= len(offsets) - 1:
            break
    return out


def _spans(
    bundle: ModelBundle, encoding: Encoding, shift: int, top_k: int
) -> tuple[Encoding, list[dict[str, Any]], np.ndarray, np.ndarray]:
    """The window's best answer spans (start ≤ end, both in the context, at most MAX_ANSWER_TOKENS)."""
    out = forward(bundle, encoding)
    start, end = numpy(out.start_logits[0]), numpy(out.end_logits[0])  # (seq,) each
    context = (encoding.segment == 1) & ~encoding.special
    if not context.any():
        raise InputError("The context holds no token this model can read. Type a passage in the context box.")
    p_start = np.where(context, softmax(np.where(context, start, -np.inf)), 0.0)  # over the context's tokens
    p_end = np.where(context, softmax(np.where(context, end, -np.inf)), 0.0)
    n = encoding.n_tokens
    pairs = [
        (s, e) for s in np.flatnonzero(context).tolist() for e in range(s, min(s + MAX_ANSWER_TOKENS, n)) if context[e]
    ]
    pairs.sort(key=lambda se: -(start[se[0]] + end[se[1]]))
    assert encoding.offsets is not None
    spans = []
    for s, e in pairs[:top_k]:
        a, b = int(encoding.offsets[s, 0]), int(encoding.offsets[e, 1])
        spans.append(
            {
                "answer": (encoding.text_b or "")[a:b],
                "start": a + shift,
                "end": b + shift,
                "start_token": int(s),
                "end_token": int(e),
                "start_probability": round(float(p_start[s]), 6),
                "end_probability": round(float(p_end[e]), 6),
                "score": round(float(p_start[s] * p_end[e]), 6),
                "logit_sum": round(float(start[s] + end[e]), 6),
            }
        )
    return encoding, spans, start, end
