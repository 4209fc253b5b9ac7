"""``python -m explain``: the core over the command line, printing JSON, offline by default.

Subcommands grow with the app; each prints one JSON document on stdout and errors (with the fix)
on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from explain.errors import GlimpseError, InputError
from explain.inputs import Encoding, prepare_input
from explain.knobs import add_knobs, settings_from
from explain.methods.agreement import AGREEMENT_KNOBS, AgreementSettings
from explain.methods.attention import (
    ROLLOUT_KNOBS,
    RolloutSettings,
    attention_view,
    rollout,
    rollout_relevance,
    run_attention,
)
from explain.methods.attribution import IG_KNOBS, AttributionResult, IGSettings, word_scores
from explain.methods.prediction import evaluate, read_labelled
from explain.models.device import DEVICE_CHOICES, DEVICE_ENV
from explain.models.heads import TaskKind, task_kind
from explain.models.loading import ModelBundle, load_bundle
from explain.models.sources import default_source, policy_from_env, resolve_source
from explain.tasks import cli as task_cli


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        bundle = _bundle(args.model, args.device, args.task)
        out = args.run(bundle, args)
    except GlimpseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1 if args.pretty else None)
    sys.stdout.write("\n")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m explain", description="Glimpse's core, printing JSON.")
    _common_args(parser, model="", pretty=False, device=None, task="auto")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    info = sub.add_parser("info", help="what the model is: family, layers, heads, maximum length, labels")
    info.set_defaults(run=_info)
    pred = sub.add_parser("predict", help="the model's prediction, shaped by its task (label, tags, answer, ...)")
    _text_args(pred)
    task_cli.add_request_args(pred)
    pred.set_defaults(run=_predict)
    attr = sub.add_parser("attribute", help="integrated-gradients attributions for a text (or pair)")
    _text_args(attr)
    task_cli.add_request_args(attr)
    task_cli.add_target_args(attr)
    add_knobs(attr, IG_KNOBS)
    attr.add_argument("--words", action="store_true", help="also give word-level sums")
    attr.add_argument("--json", action="store_true", help="print JSON (the only format; kept for clarity)")
    attr.set_defaults(run=_attribute)
    ev = sub.add_parser("evaluate", help="accuracy over a 'sentence<TAB>label' file, or entity F1 over a CoNLL file")
    where = ev.add_mutually_exclusive_group(required=True)
    where.add_argument("--tsv", type=Path, help="UTF-8 file; header optional; labels as ids or names")
    task_cli.add_request_args(ev)
    where.add_argument(
        "--conll",
        type=Path,
        help="tagging: token<TAB>tag lines, a blank line between sentences (entity P/R/F1, seqeval's)",
    )
    ev.set_defaults(run=_evaluate)
    ex = sub.add_parser("export", help="figures and data for every input of a file, one folder each")
    ex.add_argument(
        "--input", required=True, type=Path, help="text file (line = text, or A<TAB>B) or CSV (text | text_a,text_b)"
    )
    ex.add_argument("--out", required=True, type=Path, help="output folder")
    ex.add_argument("--formats", default="png,svg,pdf,html,csv,json", help="comma list of png,svg,pdf,html,csv,json")
    ex.add_argument(
        "--figure-size",
        choices=("column", "page"),
        default="column",
        help="lay figures out one column of a paper wide (3.3 in) or a page wide (7 in)",
    )
    ex.add_argument("--scale", type=float, default=None,
                    help="PNG pixels per figure unit, 96 units to the inch (default 3.125: 300 dpi)")  # fmt: skip
    ex.set_defaults(run=_export)
    att = sub.add_parser("attention", help="tokens and attention for a text (or pair)")
    _text_args(att)
    att.add_argument("--layer", type=int, help="only this layer (default: all)")
    att.add_argument("--head", type=int, help="only this head (default: all)")
    att.add_argument("--words", action="store_true", help="merge word pieces into words")
    att.add_argument("--hide-special", action="store_true", help="drop [CLS]/[SEP] and renormalise rows")
    add_knobs(att, ROLLOUT_KNOBS)
    att.set_defaults(run=_attention)
    diag = sub.add_parser("diagnose", help="which heads matter, attention vs IG, faithfulness, sanity check")
    _text_args(diag)
    task_cli.add_request_args(diag)
    task_cli.add_target_args(diag)
    add_knobs(diag, IG_KNOBS)
    add_knobs(diag, AGREEMENT_KNOBS)
    diag.add_argument("--seed", type=int, default=0, help="of the random orders and the random weights (default 0)")
    diag.add_argument("--json", action="store_true", help="print JSON (the only format; kept for clarity)")
    diag.set_defaults(run=_diagnose)
    from explain.compare import cli as compare_cli
    from explain.corpus import cli as corpus_cli

    compare_cli.add_parser(sub)
    corpus_cli.add_parser(sub)
    for verb in sub.choices.values():  # `predict --model DIR` works as well as `--model DIR predict`
        _common_args(
            verb, model=argparse.SUPPRESS, pretty=argparse.SUPPRESS, device=argparse.SUPPRESS, task=argparse.SUPPRESS
        )
    return parser


def _common_args(parser: argparse.ArgumentParser, *, model: Any, pretty: Any, device: Any, task: Any) -> None:
    """``--model``, ``--pretty`` and ``--device``, before the verb (with the defaults) and after it (defaults
    suppressed, so a verb that is not given them keeps what was given before it)."""
    parser.add_argument(
        "--model",
        default=model,
        help="folder path, hub id, 'embedded' (sentiment) or 'embedded-ner' (default: embedded)",
    )
    parser.add_argument(
        "--task",
        default=task,
        choices=("auto", *(k.value for k in TaskKind)),
        help="run the model as this task (default auto: what its config says); see 'info'",
    )
    parser.add_argument("--pretty", action="store_true", default=pretty, help="indent the JSON")
    parser.add_argument(
        "--device",
        default=device,
        choices=DEVICE_CHOICES,
        help=f"where the model runs (default: ${DEVICE_ENV}, else auto = CUDA when torch sees one)",
    )


def _text_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--text", required=True, help="the text (segment A)")
    parser.add_argument("--text-b", default=None, help="optional segment B of a sentence pair")


def _bundle(ref: str, device: str | None, task: str | None = None) -> ModelBundle:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    policy = policy_from_env()
    source = resolve_source(ref, policy) if ref else default_source(policy)
    return load_bundle(source, device, task_kind(task))


def _info(bundle: ModelBundle, args: argparse.Namespace) -> dict[str, Any]:
    info = bundle.info
    return {
        "source": info.source,
        "family": info.family,
        "architecture": info.architecture,
        "layers": info.num_layers,
        "heads": info.num_heads,
        "hidden_size": info.hidden_size,
        "max_length": info.max_length,
        "labels": list(info.labels),
        "head_is_random": info.head_is_random,
        "parameters": info.num_parameters,
        "device": info.device,
        "task": info.task,
        "detected_task": info.detected_task,
        "can_run_as": list(info.tasks),
        "tasks_glimpse_supports": task_cli.task_listing(),
    }


def _attention(bundle: ModelBundle, args: argparse.Namespace) -> dict[str, Any]:
    encoding = prepare_input(bundle, args.text, args.text_b)
    result = run_attention(bundle, encoding)
    view = attention_view(result, hide_special=args.hide_special, merge_words=args.words)
    weights = view.weights
    if args.layer is not None:
        weights = weights[_index(args.layer, bundle.info.num_layers, "layer") : args.layer + 1]
    if args.head is not None:
        weights = weights[:, _index(args.head, bundle.info.num_heads, "head") : args.head + 1]
    rollout_settings = settings_from(RolloutSettings, ROLLOUT_KNOBS, args)
    joint = rollout(result.weights, rollout_settings.residual, rollout_settings.fusion)
    labels, relevance = rollout_relevance(joint, encoding, hide_special=args.hide_special, merge_words=args.words)
    return {
        "tokens": list(encoding.tokens),
        "labels": list(view.labels),
        "notices": list(encoding.notices),
        "dropped_tokens": encoding.n_dropped,
        "shape": {"layers": weights.shape[0], "heads": weights.shape[1], "seq": weights.shape[2]},
        "layers": list(range(bundle.info.num_layers)) if args.layer is None else [args.layer],
        "attention": np.round(weights.astype(np.float64), 6).tolist(),
        "rollout": {"labels": list(labels), "relevance": np.round(relevance.astype(np.float64), 6).tolist()},
        "forward_seconds": round(result.seconds, 4),
    }


def _index(value: int, size: int, name: str) -> int:
    if not 0 <= value < size:
        raise GlimpseError(f"--{name} {value} does not exist; this model has {name}s 0 to {size - 1}.")
    return value


def _predict(bundle: ModelBundle, args: argparse.Namespace) -> dict[str, Any]:
    return task_cli.predict_json(bundle, args)


def _attribute(bundle: ModelBundle, args: argparse.Namespace) -> dict[str, Any]:
    settings = settings_from(IGSettings, IG_KNOBS, args)
    return task_cli.attribute_json(bundle, args, settings, lambda b, e, r, s: _attribution(b, e, r, s, args.words))


def _attribution(
    bundle: ModelBundle, encoding: Encoding, r: AttributionResult, settings: IGSettings, words: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "tokens": list(encoding.tokens),
        "scores": [float(v) for v in r.scores],
        "grad_x_input": [float(v) for v in r.grad_x_input],
        "saliency": [float(v) for v in r.saliency],
        "target": r.target,
        "target_label": bundle.info.labels[r.target],
        "settings": {
            "output": settings.output,
            "baseline": settings.baseline.value,
            "method": "nested Clenshaw–Curtis on a warped path (explain.methods.quadrature)",
            "first_steps": settings.n_steps,
            "max_steps": settings.max_steps,
            "tolerance": settings.tolerance,
            "abs_floor": settings.abs_floor,
        },
        "steps": r.n_steps,
        "steps_tried": list(r.steps_tried),
        "forward_points": r.forward_points,
        "f_input": r.f_input,
        "f_baseline": r.f_baseline,
        "convergence_delta": r.convergence_delta,
        "relative_delta": r.relative_delta,
        "token_changes": [float(v) for v in r.token_changes],
        "token_error": r.token_error,
        "converged": r.converged,
        "seconds": round(r.seconds, 4),
        "notices": list(encoding.notices),
    }
    if words:
        labels, sums = word_scores(r.scores, encoding)
        out["words"] = {"labels": list(labels), "scores": [float(v) for v in sums]}
    return out


def _diagnose(bundle: ModelBundle, args: argparse.Namespace) -> dict[str, Any]:
    from explain.methods.diagnosis import diagnose

    prediction, choices = task_cli.chosen(bundle, args)
    choice = choices[0]  # one target: a diagnosis is of one output
    bundle, encoding = choice.view(bundle), choice.encoding
    agreement = settings_from(AgreementSettings, AGREEMENT_KNOBS, args)
    ig = replace(settings_from(IGSettings, IG_KNOBS, args), target=choice.target.column)
    d = diagnose(bundle, encoding, ig, agreement, seed=args.seed)
    a, imp, f, s = d.attribution, d.importance, d.faithfulness, d.sanity
    assert imp is not None and f is not None and s is not None and d.agreement is not None
    return {
        "task": prediction.task.value,
        "target_name": choice.target.name,
        "tokens": list(encoding.tokens),
        "target": a.target,
        "target_label": bundle.info.labels[a.target],
        "attribution": {"scores": _floats(a.scores), "relative_delta": a.relative_delta,
                        "token_error": a.token_error, "steps": a.n_steps, "converged": a.converged},
        "head_importance": {"delta_logit": _floats(imp.delta_logit),
                            "delta_probability": _floats(imp.delta_probability),
                            "gradient": _floats(imp.gradient), "rank_agreement": imp.rank_agreement,
                            "most_important": _top_heads(imp.delta_probability, 3, largest=False)},
        "agreement": {"method": d.agreement_method, "attention": _floats(d.agreement),
                      "norm_based": _floats(d.norm_agreement), "most_agreeing": _top_heads(d.agreement, 3)},
        "faithfulness": {"aopc": {m.name: {"comprehensiveness": m.comprehensiveness, "sufficiency": m.sufficiency}
                                  for m in (*f.methods, f.random)}, "best": f.best, "beats_random": f.beats_random,
                         "verdict": f.verdict},
        "sanity": {"steps": list(s.steps), "seed": s.settings.seed, "insensitive": list(s.insensitive),
                   "precision": s.precision,
                   "correlations": {m: _floats(s.correlations[:, i]) for i, m in enumerate(s.methods)}},
        "notices": list(encoding.notices),
    }  # fmt: skip


def _floats(values: np.ndarray | None) -> Any:
    """Nested lists of floats, NaN as null (JSON has no NaN)."""
    if values is None:
        return None
    return (
        [None if not np.isfinite(v) else float(v) for v in values]
        if values.ndim == 1
        else [_floats(row) for row in values]
    )


def _top_heads(values: np.ndarray, count: int, largest: bool = True) -> list[dict[str, Any]]:
    flat = np.where(np.isfinite(values), values, -np.inf if largest else np.inf).ravel()
    order = np.argsort(-flat if largest else flat, kind="stable")[:count]
    heads = values.shape[1]
    return [{"layer": int(i) // heads, "head": int(i) % heads, "value": float(flat[i])} for i in order]


def _evaluate(bundle: ModelBundle, args: argparse.Namespace) -> dict[str, Any]:
    if args.conll is not None:
        return _evaluate_conll(bundle, args.conll)
    if bundle.info.task != TaskKind.CLASSIFICATION:
        from explain.tasks.evaluation import evaluate_file

        return evaluate_file(bundle, args.tsv, task_cli.request_from(args)) | {
            "task": bundle.info.task,
            "model": bundle.info.source,
        }
    examples = read_labelled(args.tsv, bundle.info.labels)
    total = len(examples)

    result = evaluate(bundle, examples, on_batch=_progress_bar("evaluating", total))
    return {
        "accuracy": result.accuracy,
        "correct": result.correct,
        "total": result.total,
        "per_label": result.per_label,
        "confusion": result.confusion.tolist(),
        "labels": list(bundle.info.labels),
        "file": str(args.tsv),
        "model": bundle.info.source,
    }


def _evaluate_conll(bundle: ModelBundle, path: Path) -> dict[str, Any]:
    from explain.tasks.conll import evaluate_conll
    from explain.tasks.spans import read_conll

    total = len(read_conll(path))
    r = evaluate_conll(bundle, path, on_sentence=_progress_bar("tagging", total))
    s = r.scores
    return {
        "precision": s.precision, "recall": s.recall, "f1": s.f1, "gold_entities": s.support,
        "predicted_entities": s.predicted, "correct_entities": s.correct, "per_type": s.per_type,
        "sentences": r.sentences, "words": r.words, "truncated_sentences": r.truncated,
        "definition": "entity-level, micro-averaged, as seqeval's default (conlleval) mode",
        "file": str(path), "model": bundle.info.source,
    }  # fmt: skip


def _export(bundle: ModelBundle, args: argparse.Namespace) -> dict[str, Any]:
    if args.out.exists() and not args.out.is_dir():
        raise InputError(f"--out '{args.out}' is a file. Give a folder (it is created if missing).")
    from explain.batch_export import export_batch, read_inputs
    from explain.views.exports import DATA_FORMATS, FIGURE_FORMATS

    formats = [f.strip().lower() for f in args.formats.split(",") if f.strip()]
    unknown = sorted(set(formats) - set(FIGURE_FORMATS) - set(DATA_FORMATS))
    if unknown or not formats:
        raise GlimpseError(f"Unknown formats {unknown}. Available: {', '.join(FIGURE_FORMATS + DATA_FORMATS)}.")
    from explain.views.print_style import DEFAULT_SCALE, FigureStyle

    # checked before any work: a bad --scale stops here, not after the first row
    style = FigureStyle(args.figure_size, DEFAULT_SCALE if args.scale is None else args.scale)
    rows = read_inputs(args.input)
    return export_batch(bundle, rows, args.out, formats, on_row=_progress_bar("exporting", len(rows)), style=style)


def _progress_bar(what: str, total: int) -> Callable[[int], None]:
    def show(done: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        sys.stderr.write(f"\r{what} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show
