"""Sequence classification: one label per text (or pair), by a softmax over the classes."""

from __future__ import annotations

from explain.inputs import prepare_input
from explain.methods.target import Target
from explain.models.heads import TaskKind
from explain.models.loading import ModelBundle
from explain.tasks.base import Choice, Selects, TaskPrediction, TaskRequest, forward, numpy, softmax


class Classification(Selects):
    kind = TaskKind.CLASSIFICATION

    def predict(self, bundle: ModelBundle, request: TaskRequest) -> TaskPrediction:
        encoding = prepare_input(bundle, request.text, request.text_b)
        logits = numpy(forward(bundle, encoding).logits[0])  # (labels,)
        probs = softmax(logits)
        labels = bundle.info.labels
        top = int(probs.argmax())
        order = [top, *(i for i in probs.argsort()[::-1].tolist() if i != top)]  # the prediction first
        choices = tuple(Choice(Target(index=i, name=labels[i]), encoding, labels, "classes", labels[i]) for i in order)
        return TaskPrediction(
            task=self.kind,
            encoding=encoding,
            headline=f"{labels[top]} ({probs[top]:.1%})",
            output={
                "label": labels[top],
                "label_id": top,
                "probabilities": {n: round(float(p), 6) for n, p in zip(labels, probs, strict=True)},
                "logits": [round(float(v), 6) for v in logits],
            },
            rows=tuple(
                {"class": n, "probability": float(p), "logit": float(z)}
                for n, p, z in zip(labels, probs, logits, strict=True)
            ),
            choices=choices,
            notices=encoding.notices,
        )
