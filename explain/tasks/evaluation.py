"""A task's metrics over a labelled file, each row predicted as the app predicts it.

Files are tab-separated UTF-8 (a header line is skipped when its last field is not a valid label):

- multi-label: ``text<TAB>label,label`` (names or ids; an empty field means no label) → micro/macro F1;
- regression: ``text<TAB>value`` or ``text_a<TAB>text_b<TAB>value`` → MSE and Pearson's r;
- question answering: ``question<TAB>context<TAB>answer`` (several answers joined by `` || ``) → EM and F1;
- zero-shot: ``text<TAB>label`` → accuracy, the candidates being the labels asked for, else the file's own;
- tagging reads CoNLL instead (:mod:`explain.tasks.conll`); classification keeps ``evaluate --tsv``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from explain.errors import InputError, SettingsError
from explain.models.heads import TaskKind
from explain.models.loading import ModelBundle
from explain.readers import parse_label, text_lines
from explain.tasks import TaskRequest, task_of
from explain.tasks.metrics import exact_match, mse_pearson, multilabel_f1, token_f1

Progress = Callable[[int], None]


def evaluate_file(bundle: ModelBundle, path: Path, request: TaskRequest, on_row: Progress | None = None
                  ) -> dict[str, Any]:  # fmt: skip
    """The metrics of ``bundle``'s task over ``path`` (see the module docstring for the formats)."""
    kind = TaskKind(bundle.info.task)
    if kind not in _EVALUATORS:
        raise SettingsError(f"'evaluate --tsv' has no metric for {kind.value} here: classification scores accuracy "
                            "(its own path), tagging reads --conll.")  # fmt: skip
    rows = _rows(path)
    return _EVALUATORS[kind](bundle, rows, request, on_row or (lambda _n: None)) | {"file": str(path)}


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    rows = [(number, line.split("\t")) for number, line in text_lines(path)]
    if not rows:
        raise InputError(f"'{path}' has no lines. Write one tab-separated example per line.")
    return rows


def _multi_label(bundle: ModelBundle, rows: list[tuple[int, list[str]]], request: TaskRequest, progress: Progress
                 ) -> dict[str, Any]:  # fmt: skip
    labels = bundle.info.labels
    truth, predicted = [], []
    for n, (number, fields) in enumerate(_data(rows, lambda f: _label_set(f[-1], labels) is not None)):
        gold = _label_set(fields[-1], labels)
        if gold is None or len(fields) < 2:
            raise InputError(f"line {number}: expected 'text<TAB>label,label' with labels among {', '.join(labels)}.")
        out = task_of(bundle).predict(bundle, _with(request, fields[0], fields[1] if len(fields) > 2 else None))
        truth.append([i in gold for i in range(len(labels))])
        predicted.append([name in out.output["labels"] for name in labels])
        progress(n + 1)
    micro, macro, per = multilabel_f1(np.array(truth, dtype=bool), np.array(predicted, dtype=bool))
    return {"micro_f1": micro, "macro_f1": macro, "per_label_f1": dict(zip(labels, per, strict=True)),
            "threshold": request.threshold, "examples": len(truth)}  # fmt: skip


def _regression(bundle: ModelBundle, rows: list[tuple[int, list[str]]], request: TaskRequest, progress: Progress
                ) -> dict[str, Any]:  # fmt: skip
    truth, predicted = [], []
    for n, (number, fields) in enumerate(_data(rows, lambda f: _number(f[-1]) is not None)):
        value = _number(fields[-1])
        if value is None or len(fields) not in (2, 3):
            raise InputError(f"line {number}: expected 'text<TAB>value' or 'text_a<TAB>text_b<TAB>value'.")
        out = task_of(bundle).predict(bundle, _with(request, fields[0], fields[1] if len(fields) == 3 else None))
        truth.append(value)
        predicted.append(out.output["value"])
        progress(n + 1)
    mse, r = mse_pearson(np.array(truth), np.array(predicted))
    return {"mse": mse, "pearson": r, "examples": len(truth)}


def _qa(bundle: ModelBundle, rows: list[tuple[int, list[str]]], request: TaskRequest, progress: Progress
        ) -> dict[str, Any]:  # fmt: skip
    em, f1 = [], []
    for n, (number, fields) in enumerate(_data(rows, lambda f: len(f) == 3 and f[0].lower() != "question")):
        if len(fields) != 3:
            raise InputError(f"line {number}: expected 'question<TAB>context<TAB>answer' (answers joined by ' || ').")
        answers = [a.strip() for a in fields[2].split("||") if a.strip()] or [""]
        out = task_of(bundle).predict(bundle, _with(request, fields[0], fields[1]))
        em.append(exact_match(out.output["answer"], answers))
        f1.append(token_f1(out.output["answer"], answers))
        progress(n + 1)
    return {
        "exact_match": float(np.mean(em)),
        "f1": float(np.mean(f1)),
        "definition": "SQuAD v1.1 (normalised)",
        "examples": len(em),
    }


def _zero_shot(bundle: ModelBundle, rows: list[tuple[int, list[str]]], request: TaskRequest, progress: Progress
               ) -> dict[str, Any]:  # fmt: skip
    data = [(n, f) for n, f in rows if len(f) == 2]
    if len(data) != len(rows) and len(data) != len(rows) - 1:
        bad = next(n for n, f in rows[1:] if len(f) != 2)
        raise InputError(f"line {bad}: expected 'text<TAB>label'.")
    if data and data[0][1][1].strip().lower() in ("label", "labels"):
        data = data[1:]  # the header
    labels = request.candidate_labels or tuple(dict.fromkeys(f[1].strip() for _n, f in data))
    hits = []
    for n, (_number, (text, label)) in enumerate(data):
        out = task_of(bundle).predict(bundle, _with(replace(request, candidate_labels=labels), text, None))
        hits.append(out.output["labels"][0] == label.strip())
        progress(n + 1)
    return {"accuracy": float(np.mean(hits)), "examples": len(hits), "candidate_labels": list(labels),
            "hypothesis_template": request.hypothesis_template}  # fmt: skip


def _data(rows: list[tuple[int, list[str]]], valid: Callable[[list[str]], bool]) -> list[tuple[int, list[str]]]:
    """The rows, less a first line that is a header (its label field is not a label)."""
    return rows[1:] if rows and not valid(rows[0][1]) else rows


def _with(request: TaskRequest, text: str, text_b: str | None) -> TaskRequest:
    return replace(request, text=text, text_b=text_b)


def _label_set(raw: str, labels: tuple[str, ...]) -> set[int] | None:
    found = [parse_label(part, labels) for part in raw.split(",") if part.strip()]
    return None if any(i is None for i in found) else {i for i in found if i is not None}


def _number(raw: str) -> float | None:
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if np.isfinite(value) else None


_EVALUATORS: dict[TaskKind, Callable[[ModelBundle, list[tuple[int, list[str]]], TaskRequest, Progress],
                                     dict[str, Any]]] = {
    TaskKind.MULTI_LABEL: _multi_label,
    TaskKind.REGRESSION: _regression,
    TaskKind.QUESTION_ANSWERING: _qa,
    TaskKind.ZERO_SHOT: _zero_shot,
}  # fmt: skip
