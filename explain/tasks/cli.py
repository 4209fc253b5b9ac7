"""The task options of ``predict``, ``attribute`` and ``diagnose``, and their JSON.

``predict`` prints the task's own output; ``attribute`` explains the chosen target(s) on their view, each
certified as a classifier's class would be. Options a task does not use are ignored.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from explain.methods.attribution import IGSettings, attribute
from explain.models.heads import TASK_HELP, TaskKind
from explain.models.loading import ModelBundle
from explain.tasks import TaskPrediction, TaskRequest, task_of
from explain.tasks.base import DEFAULT_TEMPLATE, Choice, TargetSpec
from explain.tasks.tagging import entity_matrix


def add_request_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--candidate-labels", default="", help="zero-shot: the labels to score, comma-separated")
    parser.add_argument(
        "--hypothesis-template",
        default=DEFAULT_TEMPLATE,
        help=f"zero-shot: the hypothesis, '{{}}' standing for each label (default '{DEFAULT_TEMPLATE}')",
    )
    parser.add_argument(
        "--multi-label",
        action="store_true",
        help="zero-shot: score each label on its own (entailment vs contradiction)",
    )
    parser.add_argument(
        "--threshold", type=float, default=0.5, help="multi-label: show labels whose sigmoid reaches this (default 0.5)"
    )
    parser.add_argument("--top-k", type=int, default=5, help="fill-mask candidates per mask; QA spans (default 5)")
    parser.add_argument(
        "--context",
        dest="text_b",
        default=argparse.SUPPRESS,
        help="question answering: the passage (the same as --text-b; --text is the question)",
    )


def add_target_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--label", default=None, help="what to explain by name: a class or label; a tag with --token; QA: start or end"
    )
    parser.add_argument("--token", type=int, default=None, help="tagging: the token position whose tag to explain")
    parser.add_argument(
        "--every-entity",
        dest="every",
        action="store_true",
        help="tagging: every entity in one batched run, with the entity × token matrix",
    )
    parser.add_argument("--mask-index", type=int, default=None, help="fill-mask: which [MASK], 0-based (default 0)")
    parser.add_argument(
        "--candidate",
        default=None,
        help="fill-mask: the candidate token (or vocabulary id) to explain (default the top one)",
    )


def request_from(args: argparse.Namespace) -> TaskRequest:
    labels = tuple(s.strip() for s in getattr(args, "candidate_labels", "").split(",") if s.strip())
    return TaskRequest(
        getattr(args, "text", ""),
        getattr(args, "text_b", None),
        labels,
        args.hypothesis_template,
        args.multi_label,
        args.threshold,
        args.top_k,
    )


def predict_json(bundle: ModelBundle, args: argparse.Namespace) -> dict[str, Any]:
    prediction = task_of(bundle).predict(bundle, request_from(args))
    return {
        "task": prediction.task.value,
        **prediction.output,
        "headline": prediction.headline,
        "head_is_random": bundle.info.head_is_random,
        "dropped_tokens": prediction.encoding.n_dropped,
        "notices": list(prediction.notices),
    }


def chosen(bundle: ModelBundle, args: argparse.Namespace) -> tuple[TaskPrediction, tuple[Choice, ...]]:
    """The prediction and the targets the options name (the task's default when they name none)."""
    task = task_of(bundle)
    prediction = task.predict(bundle, request_from(args))
    label = args.label if args.label is not None or args.target is None else str(args.target)
    spec = TargetSpec(label, args.token, args.mask_index, args.candidate, args.every)
    return prediction, task.select(bundle, prediction, spec)


def attribute_json(bundle: ModelBundle, args: argparse.Namespace, settings: IGSettings, one: Any) -> dict[str, Any]:
    """IG of each chosen target: one target prints as before (plus task and target), several as a list."""
    prediction, choices = chosen(bundle, args)
    task = {"task": prediction.task.value, "prediction": prediction.headline}
    if args.every:
        results, matrix = entity_matrix(bundle, choices, settings)
        rows = [
            one(c.view(bundle), c.encoding, replace(r, target=c.target.column), settings)
            | {"target_name": c.target.name, "target_key": c.key}
            for c, r in zip(choices, results, strict=True)
        ]
        return task | {
            "targets": rows,
            "matrix": {
                "entities": [c.target.name for c in choices],
                "tokens": list(choices[0].encoding.tokens),
                "scores": matrix.round(8).tolist(),
            },
        }
    rows = []
    for c in choices:
        view = c.view(bundle)
        result = attribute(view, c.encoding, replace(settings, target=c.target.column))
        rows.append(
            one(view, c.encoding, result, settings)
            | {"target_name": c.target.name, "target_key": c.key, "target_position": c.target.position}
        )
    return task | rows[0] if len(rows) == 1 else task | {"targets": rows}


def task_listing() -> dict[str, str]:
    return {k.value: TASK_HELP[k] for k in TaskKind}
