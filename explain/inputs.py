"""Turning what a user typed into model inputs, saying plainly what changed on the way.

Text is cleaned (control and bidi-override characters removed), tokenised with
``split_special_tokens=True`` (a typed "[SEP]" must not fake a sentence boundary), truncated to the
model's maximum length with a notice of how many tokens were dropped, and mapped back to the words
the user typed through the tokenizer's character offsets (never by string search). The same offsets
say which characters the model cannot read: those it sees as the unknown token and those the
tokenizer drops on the way.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass, replace

import numpy as np
import torch
from transformers import BatchEncoding

from explain.errors import InputError
from explain.models.loading import TOKENIZER_LOCK, ModelBundle

#: Longer pastes are refused before tokenising, so a 100,000-character paste costs nothing.
MAX_CHARS = 10_000
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_WORD = re.compile(r"\S+")
#: A notice lists at most this many distinct unreadable words or characters.
MAX_LISTED = 10
_EMPTY_SINGLE = "Enter at least one word to analyse (the text is empty or holds only characters this model drops)."
_EMPTY_A = "Sentence A is empty (or holds only characters this model drops). Type the first sentence of the pair."
_EMPTY_B = (
    "Sentence B is empty (or holds only characters this model drops). Type a second sentence or switch off "
    "'sentence pair'."
)


@dataclass(frozen=True)
class Encoding:
    """One input, tokenised. Arrays are indexed by token position (``seq`` = number of tokens)."""

    text: str  # segment A after cleaning
    text_b: str | None  # segment B after cleaning, or None for a single text
    input_ids: np.ndarray  # [seq] int64
    token_type_ids: np.ndarray | None  # [seq] int64, only for models that take segment ids
    tokens: tuple[str, ...]  # display form of each token ("##ing" kept, "Ġ"/"▁" markers removed)
    special: np.ndarray  # [seq] bool: [CLS], [SEP], <s>, ...
    segment: np.ndarray  # [seq] int64: 0 for segment A (and the leading special), 1 for B
    word_index: np.ndarray  # [seq] int64: the word each token belongs to; specials are words of their own
    words: tuple[str, ...]  # the words as typed (runs of non-space characters) and the special tokens
    n_original: int  # tokens before truncation
    notices: tuple[str, ...]  # what the user should know: truncation, removed characters, typed specials
    offsets: np.ndarray | None = None  # [seq, 2] int64 character span of each token in its segment's text

    @property
    def n_tokens(self) -> int:
        return len(self.tokens)

    @property
    def n_dropped(self) -> int:
        return self.n_original - self.n_tokens

    @property
    def sentence_b_start(self) -> int | None:
        starts = np.flatnonzero(self.segment == 1)
        return int(starts[0]) if self.text_b is not None and starts.size else None

    def model_inputs(self, device: torch.device) -> dict[str, torch.Tensor]:
        """The keyword arguments of one forward pass on ``device`` (the model's): a single unpadded row, so no
        attention mask is needed (every mask and position tensor has batch 1 and broadcasts); segment ids only
        where the model takes them."""
        inputs = {"input_ids": torch.tensor(self.input_ids, device=device)[None]}  # (1, seq)
        if self.token_type_ids is not None:
            inputs["token_type_ids"] = torch.tensor(self.token_type_ids, device=device)[None]  # (1, seq)
        return inputs


def clean_text(text: str) -> tuple[str, int]:
    """Remove characters that corrupt tokenising or spoof display; returns (text, removed count)."""
    # A lone surrogate cannot be encoded and makes the tokenizer raise a misleading TypeError.
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    kept = [ch for ch in text if ch in "\t\n" or (unicodedata.category(ch) != "Cc" and ch not in _BIDI_CONTROLS)]
    return "".join(kept), len(text) - len(kept)


def prepare_input(bundle: ModelBundle, text: str, text_b: str | None = None, masks: bool = False) -> Encoding:
    """Validate, clean and tokenise one text (or pair). Raises :class:`InputError` with the fix.

    ``masks``: a typed [MASK] (or the tokenizer's own mask text, e.g. ``<mask>``) becomes the mask token, for
    a masked LM to fill; every other special-token text stays ordinary characters."""
    total = len(text) + len(text_b or "")
    if total > MAX_CHARS:
        raise InputError(
            f"The text is {total:,} characters; Glimpse reads at most {MAX_CHARS:,} "
            f"(the model sees at most {bundle.info.max_length} tokens anyway). Paste a shorter passage."
        )
    text, removed = clean_text(text)
    if text_b is not None:
        text_b, removed_b = clean_text(text_b)
        removed += removed_b
    _require_words(text, text_b)  # before tokenising: the common case costs nothing
    enc, full = _tokenize(bundle, text, text_b)
    if masks:
        from explain.tasks.masks import masked  # the tasks build on inputs, not the other way

        enc = masked(bundle, enc)
    _require_tokens(enc)
    notices = []
    if removed:
        notices.append(f"Removed {removed} control or text-direction character(s) that cannot be shown safely.")
    if masks:
        from explain.tasks.masks import unmasked

        notices += _typed_specials(bundle, unmasked(bundle, text) or "", unmasked(bundle, text_b))
    else:
        notices += _typed_specials(bundle, text, text_b)
    notices += _unreadable(bundle, full, (text, text_b or ""))
    if enc.n_dropped:
        notices.append(
            f"The input has {enc.n_original} tokens; this model reads at most {bundle.info.max_length}, "
            + (
                f"so {enc.n_dropped} token(s) were dropped from the end of the longer sentence (then both)."
                if text_b is not None
                else f"so the last {enc.n_dropped} token(s) were dropped."
            )
        )
    return _with_notices(enc, tuple(notices))


def _require_words(text: str, text_b: str | None) -> None:
    if text_b is not None and not text_b.strip():
        raise InputError(_EMPTY_B)
    if not text.strip():
        raise InputError(_EMPTY_SINGLE if text_b is None else _EMPTY_A)


def _require_tokens(enc: Encoding) -> None:
    """Each segment needs a token of its own: a sentence of only dropped characters (zero-width spaces, say)
    would otherwise pass as an empty segment."""
    readable = ~enc.special
    if enc.text_b is not None and not (readable & (enc.segment == 1)).any():
        raise InputError(_EMPTY_B)
    if not (readable & (enc.segment == 0)).any():
        raise InputError(_EMPTY_SINGLE if enc.text_b is None else _EMPTY_A)


def _typed_specials(bundle: ModelBundle, text: str, text_b: str | None) -> list[str]:
    joined = text + " " + (text_b or "")
    found = [s for s in bundle.tokenizer.all_special_tokens if len(s) > 1 and s in joined]
    if not found:
        return []
    with TOKENIZER_LOCK:
        pieces = {s: " ".join(bundle.tokenizer.tokenize(s, split_special_tokens=True)) for s in found}
    shown = "; ".join(f"'{s}' → {p}" for s, p in pieces.items())
    return [
        f"You typed special-token text ({shown}). It is read as ordinary characters, so it cannot fake "
        "a sentence boundary; use the 'sentence pair' switch for two segments."
    ]


def _unreadable(bundle: ModelBundle, full: BatchEncoding, texts: tuple[str, str]) -> list[str]:
    """Notices naming what the model cannot read: words it sees as its unknown token, characters it drops."""
    unknown, dropped = _unread(bundle, full, texts)
    notices = []
    if unknown:
        notices.append(
            f"This model reads {_listing([_shown(w) for w in unknown])} as its unknown token "
            f"{bundle.tokenizer.unk_token}: they are not in its vocabulary, so their meaning is lost to it."
        )
    if dropped:
        notices.append(
            f"The tokenizer drops {_listing([_shown(c) for c in dropped], 'character')}: the model never sees them."
        )
    return notices


def _unread(bundle: ModelBundle, full: BatchEncoding, texts: tuple[str, str]) -> tuple[list[str], list[str]]:
    """Through the tokenizer's offsets, the distinct spans it encodes as the unknown token and the distinct
    characters that no token covers or that its normaliser removes, in text order."""
    tok = bundle.tokenizer
    unknown: dict[str, None] = {}  # insertion-ordered sets
    covered = [np.zeros(len(t), dtype=bool) for t in texts]
    for (start, end), seq, token_id in zip(full["offset_mapping"], full.sequence_ids(), full["input_ids"], strict=True):
        if seq is None:
            continue
        covered[seq][start:end] = True
        if token_id == tok.unk_token_id and end > start:
            unknown[texts[seq][start:end]] = None
    # A normaliser may remove a character inside a token's span (WordPiece reads "ab\u200bcd" as "abcd",
    # and the offsets of "abc" run over the zero-width space), so each distinct character is asked too.
    normalizer = getattr(getattr(tok, "backend_tokenizer", None), "normalizer", None)
    distinct = set("".join(texts))
    removed = {ch for ch in distinct if normalizer.normalize_str(ch) == ""} if normalizer is not None else set()
    dropped: dict[str, None] = {}
    for seq, text in enumerate(texts):
        for i, ch in enumerate(text):
            if not ch.isspace() and (not covered[seq][i] or ch in removed):
                dropped[ch] = None
    return list(unknown), list(dropped)


def _listing(items: list[str], noun: str = "word") -> str:
    shown = ", ".join(items[:MAX_LISTED]) + (f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else "")
    return f"{len(items)} distinct {noun}(s) ({shown})"


def _shown(text: str, limit: int = 24) -> str:
    """A word or character as a notice quotes it: invisible and combining characters by code point."""
    if len(text) == 1 and (unicodedata.category(text)[0] in "MCZ" or not text.isprintable()):
        return f"U+{ord(text):04X} {unicodedata.name(text, '')}".rstrip()
    if len(text) > limit:
        return f"'{text[:limit]}…' ({len(text)} characters)"
    return f"'{text}'"


def _tokenize(bundle: ModelBundle, text: str, text_b: str | None) -> tuple[Encoding, BatchEncoding]:
    """The truncated encoding, and the tokenizer's full (untruncated) output for the notices."""
    tok = bundle.tokenizer
    kwargs = {"split_special_tokens": True, "add_special_tokens": True, "return_offsets_mapping": True}
    with TOKENIZER_LOCK:
        full = tok(text, text_b, **kwargs)
        enc = tok(text, text_b, truncation=True, max_length=bundle.info.max_length, return_special_tokens_mask=True,
                  **kwargs)  # fmt: skip
    n_original = len(full["input_ids"])
    ids = np.asarray(enc["input_ids"], dtype=np.int64)
    special = np.asarray(enc["special_tokens_mask"], dtype=bool)
    segment = _segments(enc.sequence_ids(), special)
    word_index, words = _words(enc["offset_mapping"], special, segment, ids, bundle, (text, text_b or ""))
    types = enc.get("token_type_ids") if bundle.info.uses_token_types else None
    return (
        Encoding(
            text=text,
            text_b=text_b,
            input_ids=ids,
            token_type_ids=None if types is None else np.asarray(types, dtype=np.int64),
            tokens=_token_labels(bundle, ids, enc["offset_mapping"], segment, special, (text, text_b or "")),
            special=special,
            segment=segment,
            word_index=word_index,
            words=words,
            n_original=n_original,
            notices=(),
            offsets=np.asarray(enc["offset_mapping"], dtype=np.int64).reshape(-1, 2),
        ),
        full,
    )


def _segments(sequence_ids: list[int | None], special: np.ndarray) -> np.ndarray:
    seg = np.zeros(len(sequence_ids), dtype=np.int64)
    current = 0
    for i, s in enumerate(sequence_ids):
        if s is not None:
            current = s
        # A special token belongs to the segment it closes; the first one opens segment A.
        seg[i] = current
    return seg


def _words(
    offsets: list[tuple[int, int]],
    special: np.ndarray,
    segment: np.ndarray,
    ids: np.ndarray,
    bundle: ModelBundle,
    texts: tuple[str, str],
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Group tokens into the whitespace-separated words the user typed."""
    spans = [[m.span() for m in _WORD.finditer(t)] for t in texts]
    starts = [[s for s, _ in sp] for sp in spans]
    index = np.zeros(len(ids), dtype=np.int64)
    words: list[str] = []
    seen: dict[tuple[int, int], int] = {}
    for i, (start, _end) in enumerate(offsets):
        if special[i]:
            words.append(_display(str(bundle.tokenizer.convert_ids_to_tokens(int(ids[i])))))
            index[i] = len(words) - 1
            continue
        seg = int(segment[i])
        w = max(bisect.bisect_right(starts[seg], start) - 1, 0)
        if (seg, w) not in seen:
            ws, we = spans[seg][w]
            seen[(seg, w)] = len(words)
            words.append(texts[seg][ws:we])
        index[i] = seen[(seg, w)]
    return index, tuple(words)


def _token_labels(
    bundle: ModelBundle,
    ids: np.ndarray,
    offsets: list[tuple[int, int]],
    segment: np.ndarray,
    special: np.ndarray,
    texts: tuple[str, str],
) -> tuple[str, ...]:
    """What each token shows. Byte-level BPE stores bytes as stand-in characters ('Ã©' for 'é'), so its
    tokens are decoded, and a piece holding part of a character's bytes shows that character."""
    tok = bundle.tokenizer
    raw = [str(t) for t in tok.convert_ids_to_tokens(ids.tolist())]
    decoder = getattr(getattr(tok, "backend_tokenizer", None), "decoder", None)
    if type(decoder).__name__ != "ByteLevel":
        return tuple(_display(t) for t in raw)
    labels = []
    for i, token in enumerate(raw):
        decoded = str(tok.decode([int(ids[i])]))
        text = decoded.strip() or ("␣" if decoded else "")  # a piece that is only a space shows as one
        if special[i] or not text or "\ufffd" in text:
            start, end = offsets[i]
            text = raw[i] if special[i] else texts[int(segment[i])][start:end] or token
        labels.append(text)
    return tuple(labels)


def _display(token: str) -> str:
    # Byte-level BPE (Ġ) and SentencePiece (▁) mark word starts; WordPiece's ## marks continuations.
    return token.replace("Ġ", "").replace("▁", "").replace("Ċ", "\\n") or token


def _with_notices(enc: Encoding, notices: tuple[str, ...]) -> Encoding:
    from dataclasses import fields

    for f in fields(enc):  # encodings are cached and shared between sessions: read-only
        value = getattr(enc, f.name)
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
    return replace(enc, notices=notices)
