"""Integrated gradients (Captum), certified by its completeness gap, with fast companions.

IG runs Captum's ``LayerIntegratedGradients`` on the word embeddings. The layer is a small wrapper
around the model's own word-embedding table, made per call, so Captum's hooks never touch a module
another session uses; the model is fed ``inputs_embeds``, which keeps position and token-type
embeddings at the input's values: the baseline differs from the input only in token identity.

The number of steps is not assumed: IG runs at ``n_steps``, the completeness gap
``δ = Σ attributions − (f(x) − f(baseline))`` is measured, and while ``|δ|`` exceeds the tolerance
(relative to ``|f(x) − f(baseline)|``, with an absolute floor) the steps grow up to a cap: by the
factor the midpoint rule's ~1/n² error says is needed (a power of two, at least 2), so one retry is
usually enough. The midpoint rule is the default: on the default model it certified at 8–16 steps
where Gauss–Legendre needed 16–32 (bench/attribution.py; the issue's measurements agree).
Passes run on the weight-sharing sdpa twin (no attention weights materialised), in chunks of
points so memory stays bounded, one attribution at a time behind the bundle's gate.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

import numpy as np
import torch
from captum.attr import LayerGradientXActivation, LayerIntegratedGradients

from explain.errors import ComputationError, GlimpseError
from explain.inputs import Encoding
from explain.models.loading import ModelBundle


class Baseline(StrEnum):
    """What the input is compared with; [CLS]/[SEP] (and other specials) always stay in place."""

    PAD = "pad"
    MASK = "mask"
    UNK = "unk"
    ZERO = "zero"


BASELINE_HELP = {
    Baseline.PAD: "[PAD] in place of every token, [CLS]/[SEP] kept",
    Baseline.MASK: "[MASK] in place of every token, [CLS]/[SEP] kept",
    Baseline.UNK: "[UNK] in place of every token, [CLS]/[SEP] kept",
    Baseline.ZERO: "an all-zero word embedding in place of every token, [CLS]/[SEP] kept",
}
Output = Literal["logit", "probability"]
Method = Literal["gausslegendre", "riemann_middle"]
_ZERO_ID = -1  # marks positions whose baseline word embedding is the zero vector
#: Points per chunk scale down with length so one chunk's activations stay near the same size.
_TOKENS_PER_CHUNK = 4096


class AttributionError(GlimpseError):
    """Attribution is not possible as asked (no classification head, unknown class, ...)."""


@dataclass(frozen=True)
class IGSettings:
    """Knobs of an attribution, with the defaults the app starts on."""

    target: int | None = None  # class index; None = the predicted class
    output: Output = "logit"  # what is attributed: the class's logit, or its probability
    baseline: Baseline = Baseline.PAD
    method: Method = "riemann_middle"
    n_steps: int | None = None  # first try; None = first_steps(length)
    max_steps: int = 128  # the cap of the automatic doubling
    tolerance: float = 0.01  # accepted |δ| / max(|f(x) − f(baseline)|, abs_floor)
    abs_floor: float = 0.01  # so a near-zero f(x) − f(baseline) does not force the cap


@dataclass(frozen=True, eq=False)
class AttributionResult:
    """IG attributions for one input, with the evidence that they can be trusted."""

    encoding: Encoding
    settings: IGSettings
    target: int  # the class attributed
    scores: np.ndarray  # [seq] float64 IG attribution per token (signed; sums to f(x) − f(baseline) − δ)
    grad_x_input: np.ndarray  # [seq] float64 gradient × input embedding, summed over the embedding
    saliency: np.ndarray  # [seq] float64 L2 norm of the gradient at the input (unsigned by definition)
    f_input: float  # f(x): the attributed output at the input
    f_baseline: float  # f(baseline)
    convergence_delta: float  # δ = Σ scores − (f(x) − f(baseline)), absolute
    relative_delta: float  # |δ| / max(|f(x) − f(baseline)|, abs_floor)
    n_steps: int  # steps of the accepted run
    steps_tried: tuple[int, ...]  # every step count run, in order
    converged: bool  # relative_delta <= tolerance
    seconds: float  # wall time, certification included


class _TokenEmbedding(torch.nn.Module):
    """The model's word embeddings, with id -1 meaning the zero vector (the zero baseline)."""

    def __init__(self, table: torch.nn.Embedding) -> None:
        super().__init__()
        self.table = table

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        keep = (input_ids != _ZERO_ID).unsqueeze(-1)  # (batch, seq, 1)
        embeds: torch.Tensor = self.table(input_ids.clamp(min=0))  # (batch, seq, emb)
        return embeds * keep


def baseline_ids(bundle: ModelBundle, encoding: Encoding, baseline: Baseline) -> np.ndarray:
    """Baseline token ids [seq]: every non-special token replaced, specials kept."""
    tok = bundle.tokenizer
    ids = {Baseline.PAD: tok.pad_token_id, Baseline.MASK: tok.mask_token_id, Baseline.UNK: tok.unk_token_id}
    fill = _ZERO_ID if baseline is Baseline.ZERO else ids[baseline]
    if fill is None:
        raise AttributionError(f"This tokenizer has no {baseline.value} token. Pick another baseline.")
    out = encoding.input_ids.copy()
    out[~encoding.special] = fill
    return out


def attribute(
    bundle: ModelBundle,
    encoding: Encoding,
    settings: IGSettings = IGSettings(),
    on_progress: Callable[[str], None] | None = None,
    on_wait: Callable[[int], None] | None = None,
) -> AttributionResult:
    """Certified integrated gradients for one input (see the module docstring)."""
    if not bundle.info.has_classifier:
        raise AttributionError(
            f"'{bundle.info.source}' has no classification head, so there is no prediction to attribute. "
            "Load a fine-tuned classifier (a *ForSequenceClassification checkpoint)."
        )
    with bundle.gate.hold(on_wait=on_wait):
        start = time.perf_counter()  # the computation's own time; waiting in line is not part of it
        try:
            return _attribute(bundle, encoding, settings, on_progress or (lambda _m: None), start)
        except (RuntimeError, MemoryError) as exc:
            raise ComputationError(
                f"The attribution failed ({type(exc).__name__}: {str(exc)[:160]}). Try a shorter text or "
                "fewer steps; the previous result is kept."
            ) from exc


def _attribute(
    bundle: ModelBundle, encoding: Encoding, settings: IGSettings, progress: Callable[[str], None], start: float
) -> AttributionResult:
    model = bundle.hooked_model
    layer = _TokenEmbedding(model.get_input_embeddings())  # type: ignore[arg-type]
    forward = _forward_func(model, layer, encoding, settings.output)
    ids = torch.from_numpy(encoding.input_ids)[None]  # (1, seq)
    base = torch.from_numpy(baseline_ids(bundle, encoding, settings.baseline))[None]  # (1, seq)
    with torch.no_grad():
        both = forward(torch.cat([ids, base]))  # (2, labels)
    target = _target(settings, both[0], bundle.info.labels)
    f_x, f_b = float(both[0, target]), float(both[1, target])
    lig = LayerIntegratedGradients(forward, layer)
    chunk = max(1, _TOKENS_PER_CHUNK // encoding.n_tokens)
    tried: list[int] = []
    n_steps = settings.n_steps or first_steps(encoding.n_tokens)
    while True:
        progress(f"Integrated gradients: {n_steps} steps" + (f" (after {tried[-1]})" if tried else ""))
        attr = lig.attribute(
            ids, baselines=base, target=target, n_steps=n_steps, method=settings.method, internal_batch_size=chunk
        )  # (1, seq, emb)
        tried.append(n_steps)
        scores = attr[0].sum(-1).double().numpy()  # (seq,)
        delta = float(scores.sum()) - (f_x - f_b)
        relative = abs(delta) / max(abs(f_x - f_b), settings.abs_floor)
        if relative <= settings.tolerance or n_steps >= settings.max_steps:
            break
        n_steps = next_steps(n_steps, relative, settings.tolerance, settings.max_steps)
    grad_x, saliency = _gradient_companions(forward, layer, ids, target)
    return AttributionResult(
        encoding=encoding,
        settings=settings,
        target=target,
        scores=scores,
        grad_x_input=grad_x,
        saliency=saliency,
        f_input=f_x,
        f_baseline=f_b,
        convergence_delta=delta,
        relative_delta=relative,
        n_steps=n_steps,
        steps_tried=tuple(tried),
        converged=relative <= settings.tolerance,
        seconds=time.perf_counter() - start,
    )


def first_steps(n_tokens: int) -> int:
    """Where the first try starts: on the default model the midpoint rule certified at 8 steps up to
    128 tokens, while longer inputs needed 12 (bench/attribution.py); a failed first try costs a retry."""
    return 8 if n_tokens <= 128 else 12


def next_steps(n_steps: int, relative: float, tolerance: float, cap: int) -> int:
    """Steps for the next try: the midpoint rule's error falls as 1/n², so scale n by about
    sqrt(relative / tolerance) (with a 25% margin), rounded up to a power of two, at least doubling."""
    needed = math.sqrt(relative / tolerance) * 1.25
    factor: int = max(2, 2 ** math.ceil(math.log2(max(needed, 1.0))))
    return min(n_steps * factor, cap)


def _forward_func(
    model: torch.nn.Module, layer: _TokenEmbedding, encoding: Encoding, output: Output
) -> Callable[[torch.Tensor], torch.Tensor]:
    token_types = None if encoding.token_type_ids is None else torch.from_numpy(encoding.token_type_ids)[None]

    def forward(input_ids: torch.Tensor) -> torch.Tensor:
        extra = {} if token_types is None else {"token_type_ids": token_types.expand(input_ids.shape[0], -1)}
        logits: torch.Tensor = model(inputs_embeds=layer(input_ids), **extra).logits  # (batch, labels)
        return logits.softmax(-1) if output == "probability" else logits

    return forward


def _target(settings: IGSettings, outputs: torch.Tensor, labels: tuple[str, ...]) -> int:
    if settings.target is None:
        return int(outputs.argmax())
    if not 0 <= settings.target < len(labels):
        raise AttributionError(
            f"Class {settings.target} does not exist; this model's classes are 0 to {len(labels) - 1} "
            f"({', '.join(labels)})."
        )
    return settings.target


def _gradient_companions(
    forward: Callable[[torch.Tensor], torch.Tensor], layer: _TokenEmbedding, ids: torch.Tensor, target: int
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient × input and gradient-norm saliency from one backward pass (Captum, on the same layer)."""
    grads = LayerGradientXActivation(forward, layer, multiply_by_inputs=False).attribute(ids, target=target)
    with torch.no_grad():
        embeds = layer(ids)  # (1, seq, emb)
    grad_x = (grads * embeds)[0].sum(-1).double().numpy()
    saliency = grads[0].norm(dim=-1).double().numpy()
    return grad_x, saliency


def word_scores(scores: np.ndarray, encoding: Encoding) -> tuple[tuple[str, ...], np.ndarray]:
    """Sum token scores over each typed word (sums are what IG's completeness makes meaningful)."""
    return encoding.words, np.bincount(encoding.word_index, weights=scores, minlength=len(encoding.words))
