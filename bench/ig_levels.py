"""How few points could certify IG? True error per level, and how sharp each error estimate is.

Usage: .venv/bin/python bench/ig_levels.py --split train|dev [--count 200] [--cache FILE.pkl]

For each sentence (SST-2 *train* of at least 8 words, the tuning set; or SST-2 *dev* in file order, the
validation set) of the embedded classifier, with the predicted class's logit and the [PAD] baseline:

1. the integrand in u (gradient · (x − b) · dα/du) at the 97 nodes of Clenshaw–Curtis with 96 intervals,
   under IG's own warp (5-point prepass) and, for comparison, without a warp. 96 = 2⁵ · 3, so every
   Clenshaw–Curtis rule with 2, 3, 4, 6, 8, 12, 16, 24, 32 or 48 intervals is a subset of those nodes and is
   evaluated exactly, with no extra model pass;
2. Gauss–Patterson rules (3, 7, 15, 31 points, nested, computed here as successive Kronrod–Patterson
   extensions of Gauss–Legendre 3) on the same warped variable, their integrand read off the 96-degree
   Chebyshev interpolant of step 1 (its own error is far below the differences shown);
3. the converged reference: Captum's LayerIntegratedGradients, Gauss–Legendre at 256 points.

It prints, per rule: the share of sentences whose true per-token error (max |I − ref| / max |ref|) is at most
1% and at most 0.5% (what *any* certificate with a factor-2 margin could accept there), the share whose
completeness gap δ is at most 1%, and for each error estimate the factor it would need for its worst
true/estimate to be 0.5 on these sentences (a factor-2 margin), with the share it would then accept.
Collecting takes about 2.3 s per sentence on 2 cores; ``--cache`` keeps the collection for reruns.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.polynomial import chebyshev, legendre

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.attribution import SHARED, Methods, _sentences  # noqa: E402
from explain.methods import quadrature as Q  # noqa: E402

TOL, FLOOR = 0.01, 0.01
INTERVALS = (2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 96)
_W = {m: Q.clenshaw_curtis(m)[1] for m in INTERVALS}
_IDX = {m: np.arange(m + 1) * (96 // m) for m in INTERVALS}


def collect(m: Methods, texts: list[str]) -> list[dict[str, Any]]:
    from explain import IGSettings, attribute, prepare_input
    from explain.methods import attribution as A

    settings, records, start = IGSettings(), [], time.perf_counter()
    for t, text in enumerate(texts):
        enc = prepare_input(m.bundle, text)
        target = attribute(m.bundle, enc).target
        paths = A._paths(m.bundle, [enc], settings, [target])
        pre = np.linspace(0, 1, Q.PREPASS_POINTS)
        outs = paths.outputs([(0, float(a)) for a in pre])
        top = Q.levels(Q.warp_from_outputs(pre, outs), (4, 7, 13, 25, 49, 97))[-1]
        paths.evaluate([(0, int(k), float(a)) for k, a in zip(top.keys, top.alphas, strict=True)])
        assert top.jacobian is not None
        flat = Q.levels(Q.uniform_warp(), (4, 7, 13, 25, 49, 97))[-1]
        plain = A._paths(m.bundle, [enc], settings, [target])
        plain.evaluate([(0, int(k), float(a)) for k, a in zip(flat.keys, flat.alphas, strict=True)])
        ref, ref_delta = m.reference(enc, target, 256)
        records.append({"n": enc.n_tokens, "vals": paths.values(0, top) * top.jacobian[:, None],
                        "uvals": plain.values(0, flat), "ref": ref, "refd": ref_delta, "fx": float(outs[-1]),
                        "fb": float(outs[0])})  # fmt: skip
        if t % 20 == 0:
            print(f"  {t}/{len(texts)} sentences, {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return records


def patterson() -> list[tuple[np.ndarray, np.ndarray]]:
    """Gauss–Patterson 3, 7, 15, 31 on [−1, 1]: each adds the roots of the polynomial orthogonal to the
    previous nodes' polynomial times every lower degree (Kronrod's condition), weights from the moments."""
    x, wx = legendre.leggauss(300)

    def p(k: int, at: np.ndarray) -> np.ndarray:
        return legendre.legval(at, np.eye(k + 1)[k])

    rules = [np.sort(legendre.leggauss(3)[0])]
    while len(rules) < 4:
        nodes = rules[-1]
        d = len(nodes) + 1
        pi = np.prod(x[:, None] - nodes[None, :], axis=1)
        a = np.array([[np.sum(wx * pi * p(j, x) * p(k, x)) for j in range(d)] for k in range(d)])
        b = np.array([np.sum(wx * pi * p(d, x) * p(k, x)) for k in range(d)])
        new = np.real(legendre.legroots(np.r_[np.linalg.solve(a, -b), 1.0]))
        rules.append(np.sort(np.r_[nodes, new]))
    out = []
    for nodes in rules:
        moments = np.zeros(len(nodes))
        moments[0] = 2.0
        weights = np.linalg.solve(np.array([p(k, nodes) for k in range(len(nodes))]), moments)
        assert abs(weights @ nodes**4 - 2 / 5) < 1e-12  # exact for x⁴ at least
        out.append((nodes, weights))
    return out


def _true(scores: np.ndarray, r: dict[str, Any]) -> float:
    return float(np.abs(scores - r["ref"]).max() / np.abs(r["ref"]).max())


def _delta(scores: np.ndarray, r: dict[str, Any]) -> float:
    return abs(float(scores.sum()) - (r["fx"] - r["fb"])) / max(abs(r["fx"] - r["fb"]), FLOOR)


def _report(name: str, true: np.ndarray, delta: np.ndarray, estimates: dict[str, np.ndarray]) -> None:
    print(f"| {name} | {np.mean(true <= TOL):.0%} | {np.mean(true <= TOL / 2):.0%} | {np.mean(delta <= TOL):.0%} | "
          f"{np.median(true):.3%} |" + "".join(_sharpness(true, delta, e) for e in estimates.values()))  # fmt: skip


def _sharpness(true: np.ndarray, delta: np.ndarray, estimate: np.ndarray) -> str:
    factor = float(np.max(true / np.maximum(estimate, 1e-300))) / 0.5
    accepted = (estimate * factor <= TOL) & (delta <= TOL)
    return f" {factor:.3g} → {accepted.mean():.0%} |"


def clenshaw_curtis_rows(records: list[dict[str, Any]], key: str) -> None:
    for m in (8, 12, 16, 24, 32):
        true, delta, est = [], [], {"tail": [], "shipped": [], "change": [], "ratio": []}
        for r in records:
            v = r[key]
            fine, coarse, coarser = (_W[k] @ v[_IDX[k]] for k in (m, m // 2, m // 4))
            scale = max(float(np.abs(fine).max()), FLOOR)
            top = np.abs(Q.chebyshev_coefficients(v[_IDX[m]]))[-Q.TAIL_TERMS :].max(axis=0)
            d1, d0 = np.abs(fine - coarse), np.abs(coarse - coarser)
            true.append(_true(fine, r))
            delta.append(_delta(fine, r))
            est["tail"].append(Q.TAIL_SAFETY * top.max() / scale)
            est["shipped"].append(np.minimum(Q.TAIL_SAFETY * top, Q.CHANGE_SAFETY * d1).max() / scale)
            est["change"].append(d1.max() / scale)
            est["ratio"].append(d1.max() * min(1.0, d1.max() / max(d0.max(), 1e-300)) / scale)
        _report(f"Clenshaw–Curtis {m + 1}", np.array(true), np.array(delta), {k: np.array(v) for k, v in est.items()})


def patterson_rows(records: list[dict[str, Any]]) -> None:
    rules = patterson()
    rows: dict[int, list[tuple[float, float, float, float, float, float]]] = {7: [], 15: [], 31: []}
    for r in records:
        coef = Q.chebyshev_coefficients(r["vals"])  # x = 2u − 1
        values = [np.asarray(chebyshev.chebval(x, coef)).T for x, _w in rules]  # (points, tokens) each
        scores = [w / 2 @ f for (_x, w), f in zip(rules, values, strict=True)]
        for j in (1, 2, 3):
            scale = max(float(np.abs(scores[j]).max()), FLOOR)
            x, w = rules[j]
            legendre_coef = np.array([(2 * k + 1) / 2 * (w * legendre.legval(x, np.eye(len(x))[k])) @ values[j]
                                      for k in range(len(x))])  # fmt: skip
            tail = np.abs(legendre_coef[-4:]).max(axis=0) / scale
            d = np.abs(scores[j] - scores[j - 1]) / scale
            rows[len(x)].append((_true(scores[j], r), _delta(scores[j], r), d.max(), tail.max(),
                                 np.minimum(tail, 2 * d).max(), (d**1.5).max()))  # fmt: skip
    for n, values_ in rows.items():
        a = np.array(values_)
        _report(f"Gauss–Patterson {n}", a[:, 0], a[:, 1], {"tail": a[:, 3], "shipped": a[:, 4], "change": a[:, 2],
                                                            "ratio": a[:, 5]})  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="train", choices=("train", "dev"))
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--cache", type=Path, help="keep (or reuse) the collected integrands here")
    args = parser.parse_args()
    if args.cache and args.cache.exists():
        records = pickle.loads(args.cache.read_bytes())[: args.count]
    else:
        torch.manual_seed(0)
        sentences = _sentences(SHARED / f"{args.split}.tsv")
        if args.split == "train":
            sentences = [s for s in sentences if len(s.split()) >= 8]
        records = collect(Methods(), sentences[: args.count])
        if args.cache:
            args.cache.write_bytes(pickle.dumps(records))
    n = [r["n"] for r in records]
    print(f"SST-2 {args.split}: {len(records)} sentences, {min(n)}–{max(n)} tokens (median {np.median(n):.0f}); "
          f"reference Gauss–Legendre 256 (its relative δ at most {max(r['refd'] for r in records):.1e})\n")  # fmt: skip
    print("Estimates: *tail* = TAIL_SAFETY × the largest of the last four expansion coefficients; *shipped* = "
          "the schedule's (tail, capped at CHANGE_SAFETY × the change from the coarser level); *change* = that "
          "change; *ratio* = change × (change / the change before it) for Clenshaw–Curtis, change^1.5 for "
          "Gauss–Patterson. Each: the factor it needs for worst true/estimate = 0.5 here → the share then "
          "accepted (δ ≤ 1% too).\n")  # fmt: skip
    print("| rule | true ≤ 1% | true ≤ 0.5% | δ ≤ 1% | median true | tail | shipped | change | ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    clenshaw_curtis_rows(records, "vals")
    patterson_rows(records)
    print("\nWithout the warp (points evenly spread in α, no prepass):\n")
    print("| rule | true ≤ 1% | true ≤ 0.5% | δ ≤ 1% | median true | tail | shipped | change | ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    clenshaw_curtis_rows(records, "uvals")


if __name__ == "__main__":
    main()
