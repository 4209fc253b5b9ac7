"""Which class an explanation explains: the one asked for, or the prediction the user sees.

One helper for every method that explains a class (attribution, head ablation), so "the predicted class"
means the same everywhere: the top class of the logits the page shows (from the attention pass), else of
the shared eager model's own pass.
"""

from __future__ import annotations

import numpy as np

from explain.errors import GlimpseError
from explain.inputs import Encoding
from explain.methods.prediction import predict_logits
from explain.models.loading import ModelBundle


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
