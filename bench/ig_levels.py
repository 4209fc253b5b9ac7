"""How few points could certify IG? True error per level, and how sharp each error estimate is.

Usage: .venv/bin/python bench/ig_levels.py [--train-cache A.pkl] [--dev-cache B.pkl]
       .venv/bin/python bench/ig_levels.py --train-cache A.pkl --warps 100   (other warps; about 3 minutes)

For each sentence (the first 200 SST-2 *train* sentences of at least 8 words, the tuning set, and the first
240 SST-2 *dev* sentences, the held-out set) of the embedded classifier, with the predicted class's logit and
the [PAD] baseline:

1. the integrand in u (gradient · (x − b) · dα/du) at the 97 nodes of Clenshaw–Curtis with 96 intervals,
   under IG's own warp (5-point prepass) and, for comparison, without a warp. 96 = 2⁵ · 3, so every
   Clenshaw–Curtis rule with 2, 3, 4, 6, 8, 12, 16, 24, 32 or 48 intervals is a subset of those nodes and is
   evaluated exactly, with no extra model pass;
2. Gauss–Patterson rules (3, 7, 15, 31 points, nested, computed here as successive Kronrod–Patterson
   extensions of Gauss–Legendre 3) on the same warped variable, their integrand read off the 96-degree
   Chebyshev interpolant of step 1 (its own error is far below the differences shown);
3. the converged reference: Captum's LayerIntegratedGradients, Gauss–Legendre at 256 points.

It prints, per rule and for both sets: the share of sentences whose true per-token error (max |I − ref| /
max |ref|) is at most 1% and at most 0.5% (what *any* certificate with a factor-2 margin could accept there),
the share whose completeness gap δ is at most 1%, and for each error estimate the factor it needs for its
worst true/estimate to be 0.5 on *train*, with the share that factor accepts on train and, unchanged, on dev,
and how many dev sentences it would certify wrongly. A second table does the same for two sharper estimates
(:func:`_sharper`). Collecting takes 2.3–3.4 s per sentence on 2 cores (17–25 minutes for both sets, by
machine); the caches keep the collection for reruns.
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


Rule = tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]  # [sentences] true error, δ; estimate name -> [sentences]
BASIC = ("tail", "shipped", "change", "ratio")
#: Estimates that read the *rate* at which the expansion coefficients fall, to extrapolate past the level
#: instead of taking the last coefficients as they are (Clenshaw–Curtis only).
SHARPER = ("tail", "decay", "quarter")


def _factor(rule: Rule, name: str) -> float:
    """What the estimate must be multiplied by so that its worst true/estimate is 0.5 (a factor-2 margin)."""
    true, _delta, estimates = rule
    return float(np.max(true / np.maximum(estimates[name], 1e-300))) / 0.5


def _accepted(rule: Rule, name: str, factor: float) -> np.ndarray:
    _true, delta, estimates = rule
    return (estimates[name] * factor <= TOL) & (delta <= TOL)


def report(tuning: dict[str, Rule], held_out: dict[str, Rule], names: tuple[str, ...] = BASIC) -> None:
    """Per rule: truth on both sets; per estimate: its factor fitted on ``tuning``, the share it accepts there,
    and on ``held_out`` with that same factor the share accepted and how many of those are truly above 1%."""
    print("| rule | true ≤ 1% (tuning / held out) | true ≤ 0.5% | δ ≤ 1% | median true |"
          + "".join(f" {n}: factor → accepted, tuning / held out (wrong) |" for n in names))  # fmt: skip
    print("|---|---|---|---|---|" + "---|" * len(names))
    for rule, fit in tuning.items():
        check = held_out[rule]
        cells = []
        for name in names:
            factor = _factor(fit, name)
            taken = _accepted(check, name, factor)
            wrong = int((taken & (check[0] > TOL)).sum())
            cells.append(f" {factor:.3g} → {_accepted(fit, name, factor).mean():.0%} / {taken.mean():.0%} ({wrong}) |")
        shares = [f"{np.mean(fit[0] <= t):.0%} / {np.mean(check[0] <= t):.0%}" for t in (TOL, TOL / 2)]
        print(f"| {rule} | {shares[0]} | {shares[1]} | {np.mean(fit[1] <= TOL):.0%} / {np.mean(check[1] <= TOL):.0%} "
              f"| {np.median(fit[0]):.3%} / {np.median(check[0]):.3%} |" + "".join(cells))  # fmt: skip


def clenshaw_curtis_rows(records: list[dict[str, Any]], key: str) -> dict[str, Rule]:
    out = {}
    for m in (8, 12, 16, 24, 32):
        true, delta = [], []
        est: dict[str, list[float]] = {name: [] for name in BASIC + SHARPER}
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
            for name, value in _sharper(v[_IDX[m]], m).items():
                est[name].append(value / scale)
        out[f"Clenshaw–Curtis {m + 1}"] = (np.array(true), np.array(delta), {k: np.array(v) for k, v in est.items()})
    return out


def _sharper(values: np.ndarray, m: int) -> dict[str, float]:
    """Two estimates from the decay of the level's Chebyshev coefficients |a_k| (``values`` [m + 1, tokens]).

    *decay*: every token's integrand follows the same path, so the rate q at which the coefficients fall
    (per two degrees: odd ones integrate exactly) is fitted once, on the tokens' root-sum-square of the
    even coefficients over the upper half of the degrees; a token's estimate is its larger of the last two
    even coefficients times q / (1 − q) (a geometric tail past the level; q capped at 0.9 in the sum).
    *quarter*: per token, the largest coefficient of the last quarter of the degrees times its ratio to the
    largest of the quarter before (1 when they do not fall)."""
    a = np.abs(Q.chebyshev_coefficients(values))  # [m + 1, tokens]
    even, ks = a[0::2], np.arange(0, m + 1, 2)
    upper = ks >= m // 2
    slope = np.polyfit(ks[upper], np.log(np.sqrt((even[upper] ** 2).sum(axis=1)) + 1e-300), 1)[0]
    q = min(1.0, float(np.exp(2.0 * slope)))
    quarter = max(2, (m + 1) // 4)
    last, before = a[-quarter:].max(axis=0), a[-2 * quarter : -quarter].max(axis=0)
    return {"decay": float((np.maximum(even[-1], even[-2]) * q / (1.0 - min(q, 0.9))).max()),
            "quarter": float((last * np.minimum(1.0, last / np.maximum(before, 1e-300))).max())}  # fmt: skip


def patterson_rows(records: list[dict[str, Any]]) -> dict[str, Rule]:
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
    out = {}
    for n, values_ in rows.items():
        a = np.array(values_)
        out[f"Gauss–Patterson {n}"] = (a[:, 0], a[:, 1], {"tail": a[:, 3], "shipped": a[:, 4], "change": a[:, 2],
                                                         "ratio": a[:, 5]})  # fmt: skip
    return out


#: (prepass points, floor, width) of the warps ``--warps`` compares; the first is the shipped one.
WARPS = ((Q.PREPASS_POINTS, Q.WARP_FLOOR, Q.WARP_WIDTH), (3, 0.3, 0.15), (9, 0.3, 0.15), (9, 0.3, 0.1),
         (9, 0.4, 0.2), (5, 0.2, 0.2))  # fmt: skip


def warps(methods: list[Methods], records: list[dict[str, Any]]) -> None:
    """Would another warp let 17 points carry the certificate? Per warp of ``WARPS``, on the first
    ``len(records)`` train sentences (their references from ``records``): the integrand at Clenshaw–Curtis
    9, 17 and 33 (one pass of 33 points), the true error of each, and the tail estimate's factor (fitted on
    these sentences, as in the tables) with the share it then accepts."""
    from explain import IGSettings, attribute, prepare_input
    from explain.methods import attribution as A

    if not methods:
        torch.manual_seed(0)
        methods.append(Methods())
    m, settings = methods[0], IGSettings()
    texts = [s for s in _sentences(SHARED / "train.tsv") if len(s.split()) >= 8][: len(records)]
    rows: dict[tuple[int, float, float], list[list[tuple[float, float, float]]]] = {w: [] for w in WARPS}
    for text, r in zip(texts, records, strict=True):
        enc = prepare_input(m.bundle, text)
        target = attribute(m.bundle, enc).target
        for points, floor, width in WARPS:
            paths = A._paths(m.bundle, [enc], settings, [target])
            pre = np.linspace(0, 1, points)
            outs = paths.outputs([(0, float(a)) for a in pre])
            top = Q.levels(Q.warp_from_outputs(pre, outs, floor, width), (3, 5, 9, 17, 33))[-1]
            paths.evaluate([(0, int(k), float(a)) for k, a in zip(top.keys, top.alphas, strict=True)])
            assert top.jacobian is not None
            v = paths.values(0, top) * top.jacobian[:, None]
            per_level = []
            for intervals in (8, 16, 32):
                at = v[np.arange(intervals + 1) * (32 // intervals)]
                fine = Q.clenshaw_curtis(intervals)[1] @ at
                tail = np.abs(Q.chebyshev_coefficients(at))[-Q.TAIL_TERMS :].max(axis=0).max()
                per_level.append((_true(fine, r), _delta(fine, r),
                                  Q.TAIL_SAFETY * tail / max(float(np.abs(fine).max()), FLOOR)))  # fmt: skip
            rows[(points, floor, width)].append(per_level)
    print("| prepass points | floor | width |" + "".join(f" {n} points: median true, true ≤ 0.5%, tail factor → "
          "accepted |" for n in (9, 17, 33)))  # fmt: skip
    print("|---|---|---|---|---|---|")
    for (points, floor, width), values in rows.items():
        a = np.array(values)  # [sentences, level, (true, δ, tail)]
        cells = []
        for level in range(3):
            true, delta, tail = a[:, level].T
            factor = float(np.max(true / np.maximum(tail, 1e-300))) / 0.5
            taken = (tail * factor <= TOL) & (delta <= TOL)
            cells.append(f" {np.median(true):.3%}, {np.mean(true <= TOL / 2):.0%}, {factor:.3g} → {taken.mean():.0%} |")
        print(f"| {points} | {floor} | {width} |" + "".join(cells))


def load(split: str, count: int, cache: Path | None, methods: list[Methods]) -> list[dict[str, Any]]:
    """The split's records: from ``cache`` when it exists, else collected (and kept there)."""
    if cache and cache.exists():
        records: list[dict[str, Any]] = pickle.loads(cache.read_bytes())[:count]
        return records
    if not methods:
        torch.manual_seed(0)
        methods.append(Methods())
    sentences = _sentences(SHARED / f"{split}.tsv")
    if split == "train":
        sentences = [s for s in sentences if len(s.split()) >= 8]
    records = collect(methods[0], sentences[:count])
    if cache:
        cache.write_bytes(pickle.dumps(records))
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-count", type=int, default=200)
    parser.add_argument("--dev-count", type=int, default=240)
    parser.add_argument("--train-cache", type=Path, help="keep (or reuse) the train integrands here")
    parser.add_argument("--dev-cache", type=Path, help="keep (or reuse) the dev integrands here")
    parser.add_argument("--warps", type=int, metavar="N", help="only compare warps (WARPS) on N train sentences")
    args = parser.parse_args()
    methods: list[Methods] = []
    train = load("train", args.train_count, args.train_cache, methods)
    if args.warps:
        warps(methods, train[: args.warps])
        return
    dev = load("dev", args.dev_count, args.dev_cache, methods)
    for name, records in (("train (tuning)", train), ("dev (held out)", dev)):
        n = [r["n"] for r in records]
        print(f"SST-2 {name}: {len(records)} sentences, {min(n)}–{max(n)} tokens (median {np.median(n):.0f}); "
              f"reference Gauss–Legendre 256, relative δ ≤ {max(r['refd'] for r in records):.1e}")  # fmt: skip
    print("\nEstimates: *tail* = TAIL_SAFETY × the largest of the last four expansion coefficients; *shipped* = "
          "the schedule's (tail, capped at CHANGE_SAFETY × the change from the coarser level); *change* = that "
          "change; *ratio* = change × (change / the change before it) for Clenshaw–Curtis, change^1.5 for "
          "Gauss–Patterson. Each estimate's factor is fitted on train (worst true/estimate = 0.5 there) and "
          "applied unchanged to dev; accepted = estimate × factor ≤ 1% and δ ≤ 1%; wrong = accepted on dev "
          "while the true error is above 1%.\n")  # fmt: skip
    report(clenshaw_curtis_rows(train, "vals") | patterson_rows(train),
           clenshaw_curtis_rows(dev, "vals") | patterson_rows(dev))  # fmt: skip
    print("\nSharper estimates (warped Clenshaw–Curtis): *decay* extrapolates each token's last even coefficients "
          "by the rate the coefficients fall, fitted on all tokens together; *quarter* scales each token's largest "
          "coefficient of the last quarter by its ratio to the quarter before (see _sharper).\n")  # fmt: skip
    report(clenshaw_curtis_rows(train, "vals"), clenshaw_curtis_rows(dev, "vals"), SHARPER)
    print("\nWithout the warp (points evenly spread in α, no prepass):\n")
    report(clenshaw_curtis_rows(train, "uvals"), clenshaw_curtis_rows(dev, "uvals"))


if __name__ == "__main__":
    main()
