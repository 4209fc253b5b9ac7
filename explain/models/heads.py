"""The tasks Glimpse understands, and how a checkpoint's config says which one it was trained for.

A task is read from the config alone (``architectures``, ``problem_type``, ``num_labels``, label names), the
way transformers' pipelines pick a head, and a user may override it (an NLI model used for zero-shot, a
sequence classifier whose config forgot ``problem_type: multi_label_classification``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from explain.errors import SettingsError


class TaskKind(StrEnum):
    CLASSIFICATION = "classification"
    MULTI_LABEL = "multi-label"
    REGRESSION = "regression"
    TOKEN_CLASSIFICATION = "token-classification"
    QUESTION_ANSWERING = "question-answering"
    FILL_MASK = "fill-mask"
    ZERO_SHOT = "zero-shot"
    ENCODER = "encoder"


TASK_HELP = {
    TaskKind.CLASSIFICATION: "one label per text (softmax over the classes)",
    TaskKind.MULTI_LABEL: "any number of labels per text (an independent sigmoid per label, with a threshold)",
    TaskKind.REGRESSION: "one number per text (the head's single output)",
    TaskKind.TOKEN_CLASSIFICATION: "a tag per word (NER, POS), merged into entity spans",
    TaskKind.QUESTION_ANSWERING: "an answer span in a context, for a question (extractive QA, SQuAD-style)",
    TaskKind.FILL_MASK: "the words a masked language model puts at [MASK]",
    TaskKind.ZERO_SHOT: "labels you type, scored by an NLI model's entailment of 'This example is {label}.'",
    TaskKind.ENCODER: "no head: attention only (no prediction to explain)",
}

#: The transformers head class each task runs on (loaded with the Auto class of that name).
HEAD_CLASS = {
    TaskKind.CLASSIFICATION: "AutoModelForSequenceClassification",
    TaskKind.MULTI_LABEL: "AutoModelForSequenceClassification",
    TaskKind.REGRESSION: "AutoModelForSequenceClassification",
    TaskKind.ZERO_SHOT: "AutoModelForSequenceClassification",
    TaskKind.TOKEN_CLASSIFICATION: "AutoModelForTokenClassification",
    TaskKind.QUESTION_ANSWERING: "AutoModelForQuestionAnswering",
    TaskKind.FILL_MASK: "AutoModelForMaskedLM",
    TaskKind.ENCODER: "AutoModel",
}
#: Heads Glimpse does not serve, read as a bare encoder: ELECTRA's pre-training class is the replaced-token
#: discriminator (one logit per token), not a masked LM; loaded as one, its MLM head would be random.
_ENCODER_ARCHITECTURES = frozenset({"ElectraForPreTraining"})
_SUFFIXES = (
    ("ForTokenClassification", TaskKind.TOKEN_CLASSIFICATION),
    ("ForQuestionAnswering", TaskKind.QUESTION_ANSWERING),
    ("ForMaskedLM", TaskKind.FILL_MASK),
    ("ForPreTraining", TaskKind.FILL_MASK),  # bert-base-uncased's own config: its MLM head loads as a masked LM
)


def detect_task(config: Any) -> TaskKind:
    """The task a config was trained for; a bare encoder when nothing names a head."""
    archs = [str(a) for a in (getattr(config, "architectures", None) or [])]
    if archs and all(a in _ENCODER_ARCHITECTURES for a in archs):
        return TaskKind.ENCODER
    for suffix, kind in _SUFFIXES:
        if any(a.endswith(suffix) for a in archs):
            return kind
    problem = getattr(config, "problem_type", None)
    if any(a.endswith("ForSequenceClassification") for a in archs) or problem:
        if problem == "multi_label_classification":
            return TaskKind.MULTI_LABEL
        if problem == "regression" or int(getattr(config, "num_labels", 2) or 0) == 1:
            return TaskKind.REGRESSION
        return TaskKind.ZERO_SHOT if entailment_id(config) is not None else TaskKind.CLASSIFICATION
    return TaskKind.ENCODER


def entailment_id(config: Any) -> int | None:
    """The class an NLI model calls entailment (by name, as transformers' zero-shot pipeline finds it)."""
    names = {int(i): str(n).lower() for i, n in (getattr(config, "id2label", None) or {}).items()}
    return next((i for i, n in sorted(names.items()) if n.startswith("entail")), None)


def task_kind(value: str | TaskKind | None) -> TaskKind | None:
    """A task named by a user (CLI ``--task``, URL, picker); None = detect. Lists the valid names otherwise."""
    if value is None or value == "" or value == "auto":
        return None
    try:
        return TaskKind(str(value).strip().lower())
    except ValueError:
        raise SettingsError(
            f"Unknown task '{str(value)[:40]}'. Available: auto, {', '.join(k.value for k in TaskKind)}."
        ) from None


def check_override(detected: TaskKind, wanted: TaskKind, config: Any, source: str) -> None:
    """Refuse an override the checkpoint cannot serve, saying what it can."""
    why = _refusal(detected, wanted, config)
    if why is not None:
        can = ", ".join(k.value for k in compatible_tasks(detected, config))
        raise SettingsError(f"'{source}' {why}. It can run as: {can}.")


def compatible_tasks(detected: TaskKind, config: Any) -> tuple[TaskKind, ...]:
    """The tasks this checkpoint can run as (its own first)."""
    return (detected, *(k for k in TaskKind if k is not detected and _refusal(detected, k, config) is None))


def _refusal(detected: TaskKind, wanted: TaskKind, config: Any) -> str | None:
    if wanted is TaskKind.ZERO_SHOT and entailment_id(config) is None:
        return (
            "has no class named 'entailment' in its id2label, so it cannot score zero-shot labels (load an NLI model)"
        )
    outputs = int(getattr(config, "num_labels", 0) or 0)
    if wanted is TaskKind.REGRESSION and outputs != 1:
        return f"has {outputs} outputs; a regression head has one"
    if wanted in (TaskKind.CLASSIFICATION, TaskKind.MULTI_LABEL) and outputs < 2 and detected is not wanted:
        return f"has {outputs} output; a classifier needs at least two classes"
    if HEAD_CLASS[wanted] != HEAD_CLASS[detected] and wanted is not TaskKind.ENCODER:
        return f"was saved as a {detected.value} model ({HEAD_CLASS[detected]}) and cannot run as {wanted.value}"
    return None
