"""Faithfulness curves: by hand on a toy additive model, then on tiny classifiers against IG."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from explain import AttributionError, Baseline, IGSettings, ModelBundle, attribute, prepare_input
from explain.errors import InputError, SettingsError
from explain.methods.attribution import baseline_ids
from explain.methods.faithfulness import (
    FaithfulnessSettings,
    aopc_ks,
    curve_ks,
    faithfulness,
    faithfulness_curves,
    method_scores,
)
from explain.models.gate import HookGate
from tests.tolerances import reorder_atol

FILL = 0  # the toy's baseline token
TEXT = "the movie was great and the actors were fine but the jokes were bad"


class Additive:
    """p(class 1) = c + Σ w[i] over the positions whose token is present (not FILL); it records every row."""

    def __init__(self, weights: list[float], c: float) -> None:
        self.weights, self.c = np.array([0.0, *weights, 0.0]), c  # [CLS] and [SEP] weigh nothing
        self.rows: list[tuple[int, ...]] = []

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        self.rows += [tuple(r) for r in ids.tolist()]
        p = self.c + ((ids != FILL) * self.weights).sum(axis=1)
        return np.stack([1 - p, p], axis=1)

    def curves(self, scores: dict[str, np.ndarray], **settings: int) -> object:
        seq = len(self.weights)
        ids = np.arange(1, seq + 1)  # any ids but FILL
        special = np.zeros(seq, dtype=bool)
        special[[0, -1]] = True
        base = np.where(special, ids, FILL)
        return faithfulness_curves(self, ids, base, special, 1, scores, FaithfulnessSettings(**settings))


def _padded(values: list[float]) -> np.ndarray:
    return np.array([0.0, *values, 0.0])


def test_curves_and_aopc_by_hand() -> None:
    toy = Additive([0.1, 0.3, 0.05, 0.2], c=0.2)  # p(x) = 0.85, all baseline 0.2; by weight: .3, .2, .1, .05
    r = toy.curves({"true": _padded([0.1, 0.3, 0.05, 0.2])})
    (true,) = r.methods
    assert r.ks.tolist() == [0, 1, 2, 3, 4] and r.aopc_ks.tolist() == [1, 1, 1, 1, 2]
    assert true.order.tolist() == [2, 4, 1, 3]
    np.testing.assert_allclose(true.deletion, [0.85, 0.55, 0.35, 0.25, 0.2])  # k = 0 is p(x), k = all the baseline
    np.testing.assert_allclose(true.insertion, [0.2, 0.5, 0.7, 0.8, 0.85])  # the reverse
    assert (r.p_input, r.p_baseline) == pytest.approx((0.85, 0.2))
    assert true.comprehensiveness == pytest.approx((0.3 * 4 + 0.5) / 5)  # 0.34
    assert true.sufficiency == pytest.approx((0.35 * 4 + 0.15) / 5)  # p(x) − p(top 1 only) = .35, top 2 = .15
    assert true.deletion_area == pytest.approx(0.25 * (0.7 + 0.45 + 0.3 + 0.225))
    for curve in (true.deletion, r.random.deletion, r.fractions):
        assert not curve.flags.writeable


def test_random_aopc_sits_at_its_expectation() -> None:
    """Removing k random tokens of n removes k/n of the total weight W on average, so the random order's
    comprehensiveness is W · mean(k) / n and, here exactly, sufficiency = W − comprehensiveness."""
    n, seeds = 20, 10
    w = [0.004 * i for i in range(1, n + 1)]  # W = 0.84
    r = Additive(w, c=0.1).curves({"any": _padded(w)}, random_seeds=seeds)
    ks = [1, 1, 2, 4, 10]  # ceil(1, 5, 10, 20, 50 % of 20), at least 1
    assert r.aopc_ks.tolist() == ks
    expected = 0.84 * np.mean(ks) / n  # 0.1512
    # std of a random k-subset's sum: sqrt(k (n − k) / (n − 1)) σ_w; a seed's mean over bins is at most the mean
    # of those; the mean over seeds divides by √seeds. Three of those bounds.
    sigma = np.std(w)
    bound = np.mean([math.sqrt(k * (n - k) / (n - 1)) * sigma for k in ks]) / math.sqrt(seeds)
    assert abs(r.random.comprehensiveness - expected) <= 3 * bound  # 3 × 0.011
    assert r.random.sufficiency == pytest.approx(0.84 - r.random.comprehensiveness)
    assert len(r.random_seeds) == seeds
    assert r.random.comprehensiveness == pytest.approx(np.mean([s.comprehensiveness for s in r.random_seeds]))


def test_random_orders_are_seeded() -> None:
    w = [0.01 * i for i in range(1, 16)]
    first = Additive(w, 0.1).curves({"m": _padded(w)}, seed=3)
    again = Additive(w, 0.1).curves({"m": _padded(w)}, seed=3)
    other = Additive(w, 0.1).curves({"m": _padded(w)}, seed=4)
    assert [s.order.tolist() for s in first.random_seeds] == [s.order.tolist() for s in again.random_seeds]
    assert first.random.comprehensiveness == again.random.comprehensiveness
    assert first.random.comprehensiveness != other.random.comprehensiveness


def test_each_distinct_perturbed_input_is_computed_once() -> None:
    w = [0.1, 0.3, 0.05, 0.2]
    one = Additive(w, 0.2)
    r1 = one.curves({"a": _padded(w)})
    two = Additive(w, 0.2)
    r2 = two.curves({"a": _padded(w), "same order": 10 * _padded(w) + 3})
    for toy, r in ((one, r1), (two, r2)):
        assert len(toy.rows) == len(set(toy.rows)) == r.forward_rows
        assert len(toy.rows) <= 2**4  # 4 tokens have 16 subsets, however many orders ask (11 here)
    assert sorted(two.rows) == sorted(one.rows)  # an identical ranking costs nothing
    a, same = r2.methods
    np.testing.assert_array_equal(a.deletion, same.deletion)
    np.testing.assert_array_equal(a.insertion, same.insertion)
    assert a.comprehensiveness == same.comprehensiveness


def test_best_method_and_whether_it_beats_random() -> None:
    w = [0.02, 0.2, 0.01, 0.15, 0.03, 0.1, 0.0, 0.05]
    r = Additive(w, 0.1).curves({"reversed": -_padded(w), "true": _padded(w)})
    assert r.best == "true" and r.beats_random
    assert "true" in r.verdict and "clearly above chance" in r.verdict
    flat = [0.05] * 8  # every order removes the same weight: nothing can beat random
    r = Additive(flat, 0.1).curves({"first": np.arange(10.0)[::-1]})
    assert r.methods[0].score == pytest.approx(r.random.score)
    assert not r.beats_random and "not clearly above chance" in r.verdict


def test_points_per_curve() -> None:
    assert aopc_ks(30).tolist() == [1, 2, 3, 6, 15]  # ceil(0.3, 1.5, 3, 6, 15)
    assert aopc_ks(1).tolist() == [1, 1, 1, 1, 1]
    # 0, all and the AOPC ks, then the widest gap halved: 15..30 -> 22, then 6..15 -> 10
    assert curve_ks(30, 9).tolist() == [0, 1, 2, 3, 6, 10, 15, 22, 30]
    assert len(curve_ks(30, 16)) == 16 and curve_ks(30, 16)[[0, -1]].tolist() == [0, 30]
    assert curve_ks(4, 16).tolist() == [0, 1, 2, 3, 4]


def test_bad_scores_and_settings_are_refused() -> None:
    toy = Additive([0.1, 0.2], 0.1)
    with pytest.raises(InputError, match="one score per token"):
        toy.curves({"short": np.zeros(3)})
    with pytest.raises(InputError, match="another name"):
        toy.curves({"random": np.zeros(4)})
    with pytest.raises(InputError, match="NaN"):
        toy.curves({"nan": np.array([0, np.nan, 1, 0])})
    with pytest.raises(SettingsError, match="Random orders"):
        FaithfulnessSettings(random_seeds=5)
    with pytest.raises(SettingsError, match="Curve points"):
        FaithfulnessSettings(curve_points=17)
    with pytest.raises(InputError, match="besides"):
        faithfulness_curves(toy, np.arange(3), np.arange(3), np.ones(3, bool), 1, {"m": np.zeros(3)})


def test_a_model_without_that_class_is_refused(bert_bundle: ModelBundle, classifier_bundle: ModelBundle) -> None:
    scores = {"m": np.zeros(6)}
    with pytest.raises(AttributionError, match="no classification head"):
        faithfulness(bert_bundle, prepare_input(bert_bundle, "the movie was great"), 0, scores)
    with pytest.raises(AttributionError, match="classes are 0 to 1"):
        faithfulness(classifier_bundle, prepare_input(classifier_bundle, "the movie was great"), 2, scores)


def test_reversed_ig_loses_to_ig_on_the_deletion_curve(classifier_bundle: ModelBundle) -> None:
    if classifier_bundle.info.family == "electra":
        pytest.skip("the steep tiny ELECTRA gives p = 1.0 on every input: no curve moves, nothing to rank")
    enc = prepare_input(classifier_bundle, TEXT)
    ig = attribute(classifier_bundle, enc, IGSettings(output="probability"))  # the quantity the curves follow
    r = faithfulness(classifier_bundle, enc, ig.target, {"IG": ig.scores, "reversed IG": -ig.scores})
    good, bad = r.methods
    assert good.deletion_area < bad.deletion_area - 0.05
    assert good.insertion_area > bad.insertion_area + 0.05
    assert good.comprehensiveness > bad.comprehensiveness
    assert r.best == "IG"


def test_bundle_probabilities_are_the_models(classifier_bundle: ModelBundle) -> None:
    """p(x) and p(all baseline) equal the shared eager model fed the ids; the zero baseline equals IG's f(b)."""
    enc = prepare_input(classifier_bundle, TEXT)
    scores = {"position": -np.arange(enc.n_tokens, dtype=float)}
    r = faithfulness(classifier_bundle, enc, 1, scores, FaithfulnessSettings(baseline=Baseline.UNK))
    size = 0.0  # a probability's rounding is that of the logits it comes from (∂p/∂logit ≤ 1/2)
    for ids, p in ((enc.input_ids, r.p_input), (baseline_ids(classifier_bundle, enc, Baseline.UNK), r.p_baseline)):
        with torch.no_grad():
            logits = classifier_bundle.model(input_ids=torch.tensor(ids)[None]).logits[0]
        size = max(size, float(logits.abs().max()))
        atol = reorder_atol(classifier_bundle, size, seq=enc.n_tokens)  # batched twin vs one eager pass
        assert p == pytest.approx(float(logits.softmax(-1)[1]), rel=0, abs=atol)
    zero = faithfulness(classifier_bundle, enc, 1, scores, FaithfulnessSettings(baseline=Baseline.ZERO))
    ig = attribute(classifier_bundle, enc, IGSettings(target=1, output="probability", baseline=Baseline.ZERO))
    assert zero.p_baseline == pytest.approx(ig.f_baseline, rel=0, abs=atol)
    assert zero.p_input == pytest.approx(r.p_input, rel=0, abs=atol)


def test_batched_without_gradients_on_the_twin_under_the_gate(classifier_bundle: ModelBundle) -> None:
    bundle = dataclasses.replace(classifier_bundle, gate=HookGate())
    enc = prepare_input(bundle, TEXT)
    calls: list[tuple[str, bool, int]] = []

    def recorder(name: str):  # type: ignore[no-untyped-def]
        return lambda _m, _args, kwargs: calls.append((name, torch.is_grad_enabled(), len(kwargs["inputs_embeds"])))

    handles = [m.register_forward_pre_hook(recorder(name), with_kwargs=True)
               for name, m in (("twin", bundle.hooked_model), ("shared", bundle.model))]  # fmt: skip
    try:
        r = faithfulness(bundle, enc, 0, {"position": np.arange(enc.n_tokens, dtype=float)})
    finally:
        for h in handles:
            h.remove()
    assert {c[0] for c in calls} == {"twin"} and not any(c[1] for c in calls)
    assert sum(c[2] for c in calls) == r.forward_rows and len(calls) < r.forward_rows / 10

    class Waited(Exception):
        pass

    def on_wait(ahead: int, _seconds: float) -> None:
        raise Waited(ahead)

    with bundle.gate.hold(), pytest.raises(Waited):
        faithfulness(bundle, enc, 0, {"position": np.arange(enc.n_tokens, dtype=float)}, on_wait=on_wait)


def test_method_scores_name_the_compared_methods(classifier_bundle: ModelBundle) -> None:
    from explain import run_attention

    enc = prepare_input(classifier_bundle, "a fine film")
    attention = run_attention(classifier_bundle, enc)
    ig = attribute(classifier_bundle, enc, IGSettings(tolerance=0.5))
    scores = method_scores(ig, attention)
    assert list(scores) == ["integrated gradients", "gradient × input", "saliency", "attention", "rollout"]
    np.testing.assert_array_equal(scores["attention"], attention.weights[-1, :, 0, :].mean(axis=0))
    assert all(s.shape == (enc.n_tokens,) for s in scores.values())
