"""Which class an explanation explains: the one asked for, or the prediction the user sees.

One helper for every method that explains a class (attribution, head ablation), so "the predicted class"
means the same everywhere: the top class of the logits the page shows (from the attention pass), else of
the shared eager model's own pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explain.errors import GlimpseError
from explain.inputs import Encoding
from explain.methods.prediction import predict_logits
from explain.models.loading import ModelBundle


@dataclass(frozen=True)
class Target:
    """One scalar a method explains: a logit at a fixed place, never a max over places or a saturating
    probability. Tasks build them (:mod:`explain.tasks`); :func:`explain.tasks.view.target_view` makes any
    of them class ``column`` of a classifier, so every method takes it."""

    head: str = "logits"  # the model output's field: "logits", or "start_logits" / "end_logits" (QA)
    position: int | None = None  # the token whose row is read (tagging, fill-mask); None = a sequence-level head
    index: int | None = None  # the class, tag, vocabulary id or answer position in that row
    pair: bool = False  # read as [z, 0] so softmax is sigmoid(z): multi-label and regression outputs
    name: str = ""  # what the user reads: "B-location at 'Paris' (token 5)"

    @property
    def column(self) -> int:
        """The class the target is in its view (:func:`explain.tasks.view.row`)."""
        return 0 if self.pair else int(self.index or 0)

    def describe(self) -> str:
        place = "" if self.position is None else f" at token {self.position}"
        return self.name or f"{self.head}[{self.index}]{place}"


def explained_class(
    bundle: ModelBundle,
    encoding: Encoding,
    target: int | None,
    logits: np.ndarray | None,
    error: type[GlimpseError],
) -> int:
    """``target`` checked against the model's classes, or the top class of ``logits`` (computed when None);
    refusals are raised as ``error`` (the calling method's own error class) with the valid choices."""
    labels = bundle.info.labels
    names = f"0 to {len(labels) - 1} ({', '.join(labels)})"
    if target is not None:
        if isinstance(target, bool) or not 0 <= target < len(labels):
            raise error(f"Class {target} does not exist; this model's classes are {names}.")
        return int(target)
    if logits is None:  # the prediction as the Attention page and `predict` show it: the shared eager model
        logits = predict_logits(bundle, encoding)
    if np.shape(logits) != (len(labels),):
        raise error(
            f"The logits given have shape {np.shape(logits)}; this model has {len(labels)} classes. Pass this "
            f"input's [labels] logits, or a target class from {names}."
        )
    return int(np.argmax(logits))
