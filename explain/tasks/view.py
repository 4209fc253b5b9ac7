"""A target seen as a classifier: every method that explains a class explains any task's output.

A :class:`~explain.methods.target.Target` names one logit at a fixed place (a tag at a token, the start of
an answer at a position, a word at a [MASK]). :func:`target_view` wraps the model so its ``logits`` are
that place's row, ``(batch, K)``, and the target is class ``index`` of it: IG, head ablation, the gradient
map, faithfulness and the sanity cascade then run unchanged, and the softmax they take is the task's own
(over the tags at that token, over the answer's positions, over the vocabulary at that mask). A
multi-label or regression output ``z`` is viewed as the pair ``[z, 0]``, whose softmax is ``sigmoid(z)``.

The view shares every weight with the model (no copy), and the parts the methods look for (the base model
under its prefix, the head as ``classifier``, the config) are the model's own modules, so hooks land on
them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput

from explain.methods.target import Target
from explain.models.loading import ModelBundle

#: Where each head class keeps its head (what the sanity cascade randomises first).
_HEADS = (
    "classifier",
    "qa_outputs",
    "cls",
    "lm_head",
    "vocab_projector",
    "generator_lm_head",
    "lm_predictions",
    "predictions",
)


class TargetHead(nn.Module):
    """``model`` with ``logits`` = the target's row (see the module docstring)."""

    def __init__(self, model: nn.Module, target: Target) -> None:
        super().__init__()
        self.inner = model
        self.target = target
        self.base_model_prefix = str(getattr(model, "base_model_prefix", ""))
        if self.base_model_prefix and hasattr(model, self.base_model_prefix):
            setattr(self, self.base_model_prefix, getattr(model, self.base_model_prefix))
        head = next((getattr(model, n) for n in _HEADS if isinstance(getattr(model, n, None), nn.Module)), None)
        if head is not None and not hasattr(self, "classifier"):
            self.classifier = head

    @property
    def config(self) -> Any:
        return self.inner.config

    @property
    def dtype(self) -> torch.dtype:
        return next(self.inner.parameters()).dtype

    def get_input_embeddings(self) -> nn.Module:
        embeddings: nn.Module = self.inner.get_input_embeddings()  # type: ignore[operator]
        return embeddings

    def set_attn_implementation(self, name: str) -> None:
        self.inner.set_attn_implementation(name)  # type: ignore[operator]

    def forward(self, **inputs: Any) -> SequenceClassifierOutput:
        out = self.inner(**inputs)
        return SequenceClassifierOutput(logits=row(out, self.target), attentions=getattr(out, "attentions", None))


def row(out: Any, target: Target) -> torch.Tensor:
    """The target's row of a model output: (batch, K), the target being column ``target.column``."""
    values: torch.Tensor = getattr(out, target.head)  # (batch, [seq,] outputs) or (batch, seq) for QA
    if values.dim() == 3:  # a per-token head: one token's row, or every token's flattened (batched entities)
        values = values.reshape(len(values), -1) if target.position is None else values[:, target.position]
    if target.pair:  # [z, 0]: softmax is sigmoid(z)
        z = values[:, target.index if target.index is not None else 0]
        values = torch.stack([z, torch.zeros_like(z)], dim=-1)  # (batch, 2)
    return values


def target_view(bundle: ModelBundle, target: Target, labels: tuple[str, ...]) -> ModelBundle:
    """``bundle`` seen through ``target``; ``labels`` name the view's K columns (what error messages list)."""
    view = replace(
        bundle,
        model=TargetHead(bundle.model, target),  # type: ignore[arg-type]  # duck-typed: config, prefix, head
        hooked_model=TargetHead(bundle.hooked_model, target),  # type: ignore[arg-type]
        info=replace(bundle.info, labels=labels, target=target.describe()),
    )
    view.__dict__["weights_sha256"] = bundle.weights_sha256  # the same weights: never hash them again
    return view
