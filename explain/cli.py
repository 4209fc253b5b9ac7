"""``python -m explain``: the core over the command line, printing JSON, offline by default.

Subcommands grow with the app; each prints one JSON document on stdout and errors (with the fix)
on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from explain.attention import HeadFusion, attention_view, rollout, rollout_relevance, run_attention
from explain.errors import GlimpseError
from explain.inputs import prepare_input
from explain.models import ModelBundle, load_bundle
from explain.sources import default_source, policy_from_env, resolve_source


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        bundle = _bundle(args.model)
        out = args.run(bundle, args)
    except GlimpseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1 if args.pretty else None)
    sys.stdout.write("\n")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m explain", description="Glimpse's core, printing JSON.")
    parser.add_argument("--model", default="", help="folder path or hub id (default: the embedded model)")
    parser.add_argument("--pretty", action="store_true", help="indent the JSON")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    info = sub.add_parser("info", help="what the model is: family, layers, heads, maximum length, labels")
    info.set_defaults(run=_info)
    att = sub.add_parser("attention", help="tokens and attention for a text (or pair)")
    _text_args(att)
    att.add_argument("--layer", type=int, help="only this layer (default: all)")
    att.add_argument("--head", type=int, help="only this head (default: all)")
    att.add_argument("--words", action="store_true", help="merge word pieces into words")
    att.add_argument("--hide-special", action="store_true", help="drop [CLS]/[SEP] and renormalise rows")
    att.add_argument("--residual", type=float, default=0.5, help="rollout residual weight (default 0.5)")
    att.add_argument("--fusion", choices=[f.value for f in HeadFusion], default="mean", help="rollout head fusion")
    att.set_defaults(run=_attention)
    return parser


def _text_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--text", required=True, help="the text (segment A)")
    parser.add_argument("--text-b", default=None, help="optional segment B of a sentence pair")


def _bundle(ref: str) -> ModelBundle:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    policy = policy_from_env()
    source = resolve_source(ref, policy) if ref else default_source(policy)
    return load_bundle(source)


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
    joint = rollout(result.weights, args.residual, HeadFusion(args.fusion))
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
