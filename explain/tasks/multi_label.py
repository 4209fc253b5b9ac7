"""Multi-label classification: an independent sigmoid per label, every label at or above a threshold shown.

A softmax would make the labels compete (their probabilities summing to 1); a multi-label head was trained
with one binary cross-entropy per label, so each label's probability is its own sigmoid.
"""

from __future__ import annotations

from explain.inputs import prepare_input
from explain.methods.target import Target
from explain.models.heads import TaskKind
from explain.models.loading import ModelBundle
from explain.tasks.base import Choice, Selects, TaskPrediction, TaskRequest, forward, numpy, sigmoid


class MultiLabel(Selects):
    kind = TaskKind.MULTI_LABEL

    def predict(self, bundle: ModelBundle, request: TaskRequest) -> TaskPrediction:
        encoding = prepare_input(bundle, request.text, request.text_b)
        logits = numpy(forward(bundle, encoding).logits[0])  # (labels,)
        probs = sigmoid(logits)
        labels = bundle.info.labels
        order = probs.argsort(kind="stable")[::-1].tolist()  # the likeliest first: the default explanation
        above = [labels[i] for i in order if probs[i] >= request.threshold]
        choices = tuple(
            Choice(
                Target(index=i, pair=True, name=labels[i]),
                encoding,
                (labels[i], f"not {labels[i]}"),
                "labels",
                labels[i],
            )
            for i in order
        )
        return TaskPrediction(
            task=self.kind,
            encoding=encoding,
            headline=", ".join(above) if above else f"no label reaches {request.threshold:.2f}",
            output={
                "labels": above,
                "threshold": request.threshold,
                "probabilities": {n: round(float(p), 6) for n, p in zip(labels, probs, strict=True)},
                "logits": [round(float(v), 6) for v in logits],
            },
            rows=tuple(
                {"label": n, "probability": float(p), "logit": float(z), "shown": bool(p >= request.threshold)}
                for n, p, z in zip(labels, probs, logits, strict=True)
            ),
            choices=choices,
            notices=encoding.notices,
        )
