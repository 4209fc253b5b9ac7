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
        sanity=sanity.sanity_check(bundle, encoding, target, ig=ig, settings=sanity.SanitySettings(seed=seed)),
    )


def describe(settings: AgreementSettings) -> str:
    sign = "signed IG" if settings.signed else "|IG|"
    unit = "words" if settings.merge_words else "tokens"
    return f"{settings.correlation.value}, {settings.query.value} row(s), {sign}, {unit}"
