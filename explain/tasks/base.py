"""What every task shares: the request a user makes, and the prediction a task returns.

A task (one module each: :mod:`explain.tasks.classification`, :mod:`explain.tasks.tagging`, ...) turns a
request into model inputs (preprocess), runs the head, and turns its logits into what the user reads
(postprocess), with the :class:`Choice` s of what can be explained. Methods never see the task: a choice
is a :class:`~explain.methods.target.Target` on an encoding, and :func:`Choice.view` makes it a class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch

from explain.errors import SettingsError
from explain.inputs import Encoding
from explain.methods.target import Target
from explain.models.heads import TaskKind
from explain.models.loading import ModelBundle
from explain.tasks.view import target_view

DEFAULT_TEMPLATE = "This example is {}."


@dataclass(frozen=True)
class TaskRequest:
    """What the user typed and chose, for any task (fields a task does not use are ignored)."""

    text: str  # the text; the question for QA; the premise for zero-shot
    text_b: str | None = None  # segment B of a pair; the context for QA
    candidate_labels: tuple[str, ...] = ()  # zero-shot: the labels to score
    hypothesis_template: str = DEFAULT_TEMPLATE  # zero-shot: "{}" is replaced by each label
    multi_label: bool = False  # zero-shot: score each label on its own (entailment vs contradiction)
    threshold: float = 0.5  # multi-label: a label is shown when its sigmoid reaches this
    top_k: int = 5  # fill-mask candidates per mask, QA spans

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise SettingsError(f"The threshold must lie between 0 and 1 (exclusive); got {self.threshold}.")
        if not 1 <= self.top_k <= 50:
            raise SettingsError(f"Top-k must be 1 to 50; got {self.top_k}.")


@dataclass(frozen=True)
class Choice:
    """One thing the user can explain: a target read on an encoding."""

    target: Target
    encoding: Encoding  # the input the target is read on (zero-shot: premise + hypothesis; QA: the window)
    labels: tuple[str, ...]  # names of the view's columns (what an error lists)
    group: str = ""  # the picker's section: "entities", "tokens", "start", "end", a mask, ...
    key: str = ""  # what a user types to pick it (CLI --label, URL): a class, label, "start"/"end", ...

    def view(self, bundle: ModelBundle) -> ModelBundle:
        """The model seen through this target: every class-explaining method runs on it unchanged."""
        return target_view(bundle, self.target, self.labels)


@dataclass(frozen=True)
class Highlight:
    """A part of the typed text the prediction points at (an entity, the answer, a filled mask)."""

    segment: int  # 0 = text, 1 = text_b
    start: int  # character offsets in that segment's cleaned text, end exclusive
    end: int
    label: str


@dataclass(frozen=True, eq=False)
class TaskPrediction:
    """A task's prediction, shaped for the user: ``output`` is the CLI's JSON and the page's table."""

    task: TaskKind
    encoding: Encoding  # the input as the Attention page shows it (QA: the window holding the answer)
    headline: str  # one line: "positive (97.1%)", "2 entities", "Answer: 'Paris'"
    output: dict[str, Any]  # JSON-ready, task-shaped
    rows: tuple[dict[str, Any], ...]  # the table the page shows (one row per class, tag, span, candidate)
    choices: tuple[Choice, ...]  # what can be explained, the default first
    highlights: tuple[Highlight, ...] = ()
    notices: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)  # task-specific arrays for views (e.g. per-token tags)
    defaults: int = 1  # how many of the first choices are explained when the user picks none (QA: start and end)

    @property
    def default(self) -> Choice | None:
        return self.choices[0] if self.choices else None


@dataclass(frozen=True)
class TargetSpec:
    """What the user asked to explain (CLI options, URL); unset fields mean the task's default."""

    label: str | None = None  # a class, label or tag by name (or class id); QA: "start" or "end"
    token: int | None = None  # tagging: the token position (its predicted tag unless ``label`` names one)
    mask_index: int | None = None  # fill-mask: which mask, 0-based
    candidate: str | None = None  # fill-mask: a candidate token or vocabulary id
    every: bool = False  # tagging: every entity (one batched run)


class Task(Protocol):
    kind: TaskKind

    def predict(self, bundle: ModelBundle, request: TaskRequest) -> TaskPrediction: ...

    def select(self, bundle: ModelBundle, prediction: TaskPrediction, spec: TargetSpec) -> tuple[Choice, ...]: ...


class Selects:
    """The common way to pick: by key (or class id), else the prediction's defaults."""

    def select(self, bundle: ModelBundle, prediction: TaskPrediction, spec: TargetSpec) -> tuple[Choice, ...]:
        if not prediction.choices:
            raise SettingsError("This model makes no prediction, so there is nothing to explain.")
        if spec.label is None:
            return prediction.choices[: prediction.defaults]
        wanted = spec.label.strip().lower()
        found = tuple(
            c
            for c in prediction.choices
            if wanted in (c.key.lower(), str(c.target.index) if c.group == "classes" else None)
        )
        if not found:
            keys = ", ".join(dict.fromkeys(c.key for c in prediction.choices))
            raise SettingsError(f"Nothing called '{spec.label[:40]}' to explain here. Pick one of: {keys}.")
        return found[:1]


def forward(bundle: ModelBundle, encoding: Encoding) -> Any:
    """One no-grad pass of the shared eager model on one input (the prediction a page shows)."""
    with torch.no_grad():
        return bundle.model(**encoding.model_inputs(bundle.device))


def numpy(values: torch.Tensor) -> np.ndarray:
    out: np.ndarray = values.detach().cpu().double().numpy()
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    out: np.ndarray = shifted / shifted.sum(axis=-1, keepdims=True)
    return out


def sigmoid(logits: np.ndarray) -> np.ndarray:
    out: np.ndarray = 0.5 * (1.0 + np.tanh(0.5 * logits))  # no overflow warning for large |z|
    return out
