"""Integrated gradients on the word embeddings, certified per token and for the sum, with fast companions.

IG attributes f(input) − f(baseline) to the tokens by integrating each token's gradient along the
straight path between their word embeddings; position and token-type embeddings stay at the input's
values, so the baseline differs from the input only in token identity. The model is fed
``inputs_embeds`` on the weight-sharing sdpa twin (no attention weights materialised, no hooks on any
module), one attribution (or one batch of them, :func:`attribute_many`) at a time behind the bundle's
gate; :mod:`explain.methods.integrator` evaluates the paths.

Where the path is evaluated comes from :mod:`explain.methods.quadrature`: a forward-only prepass
places the points where the output changes, nested Clenshaw–Curtis levels reuse every gradient, and a
level is accepted when the completeness gap δ = Σ attributions − (f(x) − f(baseline)) *and* the
largest per-token error estimate of that level (from its Chebyshev coefficients, never above the
change from the previous level) are both within the tolerance.

The integrator is ours rather than Captum's: Captum's ``IntegratedGradients`` takes custom points
and weights but returns only their weighted sum, so a nested rule whose weights change from level to
level would have to evaluate every point again. Tests hold it equal to Captum's
``LayerIntegratedGradients`` at identical points and weights.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import torch

from explain.arrays import frozen
from explain.errors import AttributionError, ComputationError, SettingsError
from explain.inputs import Encoding
from explain.knobs import Knob, check_knobs
from explain.methods import integrator, quadrature
from explain.methods.target import explained_class
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
Output = integrator.Output
_ZERO_ID = -1  # marks positions whose baseline word embedding is the zero vector


IG_KNOBS = (
    Knob("target", "Explain class", "The class whose output is attributed; unset = the predicted class.",
         None, low=0, high=1_000_000, integer=True, optional=True, none_means="the predicted class"),
    Knob("output", "Attribute", "The class's logit (additive, unsaturated) or its softmax probability.",
         "logit", choices=("logit", "probability")),
    Knob("baseline", "Baseline", "What IG integrates from: every non-special token replaced by this.",
         Baseline.PAD, choices=tuple(Baseline)),
    Knob("n_steps", "First try (points)",
         "Points on the path in the first try, certified by its own error estimate (capped by the change "
         "from its every-other-point subset); an odd number. Each raise doubles the intervals "
         "(25 → 49 → 97 ...), keeping every point already computed.",
         25, low=5, high=1025, integer=True, flag="--steps"),
    Knob("max_steps", "Step cap", "The most points the automatic raises may reach; at least the first try.",
         193, low=5, high=1025, integer=True, suggested=(25, 49, 97, 193, 385)),
    Knob("tolerance", "Tolerance",
         "Accepted relative error, for the completeness gap δ of the sum and for the per-token error "
         "estimate of the accepted level.", 0.01, low=1e-6, high=0.5, suggested=(0.001, 0.005, 0.01, 0.02, 0.05)),
    Knob("abs_floor", "Absolute floor",
         "Smallest scale the relative errors divide by, so a near-zero f(x) − f(baseline) cannot force the cap.",
         0.01, low=1e-6, high=1.0, flag="--abs-floor"),
)  # fmt: skip


@dataclass(frozen=True)
class IGSettings:
    """Knobs of an attribution (declared, with bounds, in ``IG_KNOBS``); checked when built."""

    target: int | None = None  # class index; None = the predicted class
    output: Output = "logit"  # what is attributed: the class's logit, or its probability
    baseline: Baseline = Baseline.PAD
    n_steps: int = 25  # points of the first try (odd); its every-other-point subset caps the estimate
    max_steps: int = 193  # the cap of the automatic raises
    tolerance: float = 0.01  # accepted relative δ and per-token error estimate
    abs_floor: float = 0.01  # so a near-zero f(x) − f(baseline) does not force the cap

    def __post_init__(self) -> None:
        check_knobs(self, IG_KNOBS)
        object.__setattr__(self, "baseline", Baseline(self.baseline))  # "pad" from a CLI or URL -> Baseline.PAD
        if self.n_steps % 2 == 0:
            raise SettingsError(
                f"First try (--steps) must be an odd number of points (a nested grid: 2k+1); got {self.n_steps}. "
                f"Use {self.n_steps + 1}."
            )
        if self.max_steps < self.n_steps:
            raise SettingsError(
                f"The step cap (--max-steps {self.max_steps}) is below the first try (--steps {self.n_steps}). "
                "Raise --max-steps or lower --steps."
            )


@dataclass(frozen=True, eq=False)
class AttributionResult:
    """IG attributions for one input, with the evidence that they can be trusted. Arrays are read-only."""

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
    token_changes: np.ndarray  # [seq] float64 per-token error estimate of the accepted level (≤ 2 × the change)
    token_error: float  # max token_changes / max(max |scores|, abs_floor): the per-token certificate
    n_steps: int  # gradient points of the accepted level
    steps_tried: tuple[int, ...]  # points of every level computed, in order (the first is the check subset)
    path_alphas: np.ndarray  # [prepass] α of the forward-only prepass
    path_outputs: np.ndarray  # [prepass] f along the path there
    converged: bool  # relative_delta <= tolerance and token_error <= tolerance
    seconds: float  # wall time, certification included (waiting in line excluded)

    @property
    def forward_points(self) -> int:
        return len(self.path_alphas)


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
    on_wait: Callable[[int, float], None] | None = None,
    logits: np.ndarray | None = None,
    warp: bool = True,
) -> AttributionResult:
    """Certified integrated gradients for one input (see the module docstring).

    ``logits`` are the prediction the user sees (from the attention pass); with ``settings.target``
    unset, their top class is explained, so a near-tie cannot explain another class than the one shown.
    ``warp=False`` spreads the points evenly, without the prepass (:func:`integrator.certify`).
    """
    (result,) = attribute_many(bundle, [encoding], settings, on_progress, on_wait, None if logits is None else [logits],
                               warp=warp)  # fmt: skip
    return result


def attribute_many(
    bundle: ModelBundle,
    encodings: Sequence[Encoding],
    settings: IGSettings = IGSettings(),
    on_progress: Callable[[str], None] | None = None,
    on_wait: Callable[[int, float], None] | None = None,
    logits: Sequence[np.ndarray] | None = None,
    targets: Sequence[int] | None = None,
    warp: bool = True,
) -> list[AttributionResult]:
    """Certified IG for many inputs at once: their paths share padded batches (corpus mode), and each is
    certified on its own; the result for an input equals its own :func:`attribute` to float32 rounding.

    ``targets``: a class per input, in place of ``settings.target`` (every entity of a sentence on the
    flattened tagger view: the same encoding, one target each)."""
    if not bundle.info.has_classifier:
        raise AttributionError(
            f"'{bundle.info.source}' has no classification head, so there is no prediction to attribute. "
            "Load a fine-tuned classifier (a *ForSequenceClassification checkpoint)."
        )
    wanted = [settings.target] * len(encodings) if targets is None else list(targets)
    if len(wanted) != len(encodings):
        raise AttributionError(f"{len(wanted)} targets for {len(encodings)} inputs; give one target per input.")
    targets = [explained_class(bundle, e, wanted[i], None if logits is None else logits[i], AttributionError)
               for i, e in enumerate(encodings)]  # fmt: skip
    with bundle.gate.hold(on_wait=on_wait):
        start = time.perf_counter()  # the computation's own time; waiting in line is not part of it
        try:
            paths = _paths(bundle, encodings, settings, targets)
            certified = integrator.certify(paths, settings.n_steps, settings.max_steps, settings.tolerance,
                                           settings.abs_floor, on_progress or (lambda _m: None), warp)  # fmt: skip
        except (RuntimeError, MemoryError) as exc:
            raise ComputationError(
                f"The attribution failed ({type(exc).__name__}: {str(exc)[:160]}). Try a shorter text or "
                "a lower step cap; the previous result is kept."
            ) from exc
        seconds = (time.perf_counter() - start) / len(encodings)
    pairs = enumerate(zip(encodings, certified, strict=True))
    return [_result(e, settings, targets[i], c, paths, i, seconds) for i, (e, c) in pairs]


def integrate_at(
    bundle: ModelBundle,
    encoding: Encoding,
    settings: IGSettings,
    target: int,
    alphas: np.ndarray,
    weights: np.ndarray,
) -> np.ndarray:
    """IG scores [seq] at given points and weights, uncertified: for comparisons at identical settings."""
    level = quadrature.Level(alphas=np.asarray(alphas, dtype=np.float64), weights=np.asarray(weights),
                             keys=np.arange(len(alphas)))  # fmt: skip
    with bundle.gate.hold():
        paths = _paths(bundle, [encoding], settings, [target])
        paths.evaluate([(0, int(k), float(a)) for k, a in zip(level.keys, level.alphas, strict=True)])
        return paths.integrate(0, level)


def _paths(
    bundle: ModelBundle, encodings: Sequence[Encoding], settings: IGSettings, targets: list[int]
) -> integrator.Paths:
    """Input and baseline word embeddings of every input, padded to the longest."""
    layer = _TokenEmbedding(bundle.hooked_model.get_input_embeddings())  # type: ignore[arg-type]
    lengths = [e.n_tokens for e in encodings]
    width = max(lengths)
    device = bundle.device
    ids = torch.zeros((len(encodings), width), dtype=torch.long, device=device)  # padding embeds token 0; masked
    base, mask = ids.clone(), ids.clone()
    types = None if encodings[0].token_type_ids is None else ids.clone()
    for i, e in enumerate(encodings):
        ids[i, : e.n_tokens] = torch.tensor(e.input_ids, device=device)
        base[i, : e.n_tokens] = torch.tensor(baseline_ids(bundle, e, settings.baseline), device=device)
        mask[i, : e.n_tokens] = 1
        if types is not None and e.token_type_ids is not None:
            types[i, : e.n_tokens] = torch.tensor(e.token_type_ids, device=device)
    with torch.no_grad():
        x, b = layer(ids) * mask[..., None], layer(base) * mask[..., None]  # (inputs, seq, emb) each
    return integrator.Paths(bundle.hooked_model, x, b, mask, types, targets, lengths, settings.output)


def _result(
    encoding: Encoding, settings: IGSettings, target: int, c: integrator.Certified, paths: integrator.Paths, i: int,
    seconds: float,
) -> AttributionResult:  # fmt: skip
    grad = paths.grad_at_input[i]
    assert grad is not None  # Clenshaw–Curtis levels include α = 1
    x = paths.x[i, : encoding.n_tokens]
    return AttributionResult(
        encoding=encoding,
        settings=settings,
        target=target,
        scores=frozen(c.scores, np.float64),
        grad_x_input=frozen((grad * x).sum(-1).cpu().double().numpy(), np.float64),  # gradient × input embedding
        saliency=frozen(grad.norm(dim=-1).cpu().double().numpy(), np.float64),  # |gradient| at the input
        f_input=c.f_input,
        f_baseline=c.f_baseline,
        convergence_delta=c.delta,
        relative_delta=c.relative_delta,
        token_changes=frozen(c.changes, np.float64),
        token_error=c.token_error,
        n_steps=c.n_steps,
        steps_tried=c.steps_tried,
        path_alphas=frozen(c.path_alphas, np.float64),
        path_outputs=frozen(c.path_outputs, np.float64),
        converged=c.converged,
        seconds=seconds,
    )


def word_scores(scores: np.ndarray, encoding: Encoding) -> tuple[tuple[str, ...], np.ndarray]:
    """Sum token scores over each typed word (sums are what IG's completeness makes meaningful)."""
    return encoding.words, np.bincount(encoding.word_index, weights=scores, minlength=len(encoding.words))
