"""Zero-shot classification through an NLI head: each label the user types is scored by how strongly the
text (the premise) entails a hypothesis made from a template ("This example is {}.").

Single-label: a softmax over the labels' entailment logits. Multi-label: each label on its own, a softmax
over its contradiction and entailment logits (as transformers' zero-shot pipeline does). Explaining a label
explains its pair's entailment logit.
"""

from __future__ import annotations

import numpy as np

from explain.errors import InputError, SettingsError
from explain.inputs import prepare_input
from explain.methods.target import Target
from explain.models.heads import TaskKind, entailment_id
from explain.models.loading import ModelBundle
from explain.tasks.base import Choice, Selects, TaskPrediction, TaskRequest, forward, numpy, softmax

MAX_LABELS = 20


class ZeroShot(Selects):
    kind = TaskKind.ZERO_SHOT

    def predict(self, bundle: ModelBundle, request: TaskRequest) -> TaskPrediction:
        labels = candidate_labels(request.candidate_labels)
        entail = entailment_id(bundle.model.config)
        contra = next((i for i, n in enumerate(bundle.info.labels) if n.lower().startswith("contra")), None)
        if entail is None:
            raise SettingsError("This model has no 'entailment' class, so it cannot score zero-shot labels.")
        pairs = [
            prepare_input(bundle, request.text, hypothesis(request.hypothesis_template, label)) for label in labels
        ]
        logits = np.stack([numpy(forward(bundle, e).logits[0]) for e in pairs])  # (labels, nli classes)
        if request.multi_label and contra is not None:
            scores = softmax(logits[:, [contra, entail]])[:, 1]
        else:
            scores = softmax(logits[:, entail])
        order = np.argsort(-scores, kind="stable").tolist()
        choices = tuple(
            Choice(
                Target(index=entail, name=f"'{labels[i]}' (entailment)"),
                pairs[i],
                bundle.info.labels,
                "labels",
                labels[i],
            )
            for i in order
        )
        return TaskPrediction(
            task=self.kind,
            encoding=pairs[order[0]],
            headline=f"{labels[order[0]]} ({scores[order[0]]:.1%})",
            output={
                "labels": [labels[i] for i in order],
                "scores": [round(float(scores[i]), 6) for i in order],
                "entailment_logits": {labels[i]: round(float(logits[i, entail]), 6) for i in order},
                "hypothesis_template": request.hypothesis_template,
                "multi_label": request.multi_label,
            },
            rows=tuple(
                {
                    "label": labels[i],
                    "score": float(scores[i]),
                    "entailment logit": float(logits[i, entail]),
                    "hypothesis": pairs[i].text_b,
                }
                for i in order
            ),
            choices=choices,
            notices=pairs[order[0]].notices,
        )


def candidate_labels(raw: tuple[str, ...] | str) -> list[str]:
    """Labels from a tuple or a comma-separated string: blanks dropped, duplicates once, at most MAX_LABELS."""
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    labels = list(dict.fromkeys(s.strip() for s in items if s.strip()))
    if not labels:
        raise InputError("Type the candidate labels, separated by commas (e.g. 'politics, sport, science').")
    if len(labels) > MAX_LABELS:
        raise InputError(
            f"{len(labels)} labels given; Glimpse scores at most {MAX_LABELS} at once (one model pass each). Drop some."
        )
    return labels


def hypothesis(template: str, label: str) -> str:
    if template.count("{}") != 1:
        raise SettingsError(
            f"The hypothesis template must hold '{{}}' exactly once, where the label goes; got "
            f"'{template[:60]}'. Example: 'This example is {{}}.'"
        )
    return template.replace("{}", label)
