"""Fill-mask: the tokens a masked language model puts at each [MASK] (or ``<mask>``), by probability.

Explaining a candidate explains its logit at that mask's position (a softmax over the whole vocabulary
would saturate and mix in every other word).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from explain.errors import InputError, SettingsError
from explain.inputs import Encoding, prepare_input
from explain.methods.target import Target
from explain.models.heads import TaskKind
from explain.models.loading import TOKENIZER_LOCK, ModelBundle
from explain.tasks.base import (
    Choice,
    Highlight,
    Selects,
    TargetSpec,
    TaskPrediction,
    TaskRequest,
    forward,
    numpy,
    softmax,
)
from explain.tasks.masks import mask_texts


class FillMask(Selects):
    kind = TaskKind.FILL_MASK

    def predict(self, bundle: ModelBundle, request: TaskRequest) -> TaskPrediction:
        encoding = prepare_input(bundle, request.text, request.text_b, masks=True)
        masks = mask_positions(bundle, encoding)
        probs = softmax(numpy(forward(bundle, encoding).logits[0, masks]))  # (masks, vocab)
        found: list[dict[str, Any]] = []
        choices: list[Choice] = []
        vocabulary = _vocabulary(bundle)  # every choice's column names: listed once, shared by all
        for m, position in enumerate(masks):
            top = np.argsort(-probs[m], kind="stable")[: request.top_k]
            candidates = [
                {"token": _shown(bundle, int(i)), "token_id": int(i), "probability": round(float(probs[m, i]), 6)}
                for i in top
            ]
            found.append({"mask": m, "position": position, "candidates": candidates})
            choices += [candidate_choice(bundle, encoding, m, int(i), vocabulary) for i in top]
        return TaskPrediction(
            task=self.kind,
            encoding=encoding,
            headline=" · ".join(f"[MASK] {f['mask'] + 1}: {f['candidates'][0]['token']!r}" for f in found),
            output={"masks": found},
            rows=tuple({"mask": f["mask"] + 1, **c} for f in found for c in f["candidates"]),
            choices=tuple(choices),
            highlights=tuple(_highlight(encoding, p, f"[MASK] {m + 1}") for m, p in enumerate(masks)),
            notices=encoding.notices,
        )

    def select(self, bundle: ModelBundle, prediction: TaskPrediction, spec: TargetSpec) -> tuple[Choice, ...]:
        """A mask's candidate (``--mask-index M --candidate WORD``); a mask alone means its top candidate."""
        if spec.mask_index is None and spec.candidate is None:
            return super().select(bundle, prediction, spec)
        mask = spec.mask_index or 0
        masks = prediction.output["masks"]
        if not 0 <= mask < len(masks):
            raise SettingsError(f"Mask {mask} does not exist; this text has masks 0 to {len(masks) - 1}.")
        listed = masks[mask]["candidates"]
        candidate: int | str = listed[0]["token_id"] if spec.candidate is None else spec.candidate
        if isinstance(candidate, str) and not candidate.strip().isdigit():  # digits are a vocabulary id
            # a candidate typed as the list shows it ("movie") is the listed token (RoBERTa's "Ġmovie")
            candidate = next((c["token_id"] for c in listed if c["token"] == candidate.strip()), candidate)
        return (candidate_choice(bundle, prediction.encoding, mask, candidate),)


def mask_positions(bundle: ModelBundle, encoding: Encoding) -> list[int]:
    positions = np.flatnonzero(encoding.input_ids == bundle.tokenizer.mask_token_id).tolist()
    if not positions:
        raise InputError(
            f"The text has no {' or '.join(mask_texts(bundle))}. Put one where a word should be "
            "predicted, e.g. 'Paris is the [MASK] of France.'"
        )
    return [int(p) for p in positions]


def candidate_choice(
    bundle: ModelBundle, encoding: Encoding, mask: int, candidate: int | str, vocabulary: tuple[str, ...] | None = None
) -> Choice:
    """Mask number ``mask`` (0-based)'s candidate: a vocabulary id, or a token as typed ("capital").
    ``vocabulary``: the column names (:func:`_vocabulary`), when the caller already listed them."""
    masks = mask_positions(bundle, encoding)
    if not 0 <= mask < len(masks):
        raise SettingsError(f"Mask {mask} does not exist; this text has masks 0 to {len(masks) - 1}.")
    index = _token_id(bundle, candidate)
    name = f"{_shown(bundle, index)!r} at [MASK] {mask + 1} (token {masks[mask]})"
    return Choice(
        Target(position=masks[mask], index=index, name=name),
        encoding,
        _vocabulary(bundle) if vocabulary is None else vocabulary,
        f"[MASK] {mask + 1}",
        f"{mask}:{_shown(bundle, index)}",
    )


def _token_id(bundle: ModelBundle, candidate: int | str) -> int:
    size = len(bundle.tokenizer)
    if isinstance(candidate, int) or (isinstance(candidate, str) and candidate.strip().isdigit()):
        index = int(candidate)
        if not 0 <= index < size:
            raise SettingsError(f"Token id {index} is not in the vocabulary (0 to {size - 1}).")
        return index
    word, tok = candidate.strip(), bundle.tokenizer
    exact = tok.convert_tokens_to_ids(word)  # a vocabulary token as spelled ("Ġmovie", "##ing")
    if isinstance(exact, int) and (exact != tok.unk_token_id or word == tok.unk_token):
        return exact
    with TOKENIZER_LOCK:  # the word-initial form first: a byte-level BPE's "movie" after a space is "Ġmovie"
        forms = [tok(f, add_special_tokens=False, split_special_tokens=True)["input_ids"] for f in (" " + word, word)]
    ids = next((f for f in forms if len(f) == 1), forms[-1])
    if len(ids) != 1:
        raise SettingsError(
            f"'{candidate[:40]}' is {len(ids)} tokens for this model; a mask holds one. Pick one of "
            "the listed candidates, or a single-token word."
        )
    return int(ids[0])


def _vocabulary(bundle: ModelBundle) -> tuple[str, ...]:
    return tuple(str(t) for t in bundle.tokenizer.convert_ids_to_tokens(list(range(len(bundle.tokenizer)))))


def _shown(bundle: ModelBundle, index: int) -> str:
    return str(bundle.tokenizer.decode([index])).strip() or str(bundle.tokenizer.convert_ids_to_tokens(index))


def _highlight(encoding: Encoding, position: int, label: str) -> Highlight:
    assert encoding.offsets is not None
    start, end = encoding.offsets[position]
    return Highlight(int(encoding.segment[position]), int(start), int(end), label)
