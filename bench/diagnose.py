"""Benchmark: the Diagnose page's computations (and ``python -m explain diagnose``) over natural sentences.

Inputs: SST-2 dev sentences in file order whose embedded-model encoding has 24 to 40 tokens (the issue's
"32 tokens"), the first ``--sentences`` of them (default 48). Each figure is the median and p90 over them,
after a warm-up. No constant here was tuned on these sentences.

Steps timed, one after another on the same input:

- **ablation map**: every head removed alone, as one batched call (``head_importance``'s ablation part);
- **naive ablation map**: the same 72 numbers as 72 separate ``ablate`` calls (one forward pass each), in the
  same run, so the batching's gain is measured, not assumed; the largest difference between the two maps is
  printed (they must agree);
- **gradient map**: |∂f/∂mask| from one backward pass (``head_importance``'s gradient part);
- **agreement maps**: Spearman between every head's [CLS] row and |IG|, raw and norm-based attention;
- **faithfulness**: deletion and insertion curves and AOPC for every method, with 10 random orders;
- **sanity**: the cascading weight randomisation, IG and gradient × input re-explained per step;
- **diagnose, end to end**: ``diagnose()`` as the CLI calls it (IG included), and its cost in the issue's
  unit: naive Captum IG runs (LayerIntegratedGradients, its defaults: 50 Gauss–Legendre steps) of the same
  model and text, timed in the same run (target ≤ 6 on the embedded model).

Run: .venv/bin/python bench/diagnose.py [--sentences 48] [--skip-naive]
Quiet machine wanted: other processes on the cores distort every figure (the load average is printed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.data.minimal_pairs import dev_sentences  # noqa: E402
from explain import ModelBundle, default_source, load_bundle, policy_from_env, prepare_input  # noqa: E402
from explain.inputs import Encoding  # noqa: E402
from explain.methods import ablation, faithfulness, sanity  # noqa: E402
from explain.methods.agreement import AgreementSettings, head_agreement  # noqa: E402
from explain.methods.attention import run_attention  # noqa: E402
from explain.methods.attribution import IGSettings, attribute  # noqa: E402
from explain.methods.diagnosis import diagnose  # noqa: E402
from explain.methods.norms import norm_attention, value_norms  # noqa: E402

TARGETS = {"ablation map": 1.0, "gradient map": 0.2}


def sentences(bundle: ModelBundle, count: int, low: int = 24, high: int = 40) -> list[tuple[str, Encoding]]:
    picked = []
    for text in dev_sentences():
        enc = prepare_input(bundle, text)
        if low <= enc.n_tokens <= high:
            picked.append((text, enc))
        if len(picked) == count:
            break
    return picked


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def one(bundle: ModelBundle, text: str, enc: Encoding, naive: bool, captum: Any) -> dict[str, float]:
    attention = run_attention(bundle, enc)
    result = attribute(bundle, enc, IGSettings(), logits=attention.logits)
    target = result.target
    importance = ablation.head_importance(bundle, enc, target=target)
    out = {"tokens": float(enc.n_tokens), "ablation map": importance.ablation_seconds,
           "gradient map": importance.gradient_seconds}  # fmt: skip
    if naive:
        layers, heads = bundle.info.num_layers, bundle.info.num_heads
        start = time.perf_counter()
        naive_map = np.array(
            [[ablation.ablate(bundle, enc, [(la, h)], target=target).delta_logit for h in range(heads)]
             for la in range(layers)]
        )  # fmt: skip
        out["naive ablation map"] = time.perf_counter() - start
        out["map difference"] = float(np.abs(naive_map - importance.delta_logit).max())

    def both_maps() -> None:
        normed = norm_attention(attention.weights, value_norms(bundle, enc))
        head_agreement(attention.weights, result.scores, enc, AgreementSettings())
        head_agreement(normed, result.scores, enc, AgreementSettings())

    _, out["agreement maps"] = timed(both_maps)
    scores = faithfulness.method_scores(result, attention)
    settings = faithfulness.FaithfulnessSettings(baseline=result.settings.baseline)
    _, out["faithfulness"] = timed(lambda: faithfulness.faithfulness(bundle, enc, target, scores, settings))
    _, out["sanity"] = timed(lambda: sanity.sanity_check(bundle, enc, target, ig=IGSettings()))
    _, out["diagnose, end to end"] = timed(lambda: diagnose(bundle, enc))
    _, out["naive Captum IG (50 steps)"] = timed(lambda: captum(text, target))
    out["diagnose / naive IG"] = out["diagnose, end to end"] / out["naive Captum IG (50 steps)"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=48)
    parser.add_argument("--skip-naive", action="store_true", help="leave out the 72-call naive ablation map")
    args = parser.parse_args()
    from bench.sizes import Naive

    bundle = load_bundle(default_source(policy_from_env({}), {}))
    captum = Naive(bundle)
    encodings = sentences(bundle, args.sentences)
    before = os.getloadavg()
    warm = "A warm-up sentence, long enough to touch every kernel once or twice."
    one(bundle, warm, prepare_input(bundle, warm), True, captum)
    rows = [one(bundle, text, enc, not args.skip_naive, captum) for text, enc in encodings]
    after = os.getloadavg()
    tokens = [r["tokens"] for r in rows]
    import torch

    print(f"{len(rows)} SST-2 dev sentences, tokens: median {statistics.median(tokens):.0f}, "
          f"min {min(tokens):.0f}, max {max(tokens):.0f}; {bundle.info.num_layers}x{bundle.info.num_heads} heads; "
          f"torch threads {torch.get_num_threads()}; load average before {before[0]:.2f}, after {after[0]:.2f} "
          f"({os.cpu_count()} cores)")  # fmt: skip
    print("\n| step | median s | p90 s | target |\n|---|---|---|---|")
    for key in rows[0]:
        if key in ("tokens", "map difference"):
            continue
        values = [r[key] for r in rows]
        target = f"≤ {TARGETS[key]} s" if key in TARGETS else ""
        if key == "diagnose / naive IG":
            print(f"| diagnose, in naive IG runs | {statistics.median(values):.2f}× | {np.percentile(values, 90):.2f}× "
                  "| ≤ 6× |")  # fmt: skip
            continue
        print(f"| {key} | {statistics.median(values):.3f} | {np.percentile(values, 90):.3f} | {target} |")
    if not args.skip_naive:
        gain = [r["naive ablation map"] / r["ablation map"] for r in rows]
        worst = max(r["map difference"] for r in rows)
        print(f"\nbatched ablation map vs 72 separate passes: {statistics.median(gain):.1f}x faster (median), "
              f"largest |Δ logit| difference between the two maps {worst:.1e}")  # fmt: skip


if __name__ == "__main__":
    main()
