"""Zero-shot classification through an NLI head: each label the user types is scored by how strongly the
text (the premise) entails a hypothesis made from a template ("This example is {}.").

Single-label: a softmax over the labels' entailment logits. Multi-label (and a single label): each label on
its own, a softmax over its contradiction and entailment logits (as transformers' zero-shot pipeline does).
Explaining a label explains its pair's entailment logit.
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
ONE_LABEL = (
    "One candidate label: it is scored on its own (entailment against contradiction), as with multi-label; "
    "a softmax over a single label would always give 100%."
)


class ZeroShot(Selects):
    kind = TaskKind.ZERO_SHOT

    def predict(self, bundle: ModelBundle, request: TaskRequest) -> TaskPrediction:
        labels = candidate_labels(request.candidate_labels)
        entail = entailment_id(bundle.model.config)
        if entail is None:
            raise SettingsError("This model has no 'entailment' class, so it cannot score zero-shot labels.")
        multi = request.multi_label or len(labels) == 1  # as the pipeline: a softmax over one label is always 1
        pairs = [
            prepare_input(bundle, request.text, hypothesis(request.hypothesis_template, label)) for label in labels
        ]
        logits = np.stack([numpy(forward(bundle, e).logits[0]) for e in pairs])  # (labels, nli classes)
        if multi:
            scores = softmax(logits[:, [contradiction_id(bundle.info.labels, entail), entail]])[:, 1]
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
                "multi_label": multi,
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
            notices=(*pairs[order[0]].notices, *((ONE_LABEL,) if multi and not request.multi_label else ())),
        )


def contradiction_id(labels: tuple[str, ...], entail: int) -> int:
    """The class an entailment is weighed against when labels are scored on their own: the one named
    contradiction, else as transformers' pipeline picks it (the last class when entailment is class 0, else
    class 0), which is "not_entailment" for a two-way NLI head."""
    named = next((i for i, n in enumerate(labels) if n.lower().startswith("contra")), None)
    if named is not None:
        return named
    return len(labels) - 1 if entail == 0 else 0


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
