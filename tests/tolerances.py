"""How far two float32 computations of one quantity may differ when they only sum in another order.

Why (the one place the reasoning is written down). float32 keeps 24 significant bits: EPS32 = 2**-23 ≈ 1.19e-7
is the gap between 1 and the next float. A padded batch, a chunked pass, a batch of masks, the sdpa twin and
Captum's pipeline compute the same sums as a single unpadded pass, but group them differently (BLAS blocks
by shape; padding lengthens the softmax and attention sums with exact zeros that still change the grouping),
so each rounds differently and which way depends on the CPU's kernels. A sum of n terms is off by up to
n·EPS32·Σ|terms|, and by about √n·EPS32·Σ|terms| when the roundings behave as independent (Higham & Mary,
"A new approach to probabilistic rounding error analysis", 2019); we take √n, n the longest reduction
(the widest linear layer's input or the sequence). One layer sends its output through OPS_PER_LAYER such
reductions in a row (QKV projection, QKᵀ, softmax, attention × V, output projection, LayerNorm, two
feed-forward matmuls, LayerNorm); LayerNorm and the residual path keep the errors from compounding, so
they add layer by layer, plus HEAD_OPS for pooler and classifier; a gradient goes back through the same
depth again. Two computations each carry such an error, hence the factor 2. The error is relative to the
size of what is summed, so every comparison names its scale: max|logit| for logits and probabilities (a
probability moves at most half as much as its logits), and max(|f(input)|, |f(baseline)|, Σ|scores|) for
attributions (a score is a difference of outputs of size |f|, so it keeps |f|'s rounding even when small).
For the tiny test models (2 layers, widest sum 37) that allows 2.9e-5 of the scale forward and 5.8e-5 with a
gradient: 40 times the largest drift measured here and on the AMD EPYC of issue 15 (2e-5 at |f| = 28.7),
yet far below what a wrong mask, a moved baseline or a dropped token changes (each test that uses this was
run with such a bug and failed).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from torch import nn

from explain import AttributionResult, ModelBundle

EPS32 = 2.0**-23
OPS_PER_LAYER = 9
HEAD_OPS = 2


def reduction_width(bundle: ModelBundle, seq: int) -> int:
    """The longest sum in a pass over ``seq`` tokens: the widest linear layer's input, or the sequence."""
    widest = max(m.in_features for m in bundle.model.modules() if isinstance(m, nn.Linear))
    return max(widest, seq)


def reorder_atol(bundle: ModelBundle, scale: float, *, seq: int, gradient: bool = False) -> float:
    """Absolute tolerance between two float32 orders of one pass (``gradient``: forward and backward) over
    ``seq`` tokens (the padded length where padding is involved), for values of size ``scale``."""
    depth = (2 if gradient else 1) * (bundle.info.num_layers * OPS_PER_LAYER + HEAD_OPS)
    return 2 * EPS32 * math.sqrt(reduction_width(bundle, seq)) * depth * scale


def assert_attributions_agree(got: AttributionResult, want: AttributionResult, bundle: ModelBundle, seq: int) -> None:
    """Two attributions of one input computed in different orders (batched, padded to ``seq``, chunked)."""
    size = attribution_scale(want)
    for name in ("scores", "grad_x_input"):
        atol = reorder_atol(bundle, size, seq=seq, gradient=True)
        np.testing.assert_allclose(getattr(got, name), getattr(want, name), rtol=0, atol=atol, err_msg=name)
    for name in ("f_input", "f_baseline"):
        a, b = getattr(got, name), getattr(want, name)
        assert a == pytest.approx(b, rel=0, abs=reorder_atol(bundle, size, seq=seq)), name


def attribution_scale(result: AttributionResult) -> float:
    """The size an attribution's rounding is relative to: scores are differences of outputs of size |f|
    (Σ scores = f(x) − f(baseline)), so a small difference still carries |f|'s rounding; Σ|scores| where
    tokens cancel to more than that."""
    return max(abs(result.f_input), abs(result.f_baseline), float(np.abs(result.scores).sum()))
