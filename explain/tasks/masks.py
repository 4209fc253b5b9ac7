"""Typed masks for a masked LM: "[MASK]" (or the tokenizer's own "<mask>") read as the mask token.

Every other special-token text a user types is ordinary characters (see :mod:`explain.inputs`); a mask is the
one a fill-mask model needs, so its pieces are collapsed into the mask token, found through the offsets.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import numpy as np

from explain.models.loading import ModelBundle


def mask_texts(bundle: ModelBundle) -> tuple[str, ...]:
    """What a user may type for a mask: "[MASK]" and the tokenizer's own mask text ("<mask>" for RoBERTa)."""
    own = bundle.tokenizer.mask_token
    return tuple(dict.fromkeys(t for t in ("[MASK]", own if isinstance(own, str) else None) if t))


def unmasked(bundle: ModelBundle, text: str | None) -> str | None:
    if text is None:
        return None
    for typed in mask_texts(bundle):
        text = text.replace(typed, " ")
    return text


def masked(bundle: ModelBundle, enc: Any) -> Any:  # an explain.inputs.Encoding, which imports this module
    """Each typed mask's tokens (split as ordinary text) collapsed into one mask token, found by offsets."""
    mask_id = bundle.tokenizer.mask_token_id
    if mask_id is None or enc.offsets is None:
        return enc
    texts = (enc.text, enc.text_b or "")
    runs = [
        (seg, m.start(), m.end())
        for seg, t in enumerate(texts)
        for typed in mask_texts(bundle)
        for m in re.finditer(re.escape(typed), t)
    ]
    keep = np.ones(enc.n_tokens, dtype=bool)
    ids, tokens = enc.input_ids.copy(), list(enc.tokens)
    for seg, start, end in runs:
        inside = np.flatnonzero(
            (enc.segment == seg) & ~enc.special & (enc.offsets[:, 0] < end) & (enc.offsets[:, 1] > start)
        )
        if inside.size:
            first = int(inside[0])
            ids[first], tokens[first] = mask_id, str(bundle.tokenizer.mask_token)
            keep[inside[1:]] = False
    offsets = enc.offsets.copy()
    for seg, start, end in runs:  # the mask token covers the whole typed text
        hit = np.flatnonzero(
            (ids == mask_id) & (enc.segment == seg) & (enc.offsets[:, 0] >= start) & (enc.offsets[:, 0] < end)
        )
        offsets[hit] = (start, end)
    return replace(
        enc,
        input_ids=ids[keep],
        tokens=tuple(t for t, k in zip(tokens, keep, strict=True) if k),
        token_type_ids=None if enc.token_type_ids is None else enc.token_type_ids[keep],
        special=enc.special[keep],
        segment=enc.segment[keep],
        word_index=enc.word_index[keep],
        offsets=offsets[keep],
        n_original=enc.n_original - int((~keep).sum()),
    )
