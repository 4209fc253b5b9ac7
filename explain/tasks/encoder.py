"""A bare encoder (no task head): attention and everything that needs no prediction; nothing to explain."""

from __future__ import annotations

from explain.inputs import prepare_input
from explain.models.heads import TaskKind
from explain.models.loading import ModelBundle
from explain.tasks.base import Selects, TaskPrediction, TaskRequest

NO_HEAD = (
    "This checkpoint has no task head, so it makes no prediction to explain; attention works as for any model. "
    "A checkpoint with a head gives predictions: *ForSequenceClassification (classification, multi-label, "
    "regression, NLI for zero-shot), *ForTokenClassification (NER tagging), *ForQuestionAnswering (extractive "
    "QA) or *ForMaskedLM (fill-mask; bert-base-uncased itself)."
)


class Encoder(Selects):
    kind = TaskKind.ENCODER

    def predict(self, bundle: ModelBundle, request: TaskRequest) -> TaskPrediction:
        encoding = prepare_input(bundle, request.text, request.text_b)
        return TaskPrediction(
            task=self.kind,
            encoding=encoding,
            headline="no prediction (no task head)",
            output={"prediction": None},
            rows=(),
            choices=(),
            notices=(*encoding.notices, NO_HEAD),
        )
