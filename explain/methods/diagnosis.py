"""A whole diagnosis of one input: which heads matter, whether attention agrees with IG, which explanation
holds up, and whether the explanations pass the sanity check. The CLI's ``diagnose`` runs it at once; the
Diagnose page fills the same record part by part, as the user opens its tabs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explain.inputs import Encoding
from explain.methods import ablation, faithfulness, sanity
from explain.methods.agreement import AgreementSettings, head_agreement
from explain.methods.attention import run_attention
from explain.methods.attribution import AttributionResult, IGSettings, attribute
from explain.methods.norms import norm_attention, value_norms
from explain.models.loading import ModelBundle


@dataclass(frozen=True, eq=False)
class Diagnosis:
    """Everything diagnosed for one input (``None`` = not computed)."""

    attribution: AttributionResult
    importance: ablation.HeadImportanceResult | None = None
    sweep: ablation.SweepResult | None = None
    agreement: np.ndarray | None = None  # [layers, heads] attention vs IG
    norm_agreement: np.ndarray | None = None  # [layers, heads] norm-based attention vs IG
    agreement_method: str = ""  # e.g. "spearman, cls, |IG|, tokens"
    faithfulness: faithfulness.FaithfulnessResult | None = None
    sanity: sanity.SanityResult | None = None


def diagnose(
    bundle: ModelBundle,
    encoding: Encoding,
    ig: IGSettings = IGSettings(),  # noqa: B008 (a frozen, validated value)
    agreement: AgreementSettings = AgreementSettings(),  # noqa: B008
    seed: int = 0,
) -> Diagnosis:
    """Every part, for the class ``ig`` explains (the predicted one by default)."""
    attention = run_attention(bundle, encoding)
    result = attribute(bundle, encoding, ig, logits=attention.logits)
    target = result.target
    normed = norm_attention(attention.weights, value_norms(bundle, encoding))
    importance = ablation.head_importance(bundle, encoding, target=target)
    scores = faithfulness.method_scores(result, attention)
    scores["norm-based attention"] = normed[-1, :, 0, :].mean(axis=0).astype(np.float64)
    settings = faithfulness.FaithfulnessSettings(baseline=result.settings.baseline)
    return Diagnosis(
        attribution=result,
        importance=importance,
        sweep=ablation.ablation_sweep(bundle, importance, seed=seed),
        agreement=head_agreement(attention.weights, result.scores, encoding, agreement),
        norm_agreement=head_agreement(normed, result.scores, encoding, agreement),
        agreement_method=describe(agreement),
        faithfulness=faithfulness.faithfulness(bundle, encoding, target, scores, settings),
        sanity=sanity.sanity_check(
            bundle, encoding, target, ig=ig, settings=sanity.SanitySettings(seed=seed), original=(result, attention)
        ),
    )


def describe(settings: AgreementSettings) -> str:
    sign = "signed IG" if settings.signed else "|IG|"
    unit = "words" if settings.merge_words else "tokens"
    return f"{settings.correlation.value}, {settings.query.value} row(s), {sign}, {unit}"


@dataclass(frozen=True)
class ExpectedSeconds:
    """About how long each part of a diagnosis takes, in units of one measured forward pass of this input."""

    head_maps: float  # the ablation map (every head off, rows joining at their layer) and the gradient map
    sweep: float  # the cumulative-removal curves: importance order and random orders
    ig_first_try: float  # integrated gradients when its first try is certified
    ig_cap: float  # ... when it needs every raise up to its cap


def expected_seconds(
    layers: int, heads: int, forward_seconds: float, ig: IGSettings, n_random: int = 5
) -> ExpectedSeconds:
    """Cost model, in forward passes ``forward_seconds`` each (the page's own attention pass of this input,
    so it follows its length and the machine): a head removed in layer l runs the layers from l on, so the
    map costs heads·(layers + 1)/2 passes, plus ~3 for the gradient's forward and backward; each sweep curve
    has up to SWEEP_POINTS + 1 full-depth rows; IG evaluates forward and backward (~3 passes) at each point
    and a forward-only prepass (~1 per point)."""
    head_maps = heads * (layers + 1) / 2 + 3
    sweep = (1 + n_random) * min(ablation.SWEEP_POINTS + 1, layers * heads + 1)
    return ExpectedSeconds(
        head_maps=head_maps * forward_seconds,
        sweep=sweep * forward_seconds,
        ig_first_try=4 * ig.n_steps * forward_seconds,
        ig_cap=4 * ig.max_steps * forward_seconds,
    )
