"""Benchmark: one two-sentence comparison (Compare page, `python -m explain compare`) over natural minimal pairs.

A comparison is two forward passes with attentions, the word alignment and the JS divergence map, and two
certified IG runs (default settings, the same class for both). The IG pair runs two ways, in the same
process, alternating which goes first from pair to pair so drift in machine load hits both alike:

- **many**: one ``attribute_many`` call: both inputs' paths share padded batches, each certified on its own;
- **two**: two ``attribute`` calls, one after the other.

``end to end`` is ``compare_sentences`` as the page and the CLI call it (with whichever the core uses).
Figures are the median and p90 over the pairs of ``bench/data/minimal_pairs.tsv`` (48 SST-2 dev sentences of
at most 32 tokens and their edits; rebuild with ``bench/data/minimal_pairs.py``), after a warm-up.

Run: .venv/bin/python bench/compare.py [--pairs 48] [--repeats 1]
Quiet machine wanted: other processes on the cores distort every figure (the load average is printed).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.data.minimal_pairs import read_pairs  # noqa: E402
from explain import ModelBundle, default_source, load_bundle, policy_from_env, prepare_input  # noqa: E402
from explain.compare import align_words, attention_divergence, compare_sentences  # noqa: E402
from explain.compare.sentences import prediction_of  # noqa: E402
from explain.methods.attention import run_attention  # noqa: E402
from explain.methods.attribution import IGSettings, attribute, attribute_many  # noqa: E402


def p90(values: list[float]) -> float:
    return float(np.percentile(values, 90))


def one_pair(bundle: ModelBundle, a: str, b: str, first: str) -> dict[str, float]:
    enc_a, enc_b = prepare_input(bundle, a), prepare_input(bundle, b)
    start = time.perf_counter()
    res_a, res_b = run_attention(bundle, enc_a), run_attention(bundle, enc_b)
    attention_divergence(res_a, res_b, align_words(enc_a, enc_b))
    forward = time.perf_counter() - start
    pa, pb = prediction_of(bundle, res_a), prediction_of(bundle, res_b)
    assert pa is not None and pb is not None
    settings = dataclasses.replace(IGSettings(), target=int(np.argmax(pa.probabilities + pb.probabilities)))
    runs = {
        "many": lambda: attribute_many(bundle, [enc_a, enc_b], settings),
        "two": lambda: [attribute(bundle, e, settings) for e in (enc_a, enc_b)],
    }
    order = ["many", "two"] if first == "many" else ["two", "many"]
    out: dict[str, float] = {"forward": forward, "tokens": float(max(enc_a.n_tokens, enc_b.n_tokens))}
    results = {}
    for name in order:
        start = time.perf_counter()
        results[name] = runs[name]()
        out[name] = time.perf_counter() - start
    pairs = zip(results["many"], results["two"], strict=True)
    out["diff"] = max(float(np.abs(m.scores - t.scores).max()) for m, t in pairs)
    start = time.perf_counter()
    compare_sentences(bundle, enc_a, enc_b)
    out["end_to_end"] = time.perf_counter() - start
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=1, help="passes over the pairs (figures pool them)")
    args = parser.parse_args()
    bundle = load_bundle(default_source(policy_from_env({}), {}))
    pairs = read_pairs()[: args.pairs]
    load_before = os.getloadavg()
    one_pair(bundle, "A warm-up sentence for every kernel.", "A warm-up sentence for no kernel.", "many")
    rows = []
    for r in range(args.repeats):
        for i, (a, b, _rule, _detail) in enumerate(pairs):
            rows.append(one_pair(bundle, a, b, "many" if (i + r) % 2 == 0 else "two"))
    load_after = os.getloadavg()
    report(rows, load_before, load_after)


def report(rows: list[dict[str, float]], before: tuple[float, ...], after: tuple[float, ...]) -> None:
    print(f"{len(rows)} comparisons; tokens per side: median {statistics.median(r['tokens'] for r in rows):.0f}, "
          f"max {max(r['tokens'] for r in rows):.0f}; torch threads {__import__('torch').get_num_threads()}; "
          f"load average before {before[0]:.2f}, after {after[0]:.2f} ({os.cpu_count()} cores)")  # fmt: skip
    print("\n| step | median s | p90 s |\n|---|---|---|")
    names = {"forward": "2 forward passes + alignment + divergence", "many": "IG of both: one attribute_many",
             "two": "IG of both: two attribute calls", "end_to_end": "compare_sentences, end to end"}  # fmt: skip
    for key, label in names.items():
        values = [r[key] for r in rows]
        print(f"| {label} | {statistics.median(values):.3f} | {p90(values):.3f} |")
    ratio = [r["many"] / r["two"] for r in rows]
    faster = sum(r["many"] < r["two"] for r in rows)
    diff = max(r["diff"] for r in rows)
    print(f"\nattribute_many / two attribute calls: median {statistics.median(ratio):.2f}, p90 {p90(ratio):.2f}; "
          f"many faster on {faster} of {len(rows)} pairs; max |score difference| {diff:.1e}")  # fmt: skip


if __name__ == "__main__":
    main()
