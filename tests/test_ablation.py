"""Head ablation, gradient importance and the sweep, checked against mechanisms that do not share their code:
a head whose output columns are zero, a layer whose value projection is zero, finite differences."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import transformers as tf

from explain import ModelBundle, prepare_input, run_attention
from explain.errors import GlimpseError
from explain.methods import masked_passes
from explain.methods.ablation import AblationError, ablate, ablation_sweep, head_importance
from explain.methods.prediction import predict_logits, predict_proba
from explain.models.anatomy import attention_parts, scaled_heads
from tests.conftest import bundle_from
from tests.fixtures import FAMILIES, build_tiny
from tests.tolerances import reorder_atol

TEXT = "the movie was great and the actors were fine"
DEAD = (1, 2)  # (layer, head) whose output-projection columns are zeroed in the dead-head models
LAYERS, HEADS = 2, 4  # the tiny models' geometry


def steep_dir(root: Path, family: str) -> Path:
    folder = root / f"{family}-steep"  # the same folders as conftest's classifier_bundle
    if not folder.exists():
        build_tiny(family, folder, classifier=True, head_scale=5.0)
    return folder


@pytest.fixture(scope="session", params=FAMILIES)
def steep(request: pytest.FixtureRequest, model_root: Path) -> ModelBundle:
    """A tiny classifier with a steep head, of every family."""
    return bundle_from(steep_dir(model_root, request.param))


@pytest.fixture(scope="session", params=FAMILIES)
def moderate(request: pytest.FixtureRequest, model_root: Path) -> ModelBundle:
    """The steep classifiers, but ELECTRA's is less steep: at 5.0 its probabilities are 1 to the last bit
    (logits ±25), with every head or none, and a probability sweep there could not fail."""
    if request.param != "electra":
        return bundle_from(steep_dir(model_root, request.param))
    folder = model_root / "electra-moderate"
    if not folder.exists():
        build_tiny("electra", folder, classifier=True, head_scale=1.5)
    return bundle_from(folder)


@pytest.fixture(scope="session")
def steep_bert(model_root: Path) -> ModelBundle:
    return bundle_from(steep_dir(model_root, "bert"))


@pytest.fixture(scope="session")
def steep_albert(model_root: Path) -> ModelBundle:
    return bundle_from(steep_dir(model_root, "albert"))


@pytest.fixture(scope="session", params=FAMILIES)
def dead_head(request: pytest.FixtureRequest, model_root: Path) -> ModelBundle:
    """The steep classifier saved again with DEAD's columns of the output projection set to zero."""
    folder = model_root / f"{request.param}-steep-dead"
    if not folder.exists():
        source = steep_dir(model_root, request.param)
        model = tf.AutoModelForSequenceClassification.from_pretrained(source)
        part = attention_parts(model)[DEAD[0]]  # ALBERT: the shared module, so head 2 dies in both layers
        with torch.no_grad():
            part.output.weight[:, DEAD[1] * part.head_dim : (DEAD[1] + 1) * part.head_dim] = 0.0
        model.save_pretrained(folder)
        tf.AutoTokenizer.from_pretrained(source).save_pretrained(folder)
    return bundle_from(folder)


def inputs(bundle: ModelBundle, text: str = TEXT) -> dict[str, torch.Tensor]:
    enc = prepare_input(bundle, text)
    out = {"input_ids": torch.tensor(enc.input_ids)[None]}
    if enc.token_type_ids is not None:
        out["token_type_ids"] = torch.tensor(enc.token_type_ids)[None]
    return out


def logits_of(model: torch.nn.Module, bundle: ModelBundle, text: str = TEXT) -> np.ndarray:
    with torch.no_grad():
        out: np.ndarray = model(**inputs(bundle, text)).logits[0].double().numpy()
    return out


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    out: np.ndarray = e / e.sum()
    return out


def zero_values(model: torch.nn.Module, layers: list[int], head: int | None = None) -> torch.nn.Module:
    """A deep copy (own weights) whose value projections in ``layers`` are zero (only ``head``'s rows, when
    given): a head whose values are all zero outputs exactly 0, whatever it attends to."""
    out = copy.deepcopy(model)
    parts = attention_parts(out)
    with torch.no_grad():
        for layer in layers:
            d = parts[layer].head_dim
            rows = slice(None) if head is None else slice(head * d, (head + 1) * d)
            parts[layer].value.weight[rows] = 0.0
            parts[layer].value.bias[rows] = 0.0
    return out


def untied_albert(model: torch.nn.Module) -> torch.nn.Module:
    """The same ALBERT with one group of weights per layer (copies of the shared one), so one layer can change."""
    config = copy.deepcopy(model.config)
    config.num_hidden_groups = config.num_hidden_layers
    untied = type(model)(config).eval()
    state = model.state_dict()
    untied.load_state_dict({k: state[re.sub(r"albert_layer_groups\.\d+\.", "albert_layer_groups.0.", k)]
                            for k in untied.state_dict()})  # fmt: skip
    return untied


# --- the ablation map ---------------------------------------------------------------------------------------


def test_a_head_whose_output_columns_are_zero_changes_nothing(dead_head: ModelBundle) -> None:
    enc = prepare_input(dead_head, TEXT)
    result = head_importance(dead_head, enc)
    # Zero up to float32 rounding: a row's place in the batch changes the order of a matmul's sums
    zero = reorder_atol(dead_head, float(np.abs(result.logits).max()), seq=enc.n_tokens)
    assert abs(result.delta_logit[DEAD]) <= zero and abs(result.delta_probability[DEAD]) <= zero
    assert result.gradient[DEAD] <= 1e-7  # nothing flows through zero columns
    live = np.abs(np.delete(result.delta_logit.ravel(), DEAD[0] * HEADS + DEAD[1]))
    assert live.max() > 1e-3, "no other head matters: the test would pass for a map of zeros"
    assert abs(ablate(dead_head, enc, [DEAD]).delta_logit) <= zero


def test_all_heads_of_a_layer_off_equals_its_value_projection_zeroed(steep: ModelBundle) -> None:
    albert = steep.info.family == "albert"
    reference = untied_albert(steep.hooked_model) if albert else steep.hooked_model
    if albert:  # the untied copy is the same model before anything is zeroed
        np.testing.assert_allclose(logits_of(reference, steep), logits_of(steep.hooked_model, steep), atol=1e-5)
    enc = prepare_input(steep, TEXT)
    for layer in range(LAYERS):
        expected = logits_of(zero_values(reference, [layer]), steep)
        got = ablate(steep, enc, [(layer, h) for h in range(HEADS)]).logits_after
        assert np.abs(expected - logits_of(reference, steep)).max() > 1e-3, "zeroing the layer changes nothing"
        np.testing.assert_allclose(got, expected, atol=2e-5, err_msg=f"layer {layer}")


def test_each_head_ablated_alone_equals_its_value_slice_zeroed(steep: ModelBundle) -> None:
    """`ablate` of one head against a weight copy whose value rows for that head are zero, no hooks: an
    independent mechanism (the batched map's own check is test_each_head_off_equals_its_value_slice_zeroed)."""
    enc = prepare_input(steep, TEXT)
    reference = untied_albert(steep.hooked_model) if steep.info.family == "albert" else steep.hooked_model
    full = logits_of(reference, steep)
    for layer in range(LAYERS):
        for head in range(HEADS):
            expected = logits_of(zero_values(reference, [layer], head), steep)
            assert np.abs(expected - full).max() > 1e-4, (layer, head, "the head changes nothing")
            alone = ablate(steep, enc, [(layer, head)])
            # Logits up to |25| (steep ELECTRA): 5e-5 is ~25 float32 ulp there, the rounding of two 2-layer
            # passes that sum the same terms in another order (a zeroed head vs a zero weight slice).
            np.testing.assert_allclose(alone.logits_after, expected, atol=5e-5, err_msg=f"{(layer, head)}")
            np.testing.assert_allclose(alone.logits_before, full, atol=5e-5)


def test_each_head_off_equals_its_value_slice_zeroed(steep: ModelBundle) -> None:
    """Every entry of the map against a copy whose head has zero values in that layer alone (ALBERT: untied)."""
    result = head_importance(steep, prepare_input(steep, TEXT))
    reference = untied_albert(steep.hooked_model) if steep.info.family == "albert" else steep.hooked_model
    full = logits_of(reference, steep)[result.target]
    atol = reorder_atol(steep, float(np.abs(result.logits).max()), seq=result.encoding.n_tokens)  # a batch vs one
    for layer in range(LAYERS):
        for head in range(HEADS):
            expected = logits_of(zero_values(reference, [layer], head), steep)[result.target] - full
            assert result.delta_logit[layer, head] == pytest.approx(expected, rel=0, abs=atol), (layer, head)


def test_chunked_map_equals_one_batch(steep_bert: ModelBundle, monkeypatch: pytest.MonkeyPatch) -> None:
    enc = prepare_input(steep_bert, TEXT)
    whole = head_importance(steep_bert, enc)
    monkeypatch.setattr(masked_passes, "TOKENS_PER_CHUNK", 3 * enc.n_tokens)  # two ablated rows per chunk
    chunked = head_importance(steep_bert, enc)
    atol = reorder_atol(steep_bert, float(np.abs(whole.logits).max()), seq=enc.n_tokens)
    np.testing.assert_allclose(chunked.delta_logit, whole.delta_logit, rtol=0, atol=atol)


def test_albert_ablates_a_head_in_one_layer_only(steep_albert: ModelBundle) -> None:
    """Head h of layers 0 and 1 is one module's slice; removing it in one layer is not removing it in both
    (test_each_head_off_equals_its_value_slice_zeroed[albert] checks each against an untied copy)."""
    result = head_importance(steep_albert, prepare_input(steep_albert, TEXT))
    gaps = np.abs(result.delta_logit[0] - result.delta_logit[1])
    assert (gaps > 1e-3).all(), gaps
    both = [ablate(steep_albert, result.encoding, [(0, h), (1, h)], target=result.target) for h in range(HEADS)]
    for h, pair in enumerate(both):
        assert abs(pair.delta_logit - result.delta_logit[0, h]) > 1e-3, h  # layer 0 alone is not both layers


def _fd_logits(bundle: ModelBundle, model: torch.nn.Module, eps: float) -> np.ndarray:
    """[layers, heads, 2 signs, labels] logits with m_h = 1 ± eps (float64 copy, no autograd)."""
    out = np.zeros((LAYERS, HEADS, 2, len(bundle.info.labels)))
    for layer in range(LAYERS):
        for head in range(HEADS):
            for i, sign in enumerate((1, -1)):
                m = torch.ones((1, LAYERS, HEADS), dtype=torch.float64)
                m[0, layer, head] += sign * eps
                with scaled_heads(model, lambda la, m=m: m[:, la]):
                    out[layer, head, i] = logits_of(model, bundle)
    return out


def test_gradient_is_that_of_the_log_probability_by_finite_differences(moderate: ModelBundle) -> None:
    """|∂ log p(target) / ∂ m| (Michel et al.'s loss −log p) against central differences of log p on a float64
    copy: no autograd involved. Float64 differences with ε = 1e-4: truncation ~ε²·|f⁽³⁾| ≈ 1e-8 and rounding
    ~1e-16/ε ≈ 1e-12, so what is left is the float32 gradient's own rounding (~1e-6 relative): rtol 1e-3.
    (``moderate``: steep ELECTRA's p is 1 to the last bit, and log p is flat there.)"""
    result = head_importance(moderate, prepare_input(moderate, TEXT))
    model, eps, t = copy.deepcopy(moderate.hooked_model).double(), 1e-4, result.target
    logits = _fd_logits(moderate, model, eps)
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    fd = (log_p[:, :, 0, t] - log_p[:, :, 1, t]) / (2 * eps)
    scale = np.abs(fd).max()
    assert scale > 1e-3, "a flat model: the comparison would prove nothing"
    np.testing.assert_allclose(result.gradient, np.abs(fd), rtol=1e-3, atol=1e-4 * scale)
    # By hand, for two classes: ∂ log p_t = (1 − p_t) ∂(z_t − z_other), so the logit's own gradient differs.
    other = 1 - t
    margin = (logits[:, :, 0, t] - logits[:, :, 0, other] - logits[:, :, 1, t] + logits[:, :, 1, other]) / (2 * eps)
    p_t = result.probabilities[t]
    np.testing.assert_allclose(result.gradient, np.abs((1 - p_t) * margin), rtol=1e-3, atol=1e-4 * scale)
    logit_fd = np.abs(logits[:, :, 0, t] - logits[:, :, 1, t]) / (2 * eps)
    assert np.abs(result.gradient - logit_fd).max() > 0.1 * scale, "indistinguishable from the logit's gradient"


def test_rank_agreement_is_spearman_of_the_two_maps(steep_bert: ModelBundle) -> None:
    result = head_importance(steep_bert, prepare_input(steep_bert, TEXT))
    a, b = np.abs(result.delta_probability).ravel(), result.gradient.ravel()
    assert len(set(a)) == a.size and len(set(b)) == b.size  # no ties: the textbook formula applies
    d = a.argsort().argsort() - b.argsort().argsort()
    n = a.size
    assert result.rank_agreement == pytest.approx(1 - 6 * (d**2).sum() / (n * (n**2 - 1)))


# --- interactive ablation -----------------------------------------------------------------------------------


def test_ablating_nothing_changes_nothing_and_labels_follow_the_logits(steep_bert: ModelBundle) -> None:
    enc = prepare_input(steep_bert, TEXT)
    none = ablate(steep_bert, enc, [])
    np.testing.assert_array_equal(none.logits_after, none.logits_before)
    assert none.delta_logit == 0.0 and none.delta_probability == 0.0 and none.heads == ()
    some = ablate(steep_bert, enc, [(1, 3), (0, 1), (1, 3)])
    assert some.heads == ((0, 1), (1, 3))  # sorted, once each
    for logits, probs, label in ((some.logits_before, some.probabilities_before, some.predicted_before),
                                 (some.logits_after, some.probabilities_after, some.predicted_after)):  # fmt: skip
        np.testing.assert_allclose(probs, softmax(logits), atol=1e-12)
        assert label == int(np.argmax(logits))
    t = some.target
    assert some.delta_logit == pytest.approx(some.logits_after[t] - some.logits_before[t])
    assert some.delta_probability == pytest.approx(some.probabilities_after[t] - some.probabilities_before[t])


def test_the_target_is_the_class_the_user_sees(steep_bert: ModelBundle) -> None:
    enc = prepare_input(steep_bert, TEXT)
    shown = predict_logits(steep_bert, enc)
    assert head_importance(steep_bert, enc).target == int(np.argmax(shown))  # the eager model's prediction
    other = 1 - int(np.argmax(shown))
    assert ablate(steep_bert, enc, [], logits=np.eye(2)[other]).target == other  # the logits the page shows
    assert ablate(steep_bert, enc, [], target=other, logits=shown).target == other  # an explicit class wins


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda b, e: ablate(b, e, [(2, 0)]), "layer from 0 to 1 and head from 0 to 3"),
        (lambda b, e: ablate(b, e, [(0, -1)]), "layer from 0 to 1 and head from 0 to 3"),
        (lambda b, e: ablate(b, e, [(0,)]), "Give .layer, head. pairs"),
        (lambda b, e: ablate(b, e, [(True, 0)]), "Give .layer, head. pairs"),
        (lambda b, e: ablate(b, e, [(0, 0)], target=2), "classes are 0 to 1"),
        (lambda b, e: head_importance(b, e, target=-1), "classes are 0 to 1"),
        (lambda b, e: head_importance(b, e, logits=np.zeros(3)), "this model has 2 classes"),
        (lambda b, e: ablation_sweep(b, head_importance(b, e), n_random=0), "from 1 to 100"),
    ],
)
def test_bad_requests_say_what_is_valid(steep_bert: ModelBundle, call: Callable[..., Any], message: str) -> None:
    with pytest.raises(AblationError, match=message):
        call(steep_bert, prepare_input(steep_bert, TEXT))


def test_a_map_from_another_model_is_refused(steep_bert: ModelBundle, embedded_bundle: ModelBundle) -> None:
    importance = head_importance(steep_bert, prepare_input(steep_bert, TEXT))
    with pytest.raises(AblationError, match="6 layers × 12 heads"):
        ablation_sweep(embedded_bundle, importance)


def test_a_model_without_head_has_nothing_to_ablate(bert_bundle: ModelBundle) -> None:
    enc = prepare_input(bert_bundle, TEXT)
    with pytest.raises(GlimpseError, match="no classification head"):
        head_importance(bert_bundle, enc)
    with pytest.raises(AblationError, match="no classification head"):  # a class given: no prediction asked
        ablate(bert_bundle, enc, [(0, 0)], target=0)


# --- the sweep ----------------------------------------------------------------------------------------------


def test_sweep_runs_from_the_full_model_to_no_heads(moderate: ModelBundle) -> None:
    importance = head_importance(moderate, prepare_input(moderate, TEXT))
    sweep = ablation_sweep(moderate, importance)
    t = importance.target
    np.testing.assert_array_equal(sweep.counts, np.arange(9))  # 8 heads: step max(1, 8 // 12) = 1
    p_full = softmax(predict_logits(moderate, prepare_input(moderate, TEXT)))[t]  # the eager model, no hooks
    p_none = softmax(logits_of(zero_values(moderate.hooked_model, list(range(LAYERS))), moderate))[t]
    assert abs(p_full - p_none) > 5e-4, "removing every head changes nothing here: the ends would be equal"
    size = float(np.abs(importance.logits).max())  # a probability rounds as its logits do (∂p/∂logit ≤ 1/2)
    atol = reorder_atol(moderate, size, seq=importance.encoding.n_tokens)  # eager, one pass vs the twin, a batch
    for curve in (sweep.importance_curve, *sweep.random_curves):
        assert curve[0] == pytest.approx(p_full, rel=0, abs=atol)
        assert curve[-1] == pytest.approx(p_none, rel=0, abs=atol)
    assert sweep.importance_curve[0] == pytest.approx(importance.probabilities[t], abs=1e-7)


def test_importance_order_drops_at_least_as_fast_as_random_at_first(steep_bert: ModelBundle) -> None:
    """By construction: the first head removed has the most negative Δ probability, so one removal in
    importance order leaves p + min Δ, at most p + Δ of whichever head a random order removes first.
    Later points are not guaranteed (heads interact), so they are not asserted."""
    importance = head_importance(steep_bert, prepare_input(steep_bert, TEXT))
    sweep = ablation_sweep(steep_bert, importance, n_random=8)
    assert tuple(sweep.order[0]) == np.unravel_index(importance.delta_probability.argmin(), (LAYERS, HEADS))
    first = importance.probabilities[importance.target] + importance.delta_probability.min()
    assert sweep.importance_curve[1] == pytest.approx(first, abs=1e-6)
    assert (sweep.importance_curve[1] <= sweep.random_curves[:, 1] + 1e-6).all()
    assert sweep.importance_curve[1] < sweep.random_mean[1]  # strictly: the 8 random first heads are not all it
    order = np.argsort(importance.delta_probability.ravel(), kind="stable")
    np.testing.assert_array_equal(sweep.order, np.stack([order // HEADS, order % HEADS], axis=1))


def test_random_orders_are_seeded(steep_bert: ModelBundle) -> None:
    importance = head_importance(steep_bert, prepare_input(steep_bert, TEXT))
    a, b, c = (ablation_sweep(steep_bert, importance, seed=s) for s in (7, 7, 8))
    np.testing.assert_array_equal(a.random_orders, b.random_orders)
    np.testing.assert_array_equal(a.random_curves, b.random_curves)
    assert not np.array_equal(a.random_orders, c.random_orders)
    assert a.random_orders.shape == (5, LAYERS * HEADS)
    assert all(sorted(o) == list(range(LAYERS * HEADS)) for o in a.random_orders)  # each a permutation
    assert len({tuple(o) for o in a.random_orders}) == 5


def test_the_default_model_sweep_has_at_most_13_points(embedded_bundle: ModelBundle) -> None:
    enc = prepare_input(embedded_bundle, "a gorgeous, witty, seductive movie.")
    importance = head_importance(embedded_bundle, enc)
    sweep = ablation_sweep(embedded_bundle, importance)
    np.testing.assert_array_equal(sweep.counts, np.arange(0, 73, 6))  # 72 heads, step 72 // 12 = 6
    assert importance.delta_logit.shape == importance.gradient.shape == (6, 12)
    p_none = softmax(logits_of(zero_values(embedded_bundle.hooked_model, list(range(6))), embedded_bundle,
                               "a gorgeous, witty, seductive movie."))[importance.target]  # fmt: skip
    assert sweep.importance_curve[-1] == pytest.approx(p_none, abs=1e-5)


# --- sharing the model --------------------------------------------------------------------------------------


def hooks(model: torch.nn.Module) -> dict[str, tuple[tuple[int, ...], ...]]:
    """Every hook id on every module (transformers installs output-capturing hooks of its own)."""
    kinds = ("_forward_pre_hooks", "_forward_hooks", "_backward_hooks", "_backward_pre_hooks")
    return {name: tuple(tuple(getattr(m, k).keys()) for k in kinds) for name, m in model.named_modules()}


def test_the_shared_model_is_untouched_and_no_hooks_remain(steep: ModelBundle) -> None:
    ids = inputs(steep)
    with torch.no_grad():
        shared, twin = steep.model(**ids).logits, steep.hooked_model(**ids).logits
    before = hooks(steep.model), hooks(steep.hooked_model)
    enc = prepare_input(steep, TEXT)
    ablation_sweep(steep, head_importance(steep, enc))
    ablate(steep, enc, [(0, 0), (1, 1)])
    with pytest.raises(RuntimeError):  # a pass that fails halfway (masks of the wrong shape) leaves none either
        masked_passes._grown_pass(steep.hooked_model, ids, np.zeros((1, LAYERS, HEADS + 1), np.float32), np.zeros(1))
    assert (hooks(steep.model), hooks(steep.hooked_model)) == before
    with torch.no_grad():
        assert torch.equal(steep.model(**ids).logits, shared)
        assert torch.equal(steep.hooked_model(**ids).logits, twin)


TEXTS = ["a fine movie", "the worst film of the year by far", "hello world and more", "it was ok"]


def run_job(bundle: ModelBundle, job: tuple[str, str]) -> np.ndarray:
    kind, text = job
    enc = prepare_input(bundle, text)
    if kind == "attn":  # the shared eager model
        return run_attention(bundle, enc).weights
    if kind == "proba":  # batched predictions: on the twin, without the gate
        return predict_proba(bundle, [text, text[::-1]])
    if kind == "map":
        return np.asarray(head_importance(bundle, enc, target=1).delta_logit)
    return np.asarray(ablate(bundle, enc, [(0, 1), (1, 2)], target=1).logits_after)


def serial_equals_concurrent(bundle: ModelBundle, kinds: tuple[str, ...]) -> None:
    serial = {(k, t): run_job(bundle, (k, t)) for k in kinds for t in TEXTS}
    jobs = [(k, t) for _ in range(4) for t in TEXTS for k in kinds]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda job: run_job(bundle, job), jobs))
    for job, got in zip(jobs, results, strict=True):
        np.testing.assert_allclose(got, serial[job], atol=1e-6, err_msg=str(job))


@pytest.mark.parametrize("family", ["bert", "albert"])  # ALBERT: the hooks on its shared modules count calls
def test_ablations_from_many_threads_equal_serial_and_spare_attention(model_root: Path, family: str) -> None:
    serial_equals_concurrent(bundle_from(steep_dir(model_root, family)), ("attn", "map", "ablate"))


def test_batched_predictions_beside_ablations_see_no_hooks(steep_bert: ModelBundle) -> None:
    # Not ALBERT: scaled_heads counts its shared modules' calls in one counter that any forward through the
    # twin advances and resets, and predict_proba runs on the twin without the gate (reported; not ours to fix).
    serial_equals_concurrent(steep_bert, ("proba", "map"))


def test_results_are_read_only(steep_bert: ModelBundle) -> None:
    enc = prepare_input(steep_bert, TEXT)
    importance = head_importance(steep_bert, enc)
    sweep = ablation_sweep(steep_bert, importance)
    single = ablate(steep_bert, enc, [(0, 0)])
    arrays = [importance.delta_logit, importance.delta_probability, importance.gradient, importance.logits,
              sweep.counts, sweep.order, sweep.importance_curve, sweep.random_curves, sweep.random_orders,
              single.logits_after, single.probabilities_before]  # fmt: skip
    assert not any(a.flags.writeable for a in arrays)


def test_one_target_class_helper_for_attribution_and_ablation() -> None:
    """'The predicted class' is decided in one place for both methods (a copy could drift)."""
    from explain.methods import attribution, target

    assert attribution.explained_class is target.explained_class
    assert ablate.__globals__["explained_class"] is target.explained_class


def test_the_expected_wait_of_a_diagnosis_by_hand() -> None:
    """In forward passes (1 s each here): 12 heads × (6 + 1)/2 + 3 = 45 for the maps; 6 curves × 13 rows for the
    sweep; 4 passes a point for IG's 13-point first try and 193-point cap. Linear in the pass's time."""
    from explain import IGSettings
    from explain.methods.diagnosis import expected_seconds

    e = expected_seconds(6, 12, 1.0, IGSettings(n_steps=13, max_steps=193))
    assert (e.head_maps, e.sweep, e.ig_first_try, e.ig_cap) == (45.0, 78.0, 52.0, 772.0)
    assert expected_seconds(6, 12, 0.5, IGSettings()).head_maps == 22.5
    assert expected_seconds(2, 4, 1.0, IGSettings()).sweep == 6 * 9  # 8 heads: 9 rows per curve at most
