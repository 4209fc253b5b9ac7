"""Sanity check (Adebayo et al. 2018): do the explanations change when the model is destroyed?

Cascading randomisation: the classifier head (with the pooler, where there is one) is re-initialised
first, then the encoder layers from the top down, cumulatively (adjacent layers together on a model deeper
than ``MAX_LAYER_STEPS`` layers, so the cost does not grow with depth, as Adebayo et al. randomise
Inception's blocks rather than its every layer); after each step every method explains
the same input again, and its Spearman rank correlation with the original model's explanation (over the
non-special tokens) is kept. An explanation that looks the same when the weights behind the prediction
are random describes the input rather than the model: it is flagged when |ρ| with every layer random is
at least the threshold.

The random weights live in a deep copy made for this call and dropped after it (it shares the word
embeddings, which no step randomises); the shared model is never touched. Re-initialisation follows the
BERT family's own init: weights normal(0, config.initializer_range), biases 0, LayerNorm weight 1 and bias
0, each weight from a ``torch.Generator`` of its own seeded from the check's seed, so a seed gives the same
correlations and the draws run on every CPU thread. The embeddings stay (IG integrates along
them, and the input must stay the same input). The original model's IG is the caller's certified one when
given (``original``), else certified here to ``IG_TOLERANCE`` (``IG_FIRST_TRY`` points, raised up to
``IG_CAP``). On the randomised models only ranks are compared, so IG there is a fixed ``IG_POINTS``-point
rule, uncertified: its δ can be large, but its ranks are what the check reads, and a destroyed model cannot
run long. Its δ is kept per step. That rule spreads its points evenly (plain Clenshaw–Curtis, no prepass:
the warp pays for a certificate, not for ranks) and runs in the precision ``explain.models.precision``
picks for rank-only work (bfloat16 where this machine runs it faster, else float32; in bfloat16 the copy's
linear weights are rounded once rather than by autocast on every pass, and on the CPU its attention is
eager, whose bfloat16 backward is faster there than the fused kernel's). Spearman ρ of those
ranks against a warped float32 65-point rule's, over 280 randomised models of the embedded classifier (40
SST-2 dev sentences of 24–40 tokens; ``bench/sanity_ranks.py``): warped 9 points median 0.998, min 0.825;
even 9 points 0.996, min 0.776; even 9 points in bfloat16 (this copy) 0.996, min 0.772.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn
from transformers import PreTrainedModel

from explain.arrays import frozen as _frozen  # one copy for every result module
from explain.errors import ComputationError, ModelLoadError
from explain.inputs import Encoding
from explain.knobs import Knob, check_knobs
from explain.methods.agreement import spearman
from explain.methods.attention import AttentionResult, run_attention
from explain.methods.attribution import AttributionResult, IGSettings, attribute
from explain.methods.faithfulness import method_scores
from explain.models.gate import HookGate
from explain.models.loading import ModelBundle, _hooked_twin
from explain.models.precision import ranks_dtype, ranks_precision

IG_FIRST_TRY = 9  # points of IG's first try on every model of the cascade (a 5 % certificate, ranks only)
IG_CAP = 33  # its raises (17, then 33), when needed: a destroyed model cannot run long
IG_TOLERANCE = 0.05  # a rank correlation does not move for a 5 % per-token error
IG_POINTS = 9  # the fixed rule on each randomised model (Clenshaw–Curtis, points evenly spread)
#: Layer steps of the cascade at most: a deeper model randomises adjacent layers together (bert-base's 12 in
#: pairs, bert-large's 24 four at a time), so the check costs what a 6-layer model's does.
MAX_LAYER_STEPS = 6

SANITY_KNOBS = (
    Knob("seed", "Seed", "Seed of the random weights (same seed, same correlations).", 0, low=0, high=2**31 - 1,
         integer=True),
    Knob("threshold", "Unchanged at |ρ| ≥", "A method whose rank correlation with its original explanation is "
         "still this high with every layer random is flagged: it does not depend on the model.", 0.5, low=0.0,
         high=1.0),
)  # fmt: skip


@dataclass(frozen=True)
class SanitySettings:
    """Knobs of the sanity check (declared, with bounds, in ``SANITY_KNOBS``); checked when built."""

    seed: int = 0  # of the random weights
    threshold: float = 0.5  # |ρ| at full randomisation from which a method is flagged

    def __post_init__(self) -> None:
        check_knobs(self, SANITY_KNOBS)


@dataclass(frozen=True, eq=False)
class SanityResult:
    """Each method's explanation after each randomisation step, and how much it still agrees. Arrays read-only."""

    encoding: Encoding
    target: int  # the class explained on every model
    settings: SanitySettings
    methods: tuple[str, ...]  # [methods]
    steps: tuple[str, ...]  # [steps] what was randomised at each step (on top of the steps before)
    scores: np.ndarray  # [steps + 1, methods, seq] float64 token scores; row 0 = the original model
    correlations: np.ndarray  # [steps, methods] float64 Spearman ρ with row 0 over non-special tokens (NaN: constant)
    ig_relative_delta: np.ndarray  # [steps + 1] float64 IG's |δ| / max(|f(x) − f(baseline)|, floor)
    ig_converged: np.ndarray  # [steps + 1] bool row 0: IG certified to IG_TOLERANCE; others: |δ| ≤ IG_TOLERANCE
    insensitive: tuple[str, ...]  # methods with |ρ| ≥ threshold at full randomisation: they ignore the model
    seconds: float  # wall time, waiting in line excluded
    precision: str = "float32"  # of the randomised models' passes (explain.models.precision); row 0 is float32


def sanity_check(
    bundle: ModelBundle,
    encoding: Encoding,
    target: int,
    ig: IGSettings | None = None,
    settings: SanitySettings = SanitySettings(),
    on_progress: Callable[[str], None] | None = None,
    on_wait: Callable[[int, float], None] | None = None,
    original: tuple[AttributionResult, AttentionResult] | None = None,
) -> SanityResult:
    """Cascading randomisation (see the module docstring); IG keeps ``ig``'s output and baseline.

    ``original``: the unmodified model's IG and attention for this input, when the caller has them (the
    Diagnose page and ``diagnose`` do): row 0 then reuses them instead of explaining the input again. They
    are used only when they explain this encoding's ``target`` with ``ig``'s output and baseline, and IG is
    certified there (to its own, tighter tolerance); otherwise row 0 is computed as before."""
    ig = replace(ig or IGSettings(), target=target, n_steps=IG_FIRST_TRY, max_steps=IG_CAP, tolerance=IG_TOLERANCE)
    progress = on_progress or (lambda _m: None)
    steps = cascade(bundle.model)  # before waiting in line: a model without a head is refused at once
    dtype = ranks_dtype(bundle.device)  # a bad GLIMPSE_RANKS_PRECISION is refused before the wait, too
    with bundle.gate.hold(on_wait=on_wait):  # one heavy pass for the whole cascade
        start = time.perf_counter()
        try:
            first = _reused(original, encoding, ig)
            explained = _cascade_explanations(bundle, encoding, ig, steps, settings.seed, progress, first, dtype)
        except (RuntimeError, MemoryError) as exc:
            raise ComputationError(
                f"The sanity check failed ({type(exc).__name__}: {str(exc)[:160]}). Try a shorter text; "
                "the previous result is kept."
            ) from exc
        seconds = time.perf_counter() - start
    return _result(encoding, target, settings, explained, seconds, str(dtype).removeprefix("torch."))


def _cascade_explanations(
    bundle: ModelBundle,
    encoding: Encoding,
    ig: IGSettings,
    steps: list[tuple[str, tuple[str, ...]]],
    seed: int,
    progress: Callable[[str], None],
    first: tuple[dict[str, np.ndarray], float, bool] | None = None,
    dtype: torch.dtype = torch.float32,
) -> list[tuple[str, dict[str, np.ndarray], float, bool]]:
    """(step, scores by method, IG's relative δ, converged) for the original model (float32), then after each
    step (randomised: in ``dtype``, IG's points evenly spread)."""
    if first is None:
        progress("Sanity check: the original model")
        # We hold the bundle's gate: the runs below get gates of their own, so they do not wait for us.
        first = _explain(replace(bundle, gate=HookGate()), encoding, ig)
    rows = [("original", *first)]
    model, randomised = randomisable(bundle, dtype)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    fixed = replace(ig, n_steps=IG_POINTS, max_steps=IG_POINTS)  # ranks only: no certificate to buy
    std = float(getattr(model.config, "initializer_range", 0.02))
    for label, names in steps:  # module names are the same in the copy
        progress(f"Sanity check: randomising {label}")
        for name in names:
            reinitialise(model.get_submodule(name), std, generator)
        with ranks_precision(bundle.device, dtype):  # the twin shares the copy's tensors
            rows.append((label, *_explain(randomised, encoding, fixed, warp=False)))
    return rows


def randomisable(bundle: ModelBundle, dtype: torch.dtype) -> tuple[PreTrainedModel, ModelBundle]:
    """A throwaway copy of the bundle's model to randomise (the shared model is never written), and a bundle
    that runs IG on it, for passes in ``dtype``."""
    model = _throwaway_copy(bundle.model, dtype)
    twin = _hooked_twin(model)
    if dtype != torch.float32 and bundle.device.type == "cpu":
        # CPU's fused attention differentiates bfloat16 slowly: eager took 0.14 s a copy against sdpa's 0.17 s
        # at 32 bert-base tokens, 0.57 s against 0.75 s at 128 (float32 runs the same either way).
        twin.set_attn_implementation("eager")
    return model, replace(bundle, model=model, hooked_model=twin, gate=HookGate())


def _throwaway_copy(model: PreTrainedModel, dtype: torch.dtype) -> PreTrainedModel:
    """A deep copy whose linear layers hold ``dtype`` (under autocast to ``dtype`` each product casts its
    float32 weight to ``dtype`` on every pass, as the weights need no gradient: cast once here instead, the
    same rounding, so the same numbers). The embeddings are shared, not copied: no step randomises them."""
    embeddings = model.get_input_embeddings()
    memo: dict[int, Any] = {id(t): t for t in (*embeddings.parameters(), *embeddings.buffers())}
    twin = copy.deepcopy(model, memo)
    if dtype != torch.float32:
        for module in twin.modules():
            if isinstance(module, nn.Linear):
                module.to(dtype)
    return twin


def _reused(
    original: tuple[AttributionResult, AttentionResult] | None, encoding: Encoding, ig: IGSettings
) -> tuple[dict[str, np.ndarray], float, bool] | None:
    """Row 0 from the caller's results, when they are of this input and target, IG's output and baseline."""
    if original is None:
        return None
    attribution, attention = original
    s = attribution.settings
    fits = (
        attribution.encoding.input_ids.tolist() == encoding.input_ids.tolist()
        and attribution.target == ig.target
        and (s.output, s.baseline) == (ig.output, ig.baseline)
        and attribution.converged
        and attention.weights.shape[-1] == encoding.n_tokens
    )
    if not fits:
        return None
    return method_scores(attribution, attention), attribution.relative_delta, attribution.converged


def _explain(
    bundle: ModelBundle, encoding: Encoding, ig: IGSettings, warp: bool = True
) -> tuple[dict[str, np.ndarray], float, bool]:
    attribution = attribute(bundle, encoding, ig, warp=warp)
    scores = method_scores(attribution, run_attention(bundle, encoding))
    certified = attribution.converged if ig.max_steps > ig.n_steps else attribution.relative_delta <= ig.tolerance
    return scores, attribution.relative_delta, bool(certified)


def cascade(model: PreTrainedModel) -> list[tuple[str, tuple[str, ...]]]:
    """The randomisation steps in order, as (label, module names): the head, then the layers top-down."""
    prefix = str(model.base_model_prefix)
    candidates = (f"{prefix}.pooler", "pooler", "pre_classifier", "classifier")
    head = tuple(n for n in candidates if _module(model, n) is not None)
    stacks = (f"{prefix}.encoder.layer", f"{prefix}.transformer.layer", f"{prefix}.encoder.albert_layer_groups")
    layers = next((n for n in stacks if _module(model, n) is not None), None)
    if "classifier" not in head or layers is None:
        raise ModelLoadError(
            f"Glimpse cannot find the classifier head and encoder layers of this '{model.config.model_type}' model, "
            "so it cannot randomise them. Load a *ForSequenceClassification checkpoint of a supported family."
        )
    steps = [("the classifier head" + (" and pooler" if len(head) > 1 else ""), head)]
    if layers.endswith("albert_layer_groups"):  # one layer's weights serve every layer
        return [*steps, ("every layer (ALBERT shares one)", (layers,))]
    count = len(list(model.get_submodule(layers).children()))
    size = -(-count // MAX_LAYER_STEPS)  # layers per step: 1 up to MAX_LAYER_STEPS layers, 2 for bert-base's 12
    for top in range(count, 0, -size):  # 1-based, top-down
        group = range(top, max(top - size, 0), -1)
        label = f"layer {top} of {count}" if len(group) == 1 else f"layers {top}–{group[-1]} of {count}"
        steps.append((label, tuple(f"{layers}.{i - 1}" for i in group)))
    return steps


def _module(model: nn.Module, name: str) -> nn.Module | None:
    try:
        return model.get_submodule(name)
    except AttributeError:  # absent, or None (RoBERTa's classifier has no pooler)
        return None


def reinitialise(module: nn.Module, std: float, generator: torch.Generator) -> None:
    """The family's own init: weights normal(0, std), biases 0, LayerNorm 1 and 0.

    Each weight is drawn from a generator of its own, seeded from ``generator`` in module order, so the
    draws can run on every CPU thread at once (one generator draws on one core) and still give the same
    weights for the same seed on any machine and device."""
    weights = []
    with torch.no_grad():
        for sub in module.modules():
            for name, p in sub.named_parameters(recurse=False):
                if isinstance(sub, nn.LayerNorm):
                    p.fill_(1.0 if name == "weight" else 0.0)
                elif name.endswith("bias"):
                    p.zero_()
                else:
                    weights.append(p)
        seeds = torch.randint(0, 2**62, (len(weights),), generator=generator, device=generator.device).tolist()
        with ThreadPoolExecutor(max(1, min(torch.get_num_threads(), len(weights)))) as pool:
            list(pool.map(lambda p, seed: _draw(p, seed, std), weights, seeds))


def _draw(p: torch.Tensor, seed: int, std: float) -> None:
    """normal(0, std) into ``p``, drawn in float32 on the CPU (the same numbers on any device; a bfloat16
    weight of a throwaway copy gets the float32 draw rounded, as autocast would round it)."""
    drawn = torch.float32 if p.dtype in (torch.bfloat16, torch.float16) else p.dtype
    generator = torch.Generator(device="cpu").manual_seed(seed)
    with torch.no_grad():  # grad mode is per thread: the caller's no_grad does not reach a pool's worker
        p.copy_(torch.randn(p.shape, generator=generator, dtype=drawn, device="cpu").mul_(std))


def _result(
    encoding: Encoding,
    target: int,
    settings: SanitySettings,
    rows: list[tuple[str, dict[str, np.ndarray], float, bool]],
    seconds: float,
    precision: str = "float32",
) -> SanityResult:
    methods = tuple(rows[0][1])
    scores = np.array([[row[1][m] for m in methods] for row in rows], dtype=np.float64)  # (steps + 1, methods, seq)
    keep = ~encoding.special
    rho = np.array([[spearman(step[m][keep], scores[0, m][keep]) for m in range(len(methods))] for step in scores[1:]])
    last = np.abs(rho[-1])
    insensitive = tuple(m for m, r in zip(methods, last, strict=True) if r >= settings.threshold)  # NaN: not flagged
    return SanityResult(
        encoding, target, settings, methods, tuple(row[0] for row in rows[1:]), _frozen(scores), _frozen(rho),
        _frozen(np.array([row[2] for row in rows])), _frozen(np.array([row[3] for row in rows])), insensitive,
        seconds, precision,
    )  # fmt: skip
