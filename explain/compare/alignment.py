"""Which word of one input is which word of another: a word-level diff mapped to word pieces.

Two inputs are aligned on the words as typed (:attr:`Encoding.words`), never on tokens: the same word
can split into different pieces ("good" vs "goodness", or one tokenizer against another), and a word
is what a user changes. ``difflib.SequenceMatcher`` finds the longest runs of equal words and calls the
rest replaced, inserted or deleted. Special tokens are words of their own, matched by their role (the
one that opens a segment, the ones that close it) rather than by their spelling, so ``[CLS]`` meets
``<s>`` when two tokenizers are compared and a typed "[CLS]" never meets the real one.

A sentence pair (NLI-style) is aligned segment by segment: A's first sentence with B's first sentence
and A's second with B's second, so a word never moves across the boundary.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from explain.errors import InputError
from explain.inputs import Encoding


class Op(StrEnum):
    """What happened to a word going from A to B (difflib's names)."""

    EQUAL = "equal"
    REPLACE = "replace"
    INSERT = "insert"  # only in B
    DELETE = "delete"  # only in A


@dataclass(frozen=True)
class AlignedWord:
    """One row of an alignment: a word of A, a word of B, or both."""

    a: int | None  # index into encoding_a.words; None for an inserted word
    b: int | None  # index into encoding_b.words; None for a deleted word
    op: Op
    segment: int  # 0 for the first sentence (and the leading special), 1 for the second of a pair


@dataclass(frozen=True, eq=False)
class Alignment:
    """Words of two inputs side by side, in reading order (segment A's rows first)."""

    encoding_a: Encoding
    encoding_b: Encoding
    rows: tuple[AlignedWord, ...]  # [rows]

    @property
    def identical(self) -> bool:
        """Every word matched: the diff is empty."""
        return all(r.op is Op.EQUAL for r in self.rows)

    def word_a(self, row: AlignedWord) -> str | None:
        return None if row.a is None else self.encoding_a.words[row.a]

    def word_b(self, row: AlignedWord) -> str | None:
        return None if row.b is None else self.encoding_b.words[row.b]

    def pieces_a(self, row: AlignedWord) -> np.ndarray:
        """[pieces] token positions of the row's word in A (empty for an inserted word)."""
        return _pieces(self.encoding_a, row.a)

    def pieces_b(self, row: AlignedWord) -> np.ndarray:
        """[pieces] token positions of the row's word in B (empty for a deleted word)."""
        return _pieces(self.encoding_b, row.b)

    def equal_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Word indices ([k] in A, [k] in B) of the rows present in both unchanged, specials included."""
        equal = [r for r in self.rows if r.op is Op.EQUAL]
        return np.array([r.a for r in equal], dtype=np.int64), np.array([r.b for r in equal], dtype=np.int64)


def align_words(encoding_a: Encoding, encoding_b: Encoding) -> Alignment:
    """Align two encodings word by word (see the module docstring). Both are single texts or both pairs."""
    if (encoding_a.text_b is None) != (encoding_b.text_b is None):
        raise InputError(
            "One side is a sentence pair and the other a single text, so their segments cannot be aligned. "
            "Give both sides a second sentence (--pair-a and --pair-b) or neither."
        )
    rows: list[AlignedWord] = []
    for segment in (0, 1):
        words_a, words_b = _segment_words(encoding_a, segment), _segment_words(encoding_b, segment)
        rows += _diff(words_a, words_b, _keys(encoding_a, words_a), _keys(encoding_b, words_b), segment)
    return Alignment(encoding_a, encoding_b, tuple(rows))


def _diff(
    words_a: list[int], words_b: list[int], keys_a: list[str], keys_b: list[str], segment: int
) -> list[AlignedWord]:
    # autojunk off: it would treat a word repeated in a long text as noise and leave it unmatched.
    matcher = difflib.SequenceMatcher(None, keys_a, keys_b, autojunk=False)
    rows: list[AlignedWord] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        span_a, span_b = words_a[i1:i2], words_b[j1:j2]
        if tag == "equal":
            rows += [AlignedWord(a, b, Op.EQUAL, segment) for a, b in zip(span_a, span_b, strict=True)]
        elif tag == "delete":
            rows += [AlignedWord(a, None, Op.DELETE, segment) for a in span_a]
        elif tag == "insert":
            rows += [AlignedWord(None, b, Op.INSERT, segment) for b in span_b]
        else:  # replace: pair words off in order; the longer side's surplus is deleted or inserted
            for k in range(max(len(span_a), len(span_b))):
                a = span_a[k] if k < len(span_a) else None
                b = span_b[k] if k < len(span_b) else None
                op = Op.REPLACE if a is not None and b is not None else Op.DELETE if b is None else Op.INSERT
                rows.append(AlignedWord(a, b, op, segment))
    return rows


def _segment_words(encoding: Encoding, segment: int) -> list[int]:
    """The word indices of one segment, in reading order (a word's segment is its first token's)."""
    firsts = _first_tokens(encoding)
    return [w for w, t in enumerate(firsts) if encoding.segment[t] == segment]


def _keys(encoding: Encoding, words: list[int]) -> list[str]:
    """What the diff compares: a typed word by its text, a special token by its role in the segment."""
    firsts = _first_tokens(encoding)
    typed = [w for w in words if not encoding.special[firsts[w]]]
    first_typed = firsts[typed[0]] if typed else len(encoding.tokens)
    keys = []
    for w in words:
        if encoding.special[firsts[w]]:  # \0 cannot be typed (inputs.clean_text removes it)
            keys.append("\0open" if firsts[w] < first_typed else "\0close")
        else:
            keys.append(encoding.words[w])
    return keys


def _first_tokens(encoding: Encoding) -> list[int]:
    """[words] position of each word's first token."""
    firsts: dict[int, int] = {}
    for t, w in enumerate(encoding.word_index.tolist()):
        firsts.setdefault(w, t)
    return [firsts[w] for w in range(len(encoding.words))]


def _pieces(encoding: Encoding, word: int | None) -> np.ndarray:
    if word is None:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(encoding.word_index == word)
