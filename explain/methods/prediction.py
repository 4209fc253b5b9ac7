"""Predictions in batches, and accuracy over a labelled file (``sentence<TAB>label``).

Batched passes go to the weight-sharing sdpa twin (no attention weights needed), with padding and an
attention mask; a single text's prediction on a page comes free with its attention pass instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from explain.errors import AttributionError, InputError
from explain.inputs import MAX_CHARS, Encoding, clean_text
from explain.models.loading import TOKENIZER_LOCK, ModelBundle
from explain.readers import parse_label, text_lines


@dataclass(frozen=True)
class LabelledExample:
    text: str
    label: int
    line: int  # 1-based line number in the file


@dataclass(frozen=True)
class EvaluationResult:
    """Accuracy of a classifier over labelled examples."""

    accuracy: float
    correct: int
    total: int
    per_label: dict[str, dict[str, int]]  # label -> {"total": n, "correct": k}
    confusion: np.ndarray  # [labels, labels] int64, rows = true label, columns = predicted


def predict_logits(bundle: ModelBundle, encoding: Encoding) -> np.ndarray:
    """The logits [labels] of one prepared input, from the shared eager model: the prediction as the
    Attention page and ``predict`` show it (the sdpa twin can differ in the last bits on a near-tie)."""
    if not bundle.info.has_classifier:
        raise AttributionError(f"'{bundle.info.source}' has no classification head, so it cannot predict.")
    inputs = encoding.model_inputs(bundle.device)
    with torch.no_grad():
        logits: np.ndarray = bundle.model(**inputs).logits[0].cpu().double().numpy()  # (labels,)
    return logits


def predict_proba(
    bundle: ModelBundle,
    texts: Sequence[str],
    batch_size: int = 32,
    on_batch: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Class probabilities [n, labels] for many texts (truncated to the model's maximum length)."""
    if not bundle.info.has_classifier:
        raise AttributionError(f"'{bundle.info.source}' has no classification head, so it cannot predict.")
    out = []
    for start in range(0, len(texts), batch_size):
        batch = [clean_text(t[:MAX_CHARS])[0] for t in texts[start : start + batch_size]]
        with TOKENIZER_LOCK:
            enc = bundle.tokenizer(
                batch, padding=True, truncation=True, max_length=bundle.info.max_length, return_tensors="np",
                split_special_tokens=True,
            )  # fmt: skip
        # NumPy from the tokenizer, tensors made on the model's device: nothing lands on torch's default device.
        enc = {k: torch.as_tensor(v, device=bundle.device) for k, v in enc.items()
               if k != "token_type_ids" or bundle.info.uses_token_types}  # fmt: skip
        with bundle.gate.hold(), torch.no_grad():  # every pass on the twin holds the gate: hooks may be on it
            logits = bundle.hooked_model(**enc).logits  # (batch, labels)
        out.append(logits.softmax(-1).cpu().double().numpy())
        if on_batch is not None:
            on_batch(min(start + batch_size, len(texts)))
    return np.concatenate(out) if out else np.zeros((0, len(bundle.info.labels)))


def read_labelled(path: Path, labels: Sequence[str]) -> list[LabelledExample]:
    """Parse ``sentence<TAB>label`` lines: header optional, labels as ids or names, split on the last tab.

    Quotes and other characters are plain text (no CSV quoting rules). Lines are split as every input file
    is (:mod:`explain.readers`: on ``\\n`` alone, a trailing ``\\r`` dropped, a byte-order mark skipped).
    """
    examples: list[LabelledExample] = []
    for number, line in text_lines(path):
        if not line.strip():
            continue
        if "\t" not in line:
            raise InputError(f"{path}:{number} has no tab. Each line must be 'sentence<TAB>label'.")
        text, raw = line.rsplit("\t", 1)
        label = parse_label(raw, labels)
        if label is None:
            if number == 1 and not examples:
                continue  # a header line such as "sentence<TAB>label"
            raise InputError(
                f"{path}:{number}: label '{raw.strip()[:40]}' is neither a class id (0 to {len(labels) - 1}) nor "
                f"one of {', '.join(labels)}."
            )
        examples.append(LabelledExample(text.strip(), label, number))
    if not examples:
        raise InputError(f"'{path}' has no labelled lines ('sentence<TAB>label').")
    return examples


def evaluate(
    bundle: ModelBundle, examples: Sequence[LabelledExample], on_batch: Callable[[int], None] | None = None
) -> EvaluationResult:
    probs = predict_proba(bundle, [e.text for e in examples], on_batch=on_batch)
    predicted = probs.argmax(axis=1)
    truth = np.array([e.label for e in examples])
    n = len(bundle.info.labels)
    confusion = np.zeros((n, n), dtype=np.int64)
    np.add.at(confusion, (truth, predicted), 1)
    per_label = {
        name: {"total": int(confusion[i].sum()), "correct": int(confusion[i, i])}
        for i, name in enumerate(bundle.info.labels)
    }
    correct = int((predicted == truth).sum())
    return EvaluationResult(correct / len(examples), correct, len(examples), per_label, confusion)
