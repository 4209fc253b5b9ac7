"""AOPC comprehensiveness and sufficiency per method for one corpus row (``--faithfulness``), from
:mod:`explain.methods.faithfulness` on the row's own attention and IG: the methods the pages compare,
and random orders as the level to beat. Tokens are replaced by IG's baseline token."""

from __future__ import annotations

import numpy as np

from explain.errors import GlimpseError
from explain.inputs import Encoding
from explain.methods.attention import AttentionResult
from explain.methods.attribution import AttributionResult
from explain.models.loading import ModelBundle

#: The rankings compared (``method_scores``' names) and the random orders, as column-name slugs.
METHODS = {
    "integrated gradients": "integrated_gradients",
    "gradient × input": "gradient_x_input",
    "saliency": "saliency",
    "attention": "attention",
    "rollout": "rollout",
    "random": "random",
}
COLUMNS = tuple(f"{kind}_{slug}" for slug in METHODS.values() for kind in ("comprehensiveness", "sufficiency"))


def aopc_columns(
    bundle: ModelBundle, encoding: Encoding, logits: np.ndarray, weights: np.ndarray, attribution: AttributionResult
) -> dict[str, float | None]:
    """One value per column of ``COLUMNS``; all None when the curves cannot be drawn for this row."""
    from explain.methods.faithfulness import FaithfulnessSettings, faithfulness, method_scores

    attention = AttentionResult(encoding, weights, logits.astype(np.float32), 0.0)
    settings = FaithfulnessSettings(baseline=attribution.settings.baseline)
    try:
        result = faithfulness(bundle, encoding, attribution.target, method_scores(attribution, attention), settings)
    except GlimpseError:
        return dict.fromkeys(COLUMNS)
    out: dict[str, float | None] = dict.fromkeys(COLUMNS)
    for method in (*result.methods, result.random):
        slug = METHODS.get(method.name)
        if slug is not None:
            out[f"comprehensiveness_{slug}"] = method.comprehensiveness
            out[f"sufficiency_{slug}"] = method.sufficiency
    return out
