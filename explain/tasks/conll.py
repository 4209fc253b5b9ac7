"""Entity-level precision, recall and F1 of a tagger over a CoNLL file (seqeval's definition, see
:mod:`explain.tasks.spans`): each sentence's tokens are joined by spaces, tagged as the app tags a text
(a word's tag is its first token's), and compared entity by entity with the file's tags.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from explain.errors import SettingsError
from explain.inputs import prepare_input
from explain.models.heads import TaskKind
from explain.models.loading import ModelBundle
from explain.tasks.spans import EntityScores, entity_scores, read_conll


@dataclass(frozen=True)
class ConllResult:
    scores: EntityScores
    sentences: int
    words: int
    truncated: int  # sentences longer than the model reads: their unread words are tagged O


def evaluate_conll(bundle: ModelBundle, path: Path, on_sentence: Callable[[int], None] | None = None) -> ConllResult:
    if bundle.info.task != TaskKind.TOKEN_CLASSIFICATION:
        raise SettingsError(f"'{bundle.info.source}' runs as {bundle.info.task}; --conll scores a tagger. Load a "
                            "token-classification model (e.g. --model embedded-ner).")  # fmt: skip
    sentences = read_conll(path)
    predicted, truncated = [], 0
    for n, sentence in enumerate(sentences):
        tags, cut = word_tags(bundle, list(sentence.tokens))
        predicted.append(tags)
        truncated += cut
        if on_sentence is not None:
            on_sentence(n + 1)
    gold = [list(s.tags) for s in sentences]
    return ConllResult(entity_scores(gold, predicted), len(sentences), sum(len(g) for g in gold), truncated)


def word_tags(bundle: ModelBundle, words: list[str]) -> tuple[list[str], int]:
    """The tag of each given word (its first token's), and 1 if the model could not read them all."""
    text = " ".join(words)
    starts = np.cumsum([0] + [len(w) + 1 for w in words[:-1]]).tolist()  # where each word begins in ``text``
    encoding = prepare_input(bundle, text)
    assert encoding.offsets is not None
    with torch.no_grad():
        logits = bundle.model(**encoding.model_inputs(bundle.device)).logits[0]  # (seq, tags)
    predicted = logits.argmax(-1).tolist()
    tags = ["O"] * len(words)
    seen: set[int] = set()
    for t in np.flatnonzero(~encoding.special).tolist():
        w = bisect.bisect_right(starts, int(encoding.offsets[t, 0])) - 1
        if w not in seen:  # the word's first token tags it; a word the tokenizer drops entirely stays O
            seen.add(w)
            tags[w] = bundle.info.labels[predicted[t]]
    return tags, int(encoding.n_dropped > 0)
