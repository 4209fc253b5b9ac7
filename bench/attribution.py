"""Benchmark: Glimpse's certified IG vs naive Captum defaults, same model, same sentences.

For 16/32/64/128/256/512 tokens of natural text (SST-2 dev sentences in file order) on the default
model (logit of the predicted class, [PAD] baseline):
- ours: ``explain.attribute`` with its defaults (midpoint rule from 8 steps, raised until the
  relative completeness gap is <= 1%, chunked, sdpa twin), timed including the certification;
- naive: Captum ``LayerIntegratedGradients`` on ``model.<base>.embeddings`` of an eager model whose
  parameters keep ``requires_grad=True``, Captum's defaults (gausslegendre, 50 steps, one batch),
  ``return_convergence_delta=True``.
Each (method, length) runs in a fresh process so its peak RSS (above the loaded model) is its own.
Prints medians, the speed-up ratio, steps used, relative delta and memory, as a Markdown table, and the
max difference from Captum's reference at identical settings.

Run: .venv/bin/python bench/attribution.py [--reps 3] [--lengths 16 32 64 128 256 512]
Quiet machine wanted: other processes on the 2 cores distort every figure.
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LENGTHS = (16, 32, 64, 128, 256, 512)
DEV = ROOT.parent / "shared" / "data" / "sst2" / "dev.tsv"


def text_of(bundle: object, n_tokens: int) -> str:
    """Natural text of exactly ``n_tokens`` tokens: SST-2 dev sentences in file order, cut at a word."""
    lines = DEV.read_text(encoding="utf-8").splitlines()[1:]
    words = " ".join(line.rsplit("\t", 1)[0].strip() for line in lines).split()
    tok = bundle.tokenizer  # type: ignore[attr-defined]
    lo, hi = 1, min(len(words), 4 * n_tokens)
    while lo < hi:  # the longest prefix of words that fits
        mid = (lo + hi + 1) // 2
        if len(tok(" ".join(words[:mid]))["input_ids"]) <= n_tokens:
            lo = mid
        else:
            hi = mid - 1
    text = " ".join(words[:lo])
    if len(tok(text)["input_ids"]) < n_tokens:  # a word of several pieces overshot: pad with a one-piece word
        text += " ." * (n_tokens - len(tok(text)["input_ids"]))
    return text


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def worker(method: str, n_tokens: int, reps: int) -> dict[str, object]:
    import torch
    from captum.attr import LayerIntegratedGradients

    import explain
    from explain.methods.attribution import Baseline, baseline_ids

    bundle = explain.load_bundle(explain.default_source(explain.policy_from_env()))  # GLIMPSE_DEFAULT_MODEL to override
    enc = explain.prepare_input(bundle, text_of(bundle, n_tokens))
    assert enc.n_tokens == n_tokens, enc.n_tokens
    short = explain.prepare_input(bundle, "warm up")
    out: dict[str, object] = {"method": method, "tokens": n_tokens}
    if method == "ours":
        explain.attribute(bundle, short)
        rss0 = _rss_mib()
        times, results = [], []
        for _ in range(reps):
            start = time.perf_counter()
            results.append(explain.attribute(bundle, enc))
            times.append(time.perf_counter() - start)
        r = results[-1]
        out |= {"steps": r.n_steps, "tried": list(r.steps_tried), "rel_delta": r.relative_delta}
        if n_tokens in (16, 128):  # Captum's reference at identical settings
            settings = explain.IGSettings(n_steps=r.n_steps, max_steps=r.n_steps, method=r.settings.method)
            mine = explain.attribute(bundle, enc, settings).scores
            model = bundle.model
            ids = torch.from_numpy(enc.input_ids)[None]
            base = torch.from_numpy(baseline_ids(bundle, enc, Baseline.PAD))[None]
            ref = LayerIntegratedGradients(lambda x: model(input_ids=x).logits, model.get_input_embeddings())
            ref_attr = ref.attribute(ids, baselines=base, target=r.target, n_steps=r.n_steps, method=r.settings.method)
            ref_scores = ref_attr[0].sum(-1).numpy()
            out["ref_diff"] = float(abs(ref_scores - mine).max() / abs(ref_scores).max())
    else:
        model = copy.deepcopy(bundle.model).requires_grad_(True)  # as from_pretrained leaves it
        embeddings = getattr(model, model.base_model_prefix).embeddings
        ids = torch.from_numpy(enc.input_ids)[None]
        base = torch.from_numpy(baseline_ids(bundle, enc, Baseline.PAD))[None]
        lig = LayerIntegratedGradients(lambda x: model(input_ids=x).logits, embeddings)
        with torch.no_grad():
            target = int(model(input_ids=ids).logits.argmax())
        s_ids = torch.from_numpy(short.input_ids)[None]
        lig.attribute(s_ids, baselines=torch.zeros_like(s_ids), target=target, n_steps=8)
        rss0 = _rss_mib()
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            _attr, delta = lig.attribute(ids, baselines=base, target=target, return_convergence_delta=True)
            times.append(time.perf_counter() - start)
        with torch.no_grad():
            gap = float(model(input_ids=ids).logits[0, target] - model(input_ids=base).logits[0, target])
        out |= {"steps": 50, "tried": [50], "rel_delta": abs(float(delta[0])) / max(abs(gap), 0.01)}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out |= {"median_s": statistics.median(times), "times": times, "extra_mib": peak - rss0, "loaded_mib": rss0}
    return out


def run_worker(method: str, n_tokens: int, reps: int) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", method, str(n_tokens), str(reps)],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--lengths", type=int, nargs="+", default=list(LENGTHS))
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        method, n, reps = args.worker
        print(json.dumps(worker(method, int(n), int(reps))))
        return
    print(f"medians of {args.reps} runs (naive at 512 tokens: 1 run); logit of the predicted class, [PAD] baseline")
    print("| tokens | ours s | naive Captum s | speed-up | ours steps (tried) | ours rel. δ | naive rel. δ "
          "| ours MiB above model | naive MiB above model | vs Captum ref. |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in args.lengths:
        ours = run_worker("ours", n, args.reps)
        naive = run_worker("naive", n, 1 if n >= 512 else args.reps)
        ratio = float(naive["median_s"]) / float(ours["median_s"])  # type: ignore[arg-type]
        ref = f"{ours['ref_diff']:.1e} x max" if "ref_diff" in ours else "-"
        print(
            f"| {n} | {ours['median_s']:.3f} | {naive['median_s']:.2f} | {ratio:.1f}x "
            f"| {ours['steps']} {ours['tried']} | {ours['rel_delta']:.2%} | {naive['rel_delta']:.1e} "
            f"| {ours['extra_mib']:.0f} | {naive['extra_mib']:.0f} | {ref} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
