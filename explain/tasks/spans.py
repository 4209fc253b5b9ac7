"""Entity spans from tags, entity-level scores, and CoNLL files (``token<TAB>tag``, a blank line between sentences).

Spans follow seqeval's default mode (the conlleval rules, not ``mode="strict"``), so a tagger's F1 here is the
number papers and model cards quote: an entity starts at ``B-``/``S-``, or at an ``I-``/``E-`` after ``O``, after an
``E-``/``S-``, or after a tag of another type; it ends before ``O``, ``B-``, ``S-`` or a type change, and after
``E-``/``S-``. So BIO, IOB1 and BIOES tags all decode, and an ill-formed run (``O I-PER``) still counts as an entity.

Where we part from seqeval on purpose: a tag without a one-letter prefix ("PER", as IO-tagged files write it)
is read as ``I-PER``, as conlleval's raw mode does; seqeval would take its first letter as the prefix ("P", type
"ER"), and read "ORG" as outside. An unknown one-letter prefix ("M-PER", "U-PER") also reads as ``I-``, which is
what seqeval's rules do with it in every case but one after an ``E-``/``S-`` of the same type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from explain.errors import InputError
from explain.readers import text_lines

OUTSIDE = "O"
PREFIXES = frozenset("BIES")


@dataclass(frozen=True)
class Span:
    label: str  # the entity type, without its prefix ("PER")
    start: int  # index of the first word
    end: int  # index after the last word (exclusive)


@dataclass(frozen=True)
class EntityScores:
    precision: float  # correct / predicted, micro over all types (0.0 when nothing was predicted)
    recall: float  # correct / support (0.0 when the gold has no entity)
    f1: float  # harmonic mean of the two (0.0 when both are 0)
    support: int  # gold entities
    predicted: int  # predicted entities
    correct: int  # predicted entities equal to a gold one: same type, same first and last word
    per_type: dict[str, dict[str, float]]  # type -> precision, recall, f1, support (gold or predicted types)


@dataclass(frozen=True)
class ConllSentence:
    tokens: tuple[str, ...]
    tags: tuple[str, ...]
    line: int  # 1-based line of the first token in the file


def _split(tag: str) -> tuple[str, str]:
    """(prefix, type) of a tag: "O" (or nothing) is outside, a bare "B" has type "_" as in seqeval."""
    if tag in ("", OUTSIDE):
        return OUTSIDE, ""
    if tag in PREFIXES:
        return tag, "_"
    if len(tag) >= 2 and tag[1] == "-":
        return (tag[0] if tag[0] in PREFIXES else "I"), tag[2:] or "_"
    return "I", tag


def _ends(prev: str, prev_type: str, tag: str, type_: str) -> bool:
    """An entity open at the previous word ends before this one."""
    if prev == OUTSIDE:
        return False
    return prev in ("E", "S") or tag in (OUTSIDE, "B", "S") or prev_type != type_


def _starts(prev: str, prev_type: str, tag: str, type_: str) -> bool:
    """An entity starts at this word."""
    if tag == OUTSIDE:
        return False
    return tag in ("B", "S") or prev in (OUTSIDE, "E", "S") or prev_type != type_


def decode_spans(tags: Sequence[str]) -> list[Span]:
    """The entities of one sentence's tags, in order."""
    spans: list[Span] = []
    prev, prev_type, begin = OUTSIDE, "", 0
    for i, raw in enumerate([*tags, OUTSIDE]):  # the trailing O closes an entity at the sentence's end
        tag, type_ = _split(raw)
        if _ends(prev, prev_type, tag, type_):
            spans.append(Span(prev_type, begin, i))
        if _starts(prev, prev_type, tag, type_):
            begin = i
        prev, prev_type = tag, type_
    return spans


def _ratios(correct: int, predicted: int, support: int) -> tuple[float, float, float]:
    precision = correct / predicted if predicted else 0.0
    recall = correct / support if support else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _entities(sentences: Sequence[Sequence[str]]) -> set[tuple[int, Span]]:
    return {(n, span) for n, tags in enumerate(sentences) for span in decode_spans(tags)}


def _check_shapes(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> None:
    if len(gold) != len(predicted):
        raise InputError(
            f"{len(gold)} gold sentences but {len(predicted)} predicted ones. Give one tag sequence per sentence "
            "on both sides, in the same order."
        )
    for n, (truth, guess) in enumerate(zip(gold, predicted, strict=True)):
        if len(truth) != len(guess):
            raise InputError(
                f"Sentence {n + 1} has {len(truth)} gold tags but {len(guess)} predicted ones. Give one tag per "
                "word on both sides (the words split the same way)."
            )


def entity_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> EntityScores:
    """Entity-level precision, recall and F1 of ``predicted`` against ``gold`` (lists of sentences' tags), as
    seqeval's ``classification_report`` gives them: an entity counts only when type and both ends match."""
    _check_shapes(gold, predicted)
    truth, guessed = _entities(gold), _entities(predicted)
    per_type: dict[str, dict[str, float]] = {}
    for label in sorted({span.label for _, span in truth | guessed}):  # seqeval 1.x: gold and predicted types
        true_of = {e for e in truth if e[1].label == label}
        guessed_of = {e for e in guessed if e[1].label == label}
        p, r, f = _ratios(len(true_of & guessed_of), len(guessed_of), len(true_of))
        per_type[label] = {"precision": p, "recall": r, "f1": f, "support": float(len(true_of))}
    correct = len(truth & guessed)
    precision, recall, f1 = _ratios(correct, len(guessed), len(truth))
    return EntityScores(precision, recall, f1, len(truth), len(guessed), correct, per_type)


def _fields(path: Path, number: int, line: str) -> tuple[str, str]:
    """(token, tag) of one line: split on tabs, or on single spaces when the line has no tab."""
    fields = [f.strip() for f in line.split("\t" if "\t" in line else " ")]
    if len(fields) != 2 or not all(fields):
        raise InputError(
            f"{path}:{number} has {len([f for f in fields if f])} fields where a token and its tag belong. Each "
            "line must be 'token<TAB>tag' (keep only those two columns), with a blank line between sentences."
        )
    return fields[0], fields[1]


def read_conll(path: Path) -> list[ConllSentence]:
    """The sentences of a CoNLL file; ``-DOCSTART-`` lines are skipped and end a sentence, as blank lines do."""
    sentences: list[ConllSentence] = []
    rows: list[tuple[int, str, str]] = []

    def close() -> None:
        if rows:
            tokens, tags = tuple(r[1] for r in rows), tuple(r[2] for r in rows)
            sentences.append(ConllSentence(tokens, tags, rows[0][0]))
            rows.clear()

    last = 0
    for number, line in text_lines(path):
        if number != last + 1:  # the reader skips blank lines; a gap in the numbering is one
            close()
        last = number
        if line.strip().startswith("-DOCSTART-"):
            close()
            continue
        rows.append((number, *_fields(path, number, line)))
    close()
    if not sentences:
        raise InputError(
            f"'{path}' has no tagged tokens. Write one 'token<TAB>tag' per line, a blank line between sentences."
        )
    return sentences
