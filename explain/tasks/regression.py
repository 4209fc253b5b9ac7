"""Regression: the head's single output is a number (a similarity, a score), not a class."""

from __future__ import annotations

import re

from explain.inputs import prepare_input
from explain.methods.target import Target
from explain.models.heads import TaskKind
from explain.models.loading import ModelBundle
from explain.tasks.base import Choice, Selects, TaskPrediction, TaskRequest, forward, numpy

_GENERIC = re.compile(r"^LABEL_\d+$")


class Regression(Selects):
    kind = TaskKind.REGRESSION

    def predict(self, bundle: ModelBundle, request: TaskRequest) -> TaskPrediction:
        encoding = prepare_input(bundle, request.text, request.text_b)
        value = float(numpy(forward(bundle, encoding).logits[0])[0])
        name = output_name(bundle)
        # Viewed as [value, 0]: IG explains the value itself; Diagnose's probabilities are sigmoid(value).
        target = Target(index=0, pair=True, name=name)
        return TaskPrediction(
            task=self.kind,
            encoding=encoding,
            headline=f"{name} = {value:.4g}",
            output={"value": round(value, 6), "output": name},
            rows=({"output": name, "value": value},),
            choices=(Choice(target, encoding, (name, "0"), "value", name),),
            notices=(
                *encoding.notices,
                "A regression head outputs a number: Diagnose's 'probability' columns show "
                "sigmoid(value), a monotone squashing of it, so their ranks are the value's.",
            ),
        )


def output_name(bundle: ModelBundle) -> str:
    """The output's name from id2label, or "value" when the config only has transformers' LABEL_0."""
    labels = bundle.info.labels
    return labels[0] if labels and not _GENERIC.match(labels[0]) else "value"
