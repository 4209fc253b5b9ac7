"""Where each family keeps its attention's parts, and one mechanism to scale heads with hooks.

Head ablation and norm-based attention need the value projection and the output projection of every
layer's attention: the output projection's input is the heads' outputs side by side (head h owns
columns h·d … (h+1)·d), so scaling a slice of that input switches a head off. transformers 5 removed
``head_mask`` (PR #41076), so this is done with forward pre-hooks, only ever on the twin, and removed
when the ``with`` block ends. ALBERT reuses one layer's modules for every layer; its hooks count the
calls within a forward pass to know which layer is running.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from explain.errors import ModelLoadError

#: Returns the (batch, heads) multiplier for a layer, or None to leave that layer alone.
HeadScale = Callable[[int], torch.Tensor | None]


@dataclass(frozen=True, eq=False)
class AttentionParts:
    """One layer's attention: its value and output projections and head geometry."""

    layer: int
    value: nn.Linear  # hidden -> heads * head_dim (x W_V + b_V)
    output: nn.Linear  # heads * head_dim -> hidden; its input is the heads' outputs concatenated
    heads: int
    head_dim: int
    shared: bool  # the same modules serve several layers (ALBERT)


def attention_parts(model: nn.Module) -> list[AttentionParts]:
    """Every layer's attention parts, in layer order, for the families Glimpse supports."""
    config: Any = model.config
    family = config.model_type
    base: Any = getattr(model, str(model.base_model_prefix), model)
    heads = int(config.num_attention_heads if hasattr(config, "num_attention_heads") else config.n_heads)
    hidden = int(getattr(config, "hidden_size", None) or config.dim)
    if family in ("bert", "roberta", "xlm-roberta", "electra"):
        pairs = [(la.attention.self.value, la.attention.output.dense) for la in base.encoder.layer]
    elif family == "deberta-v2":
        pairs = [(la.attention.self.value_proj, la.attention.output.dense) for la in base.encoder.layer]
    elif family == "distilbert":
        pairs = [(la.attention.v_lin, la.attention.out_lin) for la in base.transformer.layer]
    elif family == "albert":
        return _albert_parts(base, config, heads, hidden)
    else:
        raise ModelLoadError(f"Glimpse cannot find the attention heads of a '{family}' model.")
    return [AttentionParts(i, v, o, heads, hidden // heads, shared=False) for i, (v, o) in enumerate(pairs)]


def _albert_parts(base: Any, config: Any, heads: int, hidden: int) -> list[AttentionParts]:
    if int(config.inner_group_num) != 1:
        raise ModelLoadError("Glimpse reads ALBERT models with one layer per group (inner_group_num = 1) only.")
    layers, groups = int(config.num_hidden_layers), int(config.num_hidden_groups)
    out = []
    for i in range(layers):
        attention = base.encoder.albert_layer_groups[i * groups // layers].albert_layers[0].attention
        out.append(AttentionParts(i, attention.value, attention.dense, heads, hidden // heads, shared=True))
    return out


@contextmanager
def hooks_removed(handles: list[RemovableHandle]) -> Iterator[None]:
    """Every hook in ``handles`` is removed when the block ends, however it ends: a hook left behind would
    change every later pass through its module."""
    try:
        yield
    finally:
        for h in handles:
            h.remove()


@contextmanager
def scaled_heads(model: nn.Module, scale: HeadScale) -> Iterator[None]:
    """While inside, each layer's heads' outputs are multiplied by ``scale(layer)`` ((batch, heads) or None).

    Put it only on the twin (never on the shared model) and hold the bundle's gate: a hook is seen by
    every forward through its module.
    """
    parts = attention_parts(model)
    calls: dict[int, int] = {}  # per shared output module: how many layers it has served in this pass
    by_module: dict[int, list[AttentionParts]] = {}
    for p in parts:
        by_module.setdefault(id(p.output), []).append(p)

    def reset(*_: object) -> None:
        calls.clear()

    def hook(module: nn.Module, args: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...] | None:
        served = by_module[id(module)]
        index = calls.get(id(module), 0)
        calls[id(module)] = index + 1
        p = served[index % len(served)]
        factor = scale(p.layer)
        if factor is None:
            return None
        context = args[0]  # (batch, seq, heads * head_dim)
        shaped = context.view(*context.shape[:-1], p.heads, p.head_dim)
        return (((shaped * factor[:, None, :, None].to(context.dtype)).view_as(context)), *args[1:])

    handles = [model.register_forward_pre_hook(reset)]
    for served in by_module.values():
        handles.append(served[0].output.register_forward_pre_hook(hook))
    with hooks_removed(handles):
        yield


@contextmanager
def captured_values(model: nn.Module) -> Iterator[list[torch.Tensor]]:
    """While inside, every layer's value projection output (batch, seq, heads * head_dim) is appended, in
    layer order, to the yielded list (ALBERT's shared layer appends once per layer). Twin only, under the gate."""
    parts = attention_parts(model)
    seen: list[torch.Tensor] = []

    def keep(module: nn.Module, args: object, output: torch.Tensor) -> None:
        seen.append(output.detach())

    handles = [module.register_forward_hook(keep) for module in {id(p.value): p.value for p in parts}.values()]
    with hooks_removed(handles):
        yield seen
