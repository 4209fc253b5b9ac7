"""Tasks: each head a BERT user brings, as preprocess → forward → postprocess with explainable targets.

``task_of(bundle).predict(bundle, request)`` gives a :class:`TaskPrediction`: what the user reads, and the
:class:`Choice` s of what can be explained. A choice's ``view(bundle)`` is the model seen as a classifier of
that target, so every method (IG, ablation, faithfulness, sanity) runs on it unchanged.
"""

from __future__ import annotations

from explain.models.heads import TASK_HELP, TaskKind, detect_task, task_kind
from explain.models.loading import ModelBundle
from explain.tasks.base import DEFAULT_TEMPLATE, Choice, Highlight, Task, TaskPrediction, TaskRequest
from explain.tasks.classification import Classification
from explain.tasks.encoder import Encoder
from explain.tasks.fill_mask import FillMask
from explain.tasks.multi_label import MultiLabel
from explain.tasks.qa import QuestionAnswering
from explain.tasks.regression import Regression
from explain.tasks.tagging import Tagging
from explain.tasks.zero_shot import ZeroShot

TASKS: dict[TaskKind, Task] = {
    t.kind: t
    for t in (
        Classification(),
        MultiLabel(),
        Regression(),
        Tagging(),
        QuestionAnswering(),
        FillMask(),
        ZeroShot(),
        Encoder(),
    )
}


def task_of(bundle: ModelBundle) -> Task:
    """The task the bundle was loaded as (detected, or the user's override)."""
    return TASKS[TaskKind(bundle.info.task)]


__all__ = [
    "DEFAULT_TEMPLATE",
    "TASKS",
    "TASK_HELP",
    "Choice",
    "Highlight",
    "Task",
    "TaskKind",
    "TaskPrediction",
    "TaskRequest",
    "detect_task",
    "task_kind",
    "task_of",
]
