"""``python -m explain compare``: two sentences on one model, or one text on two models, as JSON.

``explain/cli.py`` wires it in with :func:`add_parser` (which sets ``run``); the first model is the
``--model`` (before or after the verb; or the default), loaded there, and reaches :func:`run` as ``bundle``.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

import numpy as np

from explain.compare.alignment import Alignment
from explain.compare.attribution import WordDelta, largest_changes
from explain.compare.divergence import HeadSimilarity, RankedHead
from explain.compare.edits import Edit, EditRule, suggest_edit
from explain.compare.models import ModelComparisonResult, compare_models, load_second_model
from explain.compare.sentences import Prediction, SentenceComparisonResult, compare_sentences
from explain.errors import InputError
from explain.inputs import prepare_input
from explain.knobs import add_knobs, settings_from
from explain.methods.attribution import IG_KNOBS, AttributionResult, IGSettings
from explain.models.loading import ModelBundle

DESCRIPTION = """\
Two sentences on one model (a minimal pair):
  compare --text "The movie was good." --text-b "The movie was not good."
  compare --text "The movie was good." --edit            (B made from A: negation, antonym or gender swap)
Sentence pairs (NLI): each side is a pair; --pair-a is the second segment of A, --pair-b that of B:
  compare --text "A man sleeps." --pair-a "He rests." --text-b "A man runs." --pair-b "He rests."
One text on two models (the first is --model, or the default; the second is --model-b):
  compare --text "The movie was good." --model-b ./other-model
Every Δ is B − A. With --target unset, both sides explain one class: the larger p(A) + p(B) (two models
with different classes: each its own prediction)."""


def add_parser(subparsers: Any) -> None:
    """Add the ``compare`` verb to ``python -m explain``'s subparsers (``run`` is set as its default)."""

    parser = subparsers.add_parser(
        "compare", help="two sentences on one model, or one text on two models (predictions, Δ IG, heads)",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--text", required=True, help="sentence A (the text, for two models)")
    parser.add_argument("--text-b", default=None, help="sentence B: the second sentence of the comparison")
    parser.add_argument("--pair-a", default=None, help="second segment of A, when A is a sentence pair (NLI)")
    parser.add_argument("--pair-b", default=None, help="second segment of B, when B is a sentence pair (NLI)")
    parser.add_argument("--edit", nargs="?", const="auto", default=None, choices=["auto", *EditRule],
                        help="make B from A by a rule instead of --text-b (auto: the first that applies, "
                             "in the order negation, antonym, gender)")  # fmt: skip
    parser.add_argument("--model-b", dest="model_b", default=None, metavar="M",
                        help="compare this second model (folder path, hub id or 'embedded') on --text")  # fmt: skip
    parser.add_argument("--no-attribution", action="store_true", help="skip IG (attention and predictions only)")
    add_knobs(parser, IG_KNOBS)
    parser.add_argument("--json", action="store_true", help="print JSON (the only format; kept for clarity)")
    parser.set_defaults(run=run)


def run(bundle: ModelBundle, args: argparse.Namespace) -> dict[str, Any]:
    """The ``compare`` verb: a JSON-ready dict (see :func:`sentences_json` and :func:`models_json`)."""

    settings: IGSettings = settings_from(IGSettings, IG_KNOBS, args)
    if args.model_b is not None:
        if args.text_b is not None or args.edit is not None or args.pair_b is not None:
            raise InputError(
                "With --model-b, both models read one text: drop --text-b/--edit/--pair-b (give a pair's second "
                "segment with --pair-a), or drop --model-b to compare two sentences on one model."
            )
        second = load_second_model(args.model_b, device=bundle.device.type)
        return models_json(
            compare_models(bundle, second, args.text, args.pair_a, settings, attribution=not args.no_attribution)
        )
    text_b, edit = _sentence_b(args)
    encoding_a = prepare_input(bundle, args.text, args.pair_a)
    pair_b = args.pair_b if args.pair_b is not None or edit is None else args.pair_a
    encoding_b = prepare_input(bundle, text_b, pair_b)
    compared = compare_sentences(bundle, encoding_a, encoding_b, settings, attribution=not args.no_attribution)
    return sentences_json(compared, edit)


def _sentence_b(args: argparse.Namespace) -> tuple[str, Edit | None]:
    if args.text_b is not None and args.edit is not None:
        raise InputError("Give sentence B with --text-b or make it with --edit, not both.")
    if args.text_b is not None:
        return args.text_b, None
    if args.edit is None:
        raise InputError(
            "Two sentences need a sentence B: give it with --text-b, or --edit to make one from A "
            "(or --model-b M to compare two models on one text)."
        )
    edit = suggest_edit(args.text, None if args.edit == "auto" else args.edit)
    return edit.text, edit


def sentences_json(result: SentenceComparisonResult, edit: Edit | None = None) -> dict[str, Any]:
    al = result.alignment
    ig = (result.attribution_a, result.attribution_b)
    return {
        "mode": "sentences",
        "model": result.model,
        "a": _side(al, "a", result.prediction_a),
        "b": _side(al, "b", result.prediction_b),
        "edit": None if edit is None else {"rule": edit.rule.value, "detail": edit.detail},
        "delta_probability": _by_label(result.prediction_a, result.delta_probability),
        "explained_class": _label(result.prediction_a, result.target),
        **_words_json(al, result.words),
        "divergence": {
            "measure": "Jensen–Shannon divergence in bits (0 = same attention, 1 = disjoint), word-merged attention "
            "restricted to the words both sentences share (specials included), mean over shared query words",
            "shape": {"layers": result.divergence.shape[0], "heads": result.divergence.shape[1]},
            "map": _floats(result.divergence),
        },
        "top_heads": [_head(h, "divergence") for h in result.top_heads],
        "ig": _ig(ig),
        "notes": list(result.notes),
    }


def models_json(result: ModelComparisonResult) -> dict[str, Any]:
    al, sim = result.alignment, result.similarity
    layers, heads = sim.best_layer.shape
    return {
        "mode": "models",
        "text": al.encoding_a.text,
        "pair": al.encoding_a.text_b,
        "a": {"model": result.model_a, **_side(al, "a", result.prediction_a)},
        "b": {"model": result.model_b, **_side(al, "b", result.prediction_b)},
        "tokenizers_differ": result.tokenizers_differ,
        "delta_probability": _by_label(result.prediction_a, result.delta_probability),
        "explained_class": {
            "a": _label(result.prediction_a, result.target_a),
            "b": _label(result.prediction_b, result.target_b),
        },
        **_words_json(al, result.words),
        "head_similarity": {
            "measure": "Pearson r of word-merged attention matrices (specials included, flattened) over the words "
            "both models read; for each head of A, the head of B with the largest r",
            "shape_a": dict(zip(("layers", "heads"), sim.best_layer.shape, strict=True)),
            "shape_b": dict(zip(("layers", "heads"), sim.correlation.shape[2:], strict=True)),
            "best": [[_match(sim, layer, head) for head in range(heads)] for layer in range(layers)],
        },
        "top_heads": [_match(sim, h.layer, h.head) for h in result.least_matched],
        "top_heads_are": "the heads of A whose best match in B is weakest (least alike across the models)",
        "ig": _ig((result.attribution_a, result.attribution_b)),
        "notes": list(result.notes),
    }


def _side(al: Alignment, side: str, prediction: Prediction | None) -> dict[str, Any]:
    enc = al.encoding_a if side == "a" else al.encoding_b
    out: dict[str, Any] = {"text": enc.text, "pair": enc.text_b, "tokens": list(enc.tokens)}
    if prediction is None:
        return {**out, "prediction": None}
    probs = {name: round(float(p), 6) for name, p in zip(prediction.labels, prediction.probabilities, strict=True)}
    return {**out, "prediction": {"label": prediction.label, "label_id": prediction.label_id, "probabilities": probs}}


def _words_json(al: Alignment, words: WordDelta | None) -> dict[str, Any]:
    rows = []
    for i, row in enumerate(al.rows):
        item: dict[str, Any] = {
            "a": al.word_a(row),
            "b": al.word_b(row),
            "op": row.op.value,
            "segment": row.segment,
            "pieces_a": al.pieces_a(row).tolist(),
            "pieces_b": al.pieces_b(row).tolist(),
        }
        if words is not None:
            item["attribution_a"] = float(words.scores_a[i])
            item["attribution_b"] = float(words.scores_b[i])
            item["delta"] = float(words.delta[i])
        rows.append(item)
    largest = [] if words is None else [rows[i] for i in largest_changes(words)]
    return {
        "words": rows,
        "color_limit": None if words is None else words.limit,
        "largest_delta": [{k: r[k] for k in ("a", "b", "op", "delta")} for r in largest],
    }


def _ig(results: tuple[AttributionResult | None, AttributionResult | None]) -> dict[str, Any] | None:
    if results[0] is None or results[1] is None:
        return None
    return {side: _certificate(r) for side, r in zip("ab", results, strict=True) if r is not None}


def _certificate(r: AttributionResult) -> dict[str, Any]:
    return {
        "target": r.target,
        "converged": r.converged,
        "relative_delta": r.relative_delta,
        "token_error": r.token_error,
        "steps": r.n_steps,
        "seconds": round(r.seconds, 4),
        "settings": {k: getattr(v, "value", v) for k, v in dataclasses.asdict(r.settings).items()},
    }


def _by_label(prediction: Prediction | None, delta: np.ndarray | None) -> dict[str, float] | None:
    if prediction is None or delta is None:
        return None
    return {name: float(d) for name, d in zip(prediction.labels, delta, strict=True)}


def _label(prediction: Prediction | None, target: int | None) -> str | None:
    return None if prediction is None or target is None else prediction.labels[target]


def _head(h: RankedHead, name: str) -> dict[str, Any]:
    return {"layer": h.layer, "head": h.head, name: h.value}


def _match(sim: HeadSimilarity, layer: int, head: int) -> dict[str, Any]:
    r = float(sim.best_correlation[layer, head])
    return {"layer": layer, "head": head, "best_layer": int(sim.best_layer[layer, head]),
            "best_head": int(sim.best_head[layer, head]), "correlation": None if np.isnan(r) else r}  # fmt: skip


def _floats(values: np.ndarray) -> list[Any]:
    return [[None if np.isnan(v) else float(v) for v in row] for row in values]
