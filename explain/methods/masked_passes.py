"""Passes with heads scaled, batched: the machinery behind head ablation (one row per mask).

A row departs from the unablated pass only at the first layer its mask touches, so it joins the batch
there, as a copy of the unablated row's hidden states: the layers before are computed once, not once per
row (a 6 × 12 map then costs 258 of 438 layer-rows, 0.59 of 73 full passes). Hooks go on the twin only,
under the bundle's gate, and are removed when each pass ends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from explain.inputs import Encoding
from explain.models.anatomy import HeadScale, hooks_removed, scaled_heads
from explain.models.device import device_of
from explain.models.loading import ModelBundle

#: Rows per chunk shrink with length so one chunk's activations stay near the same size.
TOKENS_PER_CHUNK = 4096


def logits_with_masks(bundle: ModelBundle, encoding: Encoding, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logits [labels] with all heads, and [rows, labels] with each row's head scales ([rows, layers, heads])."""
    layers = masks.shape[1]
    touched = (masks != 1).any(axis=2)  # [rows, layers]
    first = np.where(touched.any(axis=1), touched.argmax(axis=1), layers)  # where a row leaves the full pass
    todo = np.argsort(first, kind="stable")
    todo = todo[first[todo] < layers]
    per_chunk = max(1, TOKENS_PER_CHUNK // encoding.n_tokens - 1)  # the unablated row rides in every chunk
    out = np.empty((len(masks), len(bundle.info.labels)))
    full: np.ndarray | None = None
    with torch.no_grad():
        for start in range(0, max(len(todo), 1), per_chunk):
            rows = todo[start : start + per_chunk]
            chunk = _grown_pass(bundle.hooked_model, encoding.model_inputs(bundle.device), masks[rows], first[rows])
            full = chunk[0] if full is None else full
            out[rows] = chunk[1:]
    assert full is not None  # at least one pass ran
    out[first == layers] = full  # rows that switch nothing off
    return full, out


def _grown_pass(model: nn.Module, inputs: dict[str, torch.Tensor], masks: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Logits [1 + rows, labels]: the unablated row, then a row per mask, sorted by the layer they join at."""
    layers, heads = masks.shape[1:]
    rows = np.concatenate([np.ones((1, layers, heads), np.float32), masks])
    scales = torch.as_tensor(rows, device=device_of(model))  # (1 + rows, L, H)
    present = 1 + np.searchsorted(first, np.arange(layers), side="right")  # rows in the batch at each layer
    joining = np.diff(np.r_[1, present]).tolist()
    with _grown_batch(model, joining), scaled_heads(model, _here(lambda layer: scales[: present[layer], layer])):
        return np.asarray(model(**inputs).logits.cpu().double().numpy())  # (1 + rows, labels)


@contextmanager
def _grown_batch(model: nn.Module, joining: list[int]) -> Iterator[None]:
    """While inside, ``joining[l]`` copies of row 0's hidden states join the batch at layer l's input."""
    modules = _layer_modules(model)
    served = {id(m): [la for la, other in enumerate(modules) if other is m] for m in modules}  # ALBERT: shared
    calls: dict[int, int] = {}
    owner = threading.get_ident()  # see _here

    def reset(*_: object) -> None:
        if threading.get_ident() == owner:
            calls.clear()

    def hook(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any] | None:
        if threading.get_ident() != owner:
            return None
        index = calls.get(id(module), 0)
        calls[id(module)] = index + 1
        layers = served[id(module)]
        n = joining[layers[index % len(layers)]]
        if n == 0:
            return None
        hidden = args[0]  # (batch, seq, hidden): every family passes the hidden states first
        return (torch.cat([hidden, hidden[:1].expand(n, -1, -1)]), *args[1:]), kwargs

    handles = [model.register_forward_pre_hook(reset)]
    handles += [m.register_forward_pre_hook(hook, with_kwargs=True) for m in {id(m): m for m in modules}.values()]
    with hooks_removed(handles):
        yield


def _layer_modules(model: nn.Module) -> list[nn.Module]:
    """The module each layer's hidden states enter, in layer order (ALBERT's shared group once per layer)."""
    config: Any = model.config
    base: Any = getattr(model, str(model.base_model_prefix), model)
    if config.model_type == "distilbert":
        return list(base.transformer.layer)
    if config.model_type == "albert":
        layers, groups = int(config.num_hidden_layers), int(config.num_hidden_groups)
        return [base.encoder.albert_layer_groups[i * groups // layers] for i in range(layers)]
    return list(base.encoder.layer)


def mask_gradient(model: nn.Module, inputs: dict[str, torch.Tensor], target: int, shape: tuple[int, int]) -> np.ndarray:
    """[layers, heads] |∂ log p(target) / ∂ m| at m = 1, m scaling each head's output.

    The log-probability, as Michel et al. (2019) differentiate the loss −log p: a logit's gradient ignores
    what the head does to the other classes, and the map is compared with Δ probability by ablation."""
    mask = torch.ones((1, *shape), device=device_of(model), requires_grad=True)  # (1, layers, heads)
    with torch.enable_grad(), scaled_heads(model, _here(lambda layer: mask[:, layer])):
        log_p = model(**inputs).logits[0].cpu().double().log_softmax(-1)[target]
    (grad,) = torch.autograd.grad(log_p, mask)
    return np.asarray(grad[0].abs().cpu().double().numpy())


def _here(scale: HeadScale) -> HeadScale:
    """``scale`` in this thread's passes only: every pass on the twin holds the gate, and if one ever did
    not, it would still go through the twin's modules unchanged while these hooks are on them."""
    owner = threading.get_ident()
    return lambda layer: scale(layer) if threading.get_ident() == owner else None
