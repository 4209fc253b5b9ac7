"""Benchmark: certified IG on the sentences people type and on windows of natural text, against naive Captum.

Every figure is a distribution (median and p90) over many natural inputs, each run by three methods in
the same process, one after another:

- **ours**: ``explain.attribute`` with its defaults (warped nested Clenshaw–Curtis, first try 25 points,
  certified when the completeness gap δ *and* the accepted level's per-token error estimate are both
  ≤ 1%), timed with the certification and the forward-only prepass;
- **naive**: Captum ``LayerIntegratedGradients`` with its defaults (Gauss–Legendre, 50 steps, one batch)
  on the model's embeddings module of an eager model whose parameters keep ``requires_grad=True``, as a
  notebook would run it;
- **reference**: Captum LIG, Gauss–Legendre with many points (256 for sentences, 128 for windows),
  converged (its own relative δ is printed), for the error of ours: max |ours − reference| per token
  relative to max |reference|.

It also times Captum fed our final points and weights through ``IntegratedGradients._attribute`` (the
only way to give it custom points): once with the accepted level alone (as if known in advance) and
level by level, since Captum returns only a weighted sum and cannot reuse a level's gradients when the
next level weights them differently.

Data, and which is which:

- *tuning* (used to choose the schedule's constants: prepass points, warp floor and width, first try,
  and the error estimate's ``TAIL_SAFETY``): SST-2 **train** sentences of at least 8 words, the first
  160 in file order (the integrand at 257 points per sentence, every schedule simulated on it); the
  table's tuning row is the first 40 of them;
- *validation* (never used for tuning): SST-2 **dev** sentences of at most 32 tokens (first 40 in file
  order), 40 reviews written for this benchmark (``bench/data/reviews.txt``), and 12 random windows of
  SST-2 dev text per length (16–512 tokens, seed 0).

``--validate N`` checks the certificate itself on the first N SST-2 **dev** sentences in file order,
whole (validation: never used for tuning), against Gauss–Legendre at 256 points (its own relative δ
printed): how many are certified, how many needed more than the first level (escalations), how many
were certified although the true per-token error (max |ours − reference| / max |reference|) is above
the tolerance (certified-but-wrong: must be 0), the worst true error, and ours vs naive Captum timed
in the same run (median, p90).

Run: .venv/bin/python bench/attribution.py [--windows 12] [--lengths 16 32 64 128 256 512] [--quick]
     .venv/bin/python bench/attribution.py --validate 200 --threads 1
Quiet machine wanted: other processes on the 2 cores distort every figure.
"""

from __future__ import annotations

import argparse
import copy
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data" / "sst2"
LENGTHS = (16, 32, 64, 128, 256, 512)


def _sentences(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").split("\n")[1:]
    return [line.rsplit("\t", 1)[0].strip() for line in lines if line.strip()]


def tuning_set() -> list[str]:
    return [s for s in _sentences(SHARED / "train.tsv") if len(s.split()) >= 8][:40]


def dev_set(bundle: Any, limit: int = 32) -> list[str]:
    return [s for s in _sentences(SHARED / "dev.tsv") if len(bundle.tokenizer(s)["input_ids"]) <= limit][:40]


def own_set() -> list[str]:
    return [line.strip() for line in (ROOT / "bench" / "data" / "reviews.txt").read_text().split("\n") if line.strip()]


def windows(bundle: Any, n_tokens: int, count: int, seed: int = 0, data: Path = SHARED / "dev.tsv") -> list[str]:
    """``count`` windows of exactly ``n_tokens`` tokens of SST-2 dev text, starting at random words."""
    words = " ".join(_sentences(data)).split()
    rng = random.Random(seed * 1000 + n_tokens)
    out = []
    for _ in range(count):
        start = rng.randrange(0, len(words) - 4 * n_tokens)
        lo, hi = 1, 4 * n_tokens
        while lo < hi:  # the longest run of words from ``start`` that fits
            mid = (lo + hi + 1) // 2
            if len(bundle.tokenizer(" ".join(words[start : start + mid]))["input_ids"]) <= n_tokens:
                lo = mid
            else:
                hi = mid - 1
        text = " ".join(words[start : start + lo])
        short = n_tokens - len(bundle.tokenizer(text)["input_ids"])
        out.append(text + " ." * short)  # a word of several pieces overshot: pad with one-piece words
    return out


@dataclass
class Row:
    tokens: int
    ours_s: float
    naive_s: float
    steps: int
    certified: bool
    error: float  # max |ours - reference| / max |reference|
    certificate: float  # ours' per-token error
    ref_rel_delta: float
    captum_final_s: float = float("nan")
    captum_levels_s: float = float("nan")


class Methods:
    def __init__(self) -> None:
        import explain

        self.explain = explain
        self.bundle = explain.load_bundle(explain.default_source(explain.policy_from_env({}), {}))
        self.naive_model = copy.deepcopy(self.bundle.model).requires_grad_(True)  # as from_pretrained leaves it
        self.warm()

    def warm(self) -> None:
        enc = self.explain.prepare_input(self.bundle, "A warm-up sentence for every kernel.")
        self.ours(enc)
        self.naive(enc, 0)

    def ours(self, enc: Any) -> tuple[Any, float]:
        start = time.perf_counter()
        result = self.explain.attribute(self.bundle, enc)
        return result, time.perf_counter() - start

    def _lig(self, model: Any) -> Any:
        from captum.attr import LayerIntegratedGradients

        embeddings = getattr(model, model.base_model_prefix).embeddings
        return LayerIntegratedGradients(lambda x: model(input_ids=x).logits, embeddings)

    def _ids(self, enc: Any) -> tuple[torch.Tensor, torch.Tensor]:
        from explain.methods.attribution import Baseline, baseline_ids

        ids = torch.tensor(enc.input_ids)[None]
        return ids, torch.tensor(baseline_ids(self.bundle, enc, Baseline.PAD))[None]

    def naive(self, enc: Any, target: int) -> float:
        ids, base = self._ids(enc)
        start = time.perf_counter()
        self._lig(self.naive_model).attribute(ids, baselines=base, target=target, return_convergence_delta=True)
        return time.perf_counter() - start

    def reference(self, enc: Any, target: int, n_steps: int) -> tuple[np.ndarray, float]:
        """Converged Captum LIG on the word embeddings (the layer ours integrates), and its relative δ."""
        ids, base = self._ids(enc)
        model = self.bundle.model
        from captum.attr import LayerIntegratedGradients

        lig = LayerIntegratedGradients(lambda x: model(input_ids=x).logits, model.get_input_embeddings())
        batch = max(n_steps, 4096 // enc.n_tokens)
        attr, delta = lig.attribute(ids, baselines=base, target=target, n_steps=n_steps, internal_batch_size=batch,
                                    return_convergence_delta=True)  # fmt: skip
        with torch.no_grad():
            gap = float(model(input_ids=ids).logits[0, target] - model(input_ids=base).logits[0, target])
        return attr[0].sum(-1).double().numpy(), abs(float(delta[0])) / max(abs(gap), 0.01)

    def captum_same_points(self, enc: Any, result: Any) -> tuple[float, float]:
        """Captum's IG fed our points and weights: the accepted level alone, and every level in turn."""
        from captum.attr import IntegratedGradients

        from explain.methods import quadrature

        model, ids, base = self.bundle.hooked_model, *self._ids(enc)
        emb = model.get_input_embeddings()
        with torch.no_grad():
            x, b = emb(ids), emb(base)
        ig = IntegratedGradients(lambda e: model(inputs_embeds=e).logits)
        warp = quadrature.warp_from_outputs(result.path_alphas, result.path_outputs)
        levels = quadrature.levels(warp, result.steps_tried)

        def run(level: Any) -> float:
            start = time.perf_counter()
            ig._attribute((x,), (b,), target=result.target, n_steps=len(level.alphas),
                          step_sizes_and_alphas=(level.weights.tolist(), level.alphas.tolist()))  # fmt: skip
            return time.perf_counter() - start

        return run(levels[-1]), sum(run(level) for level in levels[1:])


def measure(m: Methods, texts: list[str], ref_steps: int, captum_points: bool = False) -> list[Row]:
    rows = []
    for text in texts:
        enc = m.explain.prepare_input(m.bundle, text)
        result, ours_s = m.ours(enc)
        naive_s = m.naive(enc, result.target)
        ref, ref_delta = m.reference(enc, result.target, ref_steps)
        error = float(np.abs(result.scores - ref).max() / np.abs(ref).max())
        row = Row(enc.n_tokens, ours_s, naive_s, result.n_steps, result.converged, error, result.token_error, ref_delta)
        if captum_points:
            row.captum_final_s, row.captum_levels_s = m.captum_same_points(enc, result)
        rows.append(row)
    return rows


def p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def summary(name: str, rows: list[Row]) -> str:
    ours, naive = [r.ours_s for r in rows], [r.naive_s for r in rows]
    ratio = [r.naive_s / r.ours_s for r in rows]
    steps = {s: sum(r.steps == s for r in rows) for s in sorted({r.steps for r in rows})}
    return (
        f"| {name} | {len(rows)} | {statistics.median([r.tokens for r in rows]):.0f} | {p(ours, 50):.3f} | "
        f"{p(ours, 90):.3f} | {p(naive, 50):.2f} | {p(naive, 90):.2f} | {p(ratio, 50):.1f}x | "
        f"{sum(r.certified for r in rows)}/{len(rows)} | {max(r.error for r in rows):.2%} | "
        f"{sum(r.error <= r.certificate + 1e-3 for r in rows)}/{len(rows)} | "
        f"{' '.join(f'{k}:{v}' for k, v in steps.items())} | {max(r.ref_rel_delta for r in rows):.0e} |"
    )


HEADER = (
    "| inputs | n | median tokens | ours median s | ours p90 s | naive median s | naive p90 s | speed-up (median) "
    "| certified | max error vs reference | error within certificate | points used (count) | reference rel. δ (max) |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def validate(m: Methods, count: int, split: str = "dev", ref_steps: int = 256) -> None:
    """The certificate against a converged reference on whole SST-2 sentences (see the module docstring)."""
    texts = _sentences(SHARED / f"{split}.tsv")[:count]
    tolerance = m.explain.IGSettings().tolerance
    rows: list[tuple[Row, bool]] = []
    for text in texts:
        enc = m.explain.prepare_input(m.bundle, text)
        result, ours_s = m.ours(enc)
        naive_s = m.naive(enc, result.target)
        ref, ref_delta = m.reference(enc, result.target, ref_steps)
        error = float(np.abs(result.scores - ref).max() / np.abs(ref).max())
        row = Row(enc.n_tokens, ours_s, naive_s, result.n_steps, result.converged, error, result.token_error, ref_delta)
        rows.append((row, len(result.steps_tried) > 2))  # the check subset, the first level, then raises
    certified = [r for r, _ in rows if r.certified]
    wrong = [r for r in certified if r.error > tolerance]
    ours, naive = [r.ours_s for r, _ in rows], [r.naive_s for r, _ in rows]
    ratio = [r.naive_s / r.ours_s for r, _ in rows]
    steps = {s: sum(r.steps == s for r, _ in rows) for s in sorted({r.steps for r, _ in rows})}
    print(f"SST-2 {split}: first {len(rows)} sentences, whole ({min(r.tokens for r, _ in rows)}–"
          f"{max(r.tokens for r, _ in rows)} tokens, median {statistics.median(r.tokens for r, _ in rows):.0f}); "
          f"tolerance {tolerance:.0%}; reference Gauss–Legendre {ref_steps} points")  # fmt: skip
    print(f"- certified: {len(certified)}/{len(rows)}")
    print(f"- escalations (more than the first level): {sum(e for _, e in rows)}/{len(rows)}")
    print(f"- certified but wrong (true error > {tolerance:.0%}): {len(wrong)}")
    worst = max((r.error for r in certified), default=float("nan"))
    sharpness = max((r.error / max(r.certificate, 1e-12) for r in certified), default=float("nan"))
    print(f"- worst true error: {max(r.error for r, _ in rows):.3%} (certified: {worst:.3%}); "
          f"worst true error / certificate among certified: {sharpness:.2f}")  # fmt: skip
    print(f"- points used (count): {' '.join(f'{k}:{v}' for k, v in steps.items())}")
    print(f"- reference's own relative δ: max {max(r.ref_rel_delta for r, _ in rows):.1e}")
    print(f"- ours: median {p(ours, 50):.3f} s, p90 {p(ours, 90):.3f} s; naive Captum: median {p(naive, 50):.3f} s, "
          f"p90 {p(naive, 90):.3f} s; speed-up per sentence median {p(ratio, 50):.2f}x, "
          f"ratio of medians {p(naive, 50) / p(ours, 50):.2f}x")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=12, help="random windows per length")
    parser.add_argument("--lengths", type=int, nargs="+", default=list(LENGTHS))
    parser.add_argument("--quick", action="store_true", help="10 inputs per set, 3 windows per length")
    parser.add_argument("--validate", type=int, metavar="N", help="only check the certificate on N SST-2 sentences")
    parser.add_argument("--split", default="dev", choices=("dev", "train"), help="--validate's data (train: tuning)")
    parser.add_argument("--threads", type=int, help="torch threads (1 on a shared machine)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    m = Methods()
    if args.validate:
        validate(m, args.validate, args.split)
        return
    cut = 10 if args.quick else None
    n_windows = 3 if args.quick else args.windows
    print("Whole sentences, logit of the predicted class, [PAD] baseline; embedded default model.\n")
    print(HEADER)
    sets: list[tuple[str, Callable[[], list[str]]]] = [
        ("SST-2 dev ≤ 32 tokens (validation)", lambda: dev_set(m.bundle)),
        ("own reviews (validation)", own_set),
        ("SST-2 train (tuning)", tuning_set),
    ]
    sentences: list[Row] = []
    captum: list[Row] = []
    for name, texts in sets:
        rows = measure(m, texts()[:cut], ref_steps=256, captum_points=name.startswith("SST-2 dev"))
        print(summary(name, rows), flush=True)
        if "validation" in name:
            sentences += rows
        captum += [r for r in rows if not np.isnan(r.captum_final_s)]
    print(summary("all validation sentences", sentences))
    print(f"\nWindows of natural text ({n_windows} per length, seed 0; validation).\n")
    print(HEADER)
    long_rows: list[Row] = []
    for n in args.lengths:
        rows = measure(m, windows(m.bundle, n, n_windows), ref_steps=128)
        print(summary(f"{n} tokens", rows), flush=True)
        if n >= 128:
            long_rows += rows
    final = statistics.median([r.captum_final_s for r in captum])
    levels = statistics.median([r.captum_levels_s for r in captum])
    ours = statistics.median([r.ours_s for r in captum])
    print(f"\nCaptum fed our points (SST-2 dev sentences): accepted level alone {final:.3f} s, level by level "
          f"{levels:.3f} s; ours {ours:.3f} s (prepass and certification included).")  # fmt: skip
    print("\nTargets")
    valid = [r.ours_s for r in sentences]
    print(f"- sentences ≤ 32 tokens: median {p(valid, 50):.3f} s (≤ 0.3), p90 {p(valid, 90):.3f} s (≤ 0.6), "
          f"certified {sum(r.certified for r in sentences)}/{len(sentences)}")  # fmt: skip
    short_ratio = p([r.naive_s / r.ours_s for r in sentences], 50)
    long_ratio = p([r.naive_s / r.ours_s for r in long_rows], 50)
    print(
        f"- speed-up vs naive Captum: sentences median {short_ratio:.1f}x (≥ 2), "
        f"128–512-token windows median {long_ratio:.1f}x (≥ 4)"
    )
    everything = sentences + long_rows
    print(f"- per-token error vs converged reference: max {max(r.error for r in everything):.2%} (≤ 1% on every input)")


if __name__ == "__main__":
    main()
