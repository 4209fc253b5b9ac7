"""Norm-based attention (Kobayashi et al. 2020): how much each token actually moves each head's output.

A head's output for query i is Σ_j α_ij · f(x_j), where f(x_j) is token j's value vector passed through
that head's slice of the output projection. A large weight on a token whose f(x_j) is tiny moves
nothing (the heavy attention to [SEP] is often of this kind, Kobayashi et al. 2020), so ‖α_ij f(x_j)‖ =
α_ij ‖f(x_j)‖ is a better account of a head's reading than α alone. The output projection's bias is
left out (no token can claim it).
"""

from __future__ import annotations

import numpy as np
import torch

from explain.inputs import Encoding
from explain.models.anatomy import attention_parts, captured_values
from explain.models.loading import ModelBundle


def value_norms(bundle: ModelBundle, encoding: Encoding) -> np.ndarray:
    """‖f_h(x_j)‖ for every layer, head and token: [layers, heads, seq] (one pass on the twin)."""
    inputs = encoding.model_inputs(bundle.device)
    model = bundle.hooked_model
    parts = attention_parts(model)
    with bundle.gate.hold(), torch.no_grad(), captured_values(model) as values:
        model(**inputs)
    out = []
    for p, v in zip(parts, values, strict=True):
        heads = v[0].view(v.shape[1], p.heads, p.head_dim).transpose(0, 1)  # (heads, seq, head_dim)
        w_o = p.output.weight.view(-1, p.heads, p.head_dim).transpose(0, 1)  # (heads, hidden, head_dim)
        transformed = heads @ w_o.transpose(1, 2)  # (heads, seq, hidden): f_h(x_j)
        out.append(transformed.norm(dim=-1))  # (heads, seq)
    norms: np.ndarray = torch.stack(out).float().cpu().numpy()
    norms.setflags(write=False)
    return norms


def norm_attention(weights: np.ndarray, norms: np.ndarray) -> np.ndarray:
    """‖α_ij f(x_j)‖ = α_ij ‖f(x_j)‖: [layers, heads, seq, seq] from weights and :func:`value_norms`."""
    out: np.ndarray = (weights * norms[:, :, None, :]).astype(np.float32)
    out.setflags(write=False)
    return out
