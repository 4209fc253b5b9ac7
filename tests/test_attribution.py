"""Integrated gradients: certified, equal to Captum at the same points, reusing every evaluation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from captum.attr import LayerIntegratedGradients

from explain import (
    AttributionError,
    Baseline,
    IGSettings,
    ModelBundle,
    attribute,
    prepare_input,
    word_scores,
)
from explain.errors import SettingsError
from explain.methods import attribution, integrator, quadrature
from explain.methods.attribution import baseline_ids
from tests.tolerances import assert_attributions_agree, attribution_scale, reorder_atol

TEXT = "the movie was great and the actors were fine"


def captum_reference(bundle: ModelBundle, text: str, target: int, n_steps: int = 1024, **kw: object) -> np.ndarray:
    """Plain Captum LIG on the shared eager model, token ids in: independent of our code. The default is
    the midpoint rule at 1024 points (the steep tiny models have sharp integrands; callers check that
    the reference's own sum matches f(x) − f(baseline)).

    RoBERTa's [PAD] id would move its positions, which ours hold fixed, so it is compared on [UNK]."""
    enc = prepare_input(bundle, text)
    ids = torch.tensor(enc.input_ids)[None]
    fill = bundle.tokenizer.unk_token_id if bundle.info.family == "roberta" else bundle.tokenizer.pad_token_id
    base = ids.clone()
    base[0, ~torch.tensor(enc.special)] = fill

    def forward(x: torch.Tensor) -> torch.Tensor:
        return bundle.model(input_ids=x).logits  # type: ignore[no-any-return]

    lig = LayerIntegratedGradients(forward, bundle.model.get_input_embeddings())
    kw = {"method": "riemann_middle", "internal_batch_size": 512, **kw}
    ref = lig.attribute(ids, baselines=base, target=target, n_steps=n_steps, **kw)  # type: ignore[arg-type]
    return ref[0].sum(-1).double().numpy()  # type: ignore[no-any-return]


def _baseline(bundle: ModelBundle) -> Baseline:
    return Baseline.UNK if bundle.info.family == "roberta" else Baseline.PAD


def test_certified_result_is_within_its_certificate_of_the_converged_answer(classifier_bundle: ModelBundle) -> None:
    result = attribute(
        classifier_bundle, prepare_input(classifier_bundle, TEXT), IGSettings(baseline=_baseline(classifier_bundle))
    )
    assert result.converged and result.relative_delta <= 0.01 and result.token_error <= 0.01
    reference = captum_reference(classifier_bundle, TEXT, result.target)
    gap = result.f_input - result.f_baseline
    assert abs(gap) > 0.05, "the fixture must make the output depend on the input"
    assert reference.sum() == pytest.approx(gap, rel=1e-3)  # the reference itself is converged
    error = np.abs(result.scores - reference).max() / np.abs(reference).max()
    assert error <= 0.01
    assert error <= result.token_error + 1e-3  # the certificate is not optimistic (the reference is ~1e-3 good)


def test_completeness_gap_is_measured_not_assumed(classifier_bundle: ModelBundle) -> None:
    result = attribute(classifier_bundle, prepare_input(classifier_bundle, TEXT), IGSettings(tolerance=0.5))
    # with a loose tolerance the first try is accepted; δ is what it really is, against independent f values
    ids = prepare_input(classifier_bundle, TEXT).input_ids
    logits = classifier_bundle.model(input_ids=torch.tensor(ids)[None]).logits[0]
    atol = reorder_atol(classifier_bundle, float(logits.abs().max()), seq=len(ids))  # eager vs the sdpa twin
    assert result.f_input == pytest.approx(float(logits[result.target]), abs=atol)
    assert result.steps_tried == (13, 25) and result.n_steps == 25


@pytest.fixture
def never_certified(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every per-token check fails, so the steps rise to the cap whatever the model."""
    monkeypatch.setattr(quadrature, "token_errors", lambda integrand, fine, coarse, floor: (fine * 0 + 1, 1.0))


def test_steps_rise_to_the_cap_and_say_so(classifier_bundle: ModelBundle, never_certified: None) -> None:
    enc = prepare_input(classifier_bundle, TEXT)
    result = attribute(classifier_bundle, enc, IGSettings(max_steps=49))
    assert result.steps_tried == (13, 25, 49) and result.n_steps == 49
    assert not result.converged and result.token_error == 1.0


class _PointCounter:
    """Counts the path points the twin evaluates (rows of every forward pass), by kind of pass."""

    def __init__(self, bundle: ModelBundle) -> None:
        self.forward_only: list[int] = []
        self.with_grad: list[int] = []
        self.widths: list[tuple[int, int]] = []  # (rows, tokens) of every pass with gradients
        self.handle = bundle.hooked_model.register_forward_pre_hook(self._count, with_kwargs=True)

    def _count(self, module: object, args: object, kwargs: dict[str, torch.Tensor]) -> None:
        rows, width = kwargs["inputs_embeds"].shape[:2]
        (self.with_grad if torch.is_grad_enabled() else self.forward_only).append(rows)
        if torch.is_grad_enabled():
            self.widths.append((rows, width))


def test_raising_the_steps_reuses_every_evaluation(classifier_bundle: ModelBundle, never_certified: None) -> None:
    enc = prepare_input(classifier_bundle, TEXT)
    counter = _PointCounter(classifier_bundle)
    try:
        result = attribute(classifier_bundle, enc, IGSettings(max_steps=49))
    finally:
        counter.handle.remove()
    assert result.steps_tried == (13, 25, 49)
    assert sum(counter.forward_only) == quadrature.PREPASS_POINTS
    assert sum(counter.with_grad) == 49  # 25, then 24 new: never 13 + 25 + 49


def test_chunked_equals_unchunked(classifier_bundle: ModelBundle, monkeypatch: pytest.MonkeyPatch) -> None:
    enc = prepare_input(classifier_bundle, TEXT)
    whole = attribute(classifier_bundle, enc, IGSettings(tolerance=0.5))
    monkeypatch.setattr(integrator, "CPU_TOKENS_PER_CHUNK", 3 * enc.n_tokens)  # 3 points per pass
    counter = _PointCounter(classifier_bundle)
    try:
        chunked = attribute(classifier_bundle, enc, IGSettings(tolerance=0.5))
    finally:
        counter.handle.remove()
    assert max(counter.with_grad) == 3 and len(counter.with_grad) == 9  # 25 points in passes of 3
    assert_attributions_agree(chunked, whole, classifier_bundle, seq=enc.n_tokens)


@pytest.mark.parametrize("method", ["riemann_middle", "gausslegendre"])
def test_equals_captum_at_identical_points_and_weights(classifier_bundle: ModelBundle, method: str) -> None:
    """Our integrator and Captum's LIG, given the same 16 points and weights, give the same numbers."""
    from captum.attr._utils.approximation_methods import approximation_parameters

    bundle = classifier_bundle
    enc = prepare_input(bundle, TEXT)
    step_sizes, alphas = approximation_parameters(method)
    points, weights = np.array(alphas(16)), np.array(step_sizes(16))
    settings = IGSettings(baseline=_baseline(bundle))
    ours = attribution.integrate_at(bundle, enc, settings, target=1, alphas=points, weights=weights)
    ref = captum_reference(bundle, TEXT, 1, n_steps=16, method=method, internal_batch_size=None)
    assert np.abs(ref - ours).max() <= 1e-4 * np.abs(ref).max()


def test_target_and_output_options(classifier_bundle: ModelBundle) -> None:
    enc = prepare_input(classifier_bundle, TEXT)
    p0 = attribute(classifier_bundle, enc, IGSettings(output="probability", target=0))
    p1 = attribute(classifier_bundle, enc, IGSettings(output="probability", target=1))
    assert (p0.target, p1.target) == (0, 1)
    # with two classes p0 = 1 - p1, so the attributions are exact opposites
    np.testing.assert_allclose(p0.scores, -p1.scores, atol=0.02 * np.abs(p1.scores).max() + 1e-12)
    assert 0.0 <= p1.f_input <= 1.0 and p0.f_input + p1.f_input == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(AttributionError, match="classes are 0 to 1"):
        attribute(classifier_bundle, enc, IGSettings(target=5))


def test_the_explained_class_is_the_one_the_user_sees(classifier_bundle: ModelBundle) -> None:
    """On a near-tie the twin could disagree with the shown prediction; the shown logits decide."""
    enc = prepare_input(classifier_bundle, TEXT)
    assert attribute(classifier_bundle, enc, IGSettings(tolerance=0.5), logits=np.array([0.3, 0.2])).target == 0
    assert attribute(classifier_bundle, enc, IGSettings(tolerance=0.5), logits=np.array([0.2, 0.3])).target == 1
    eager = classifier_bundle.model(input_ids=torch.tensor(enc.input_ids)[None]).logits[0]
    assert attribute(classifier_bundle, enc, IGSettings(tolerance=0.5)).target == int(eager.argmax())


@pytest.mark.parametrize("baseline", list(Baseline))
def test_baselines_keep_specials_and_change_the_reference(classifier_bundle: ModelBundle, baseline: Baseline) -> None:
    enc = prepare_input(classifier_bundle, TEXT)
    ids = baseline_ids(classifier_bundle, enc, baseline)
    np.testing.assert_array_equal(ids[enc.special], enc.input_ids[enc.special])
    assert len(set(ids[~enc.special].tolist())) == 1
    result = attribute(classifier_bundle, enc, IGSettings(baseline=baseline))
    other = Baseline.PAD if baseline is Baseline.MASK else Baseline.MASK  # a random [PAD] row can be zero
    ref = attribute(classifier_bundle, enc, IGSettings(baseline=other))
    assert result.settings.baseline is baseline
    assert result.f_baseline != pytest.approx(ref.f_baseline, abs=1e-6)
    assert not np.allclose(result.scores, ref.scores)
    assert result.converged


def test_companions_come_from_the_gradient_at_the_input(classifier_bundle: ModelBundle) -> None:
    enc = prepare_input(classifier_bundle, "unbelievably great movie", "yes")
    result = attribute(classifier_bundle, enc)
    ids = torch.tensor(enc.input_ids)[None]
    embeds = classifier_bundle.model.get_input_embeddings()(ids).detach().requires_grad_(True)
    extra = {} if enc.token_type_ids is None else {"token_type_ids": torch.tensor(enc.token_type_ids)[None]}
    logit = classifier_bundle.model(inputs_embeds=embeds, **extra).logits[0, result.target]
    (grad,) = torch.autograd.grad(logit, embeds)
    atol = reorder_atol(classifier_bundle, attribution_scale(result), seq=enc.n_tokens, gradient=True)  # twin vs eager
    np.testing.assert_allclose(result.grad_x_input, (grad * embeds)[0].sum(-1).detach().numpy(), rtol=0, atol=atol)
    saliency_atol = reorder_atol(classifier_bundle, float(grad.norm(dim=-1).sum()), seq=enc.n_tokens, gradient=True)
    np.testing.assert_allclose(result.saliency, grad[0].norm(dim=-1).numpy(), rtol=0, atol=saliency_atol)


def test_word_sums_by_hand(bert_bundle: ModelBundle) -> None:
    enc = prepare_input(bert_bundle, "unbelievably good")  # [CLS] un ##bel ##ie ##va ##bly good [SEP] or similar
    scores = np.arange(enc.n_tokens, dtype=np.float64)
    labels, sums = word_scores(scores, enc)
    assert labels == ("[CLS]", "unbelievably", "good", "[SEP]")
    n = enc.n_tokens
    assert sums.tolist() == [0.0, float(sum(range(1, n - 2))), float(n - 2), float(n - 1)]


def test_results_are_read_only(classifier_bundle: ModelBundle) -> None:
    result = attribute(classifier_bundle, prepare_input(classifier_bundle, TEXT), IGSettings(tolerance=0.5))
    for name in ("scores", "grad_x_input", "saliency", "token_changes", "path_outputs"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(result, name)[0] = 1.0


def test_model_without_head_has_nothing_to_attribute(bert_bundle: ModelBundle) -> None:
    with pytest.raises(AttributionError, match="no classification head"):
        attribute(bert_bundle, prepare_input(bert_bundle, TEXT))


def _hooks(model: torch.nn.Module) -> list[tuple[str, int]]:
    return [(name, id(h)) for name, m in model.named_modules()
            for d in (m._forward_hooks, m._forward_pre_hooks, m._backward_hooks) for h in d.values()]  # fmt: skip


def test_no_hooks_left_and_the_gate_released(classifier_bundle: ModelBundle) -> None:
    """transformers keeps output-capturing hooks of its own; an attribution adds none and leaves none."""
    before = {m: _hooks(m) for m in (classifier_bundle.model, classifier_bundle.hooked_model)}
    attribute(classifier_bundle, prepare_input(classifier_bundle, TEXT))
    for model in (classifier_bundle.model, classifier_bundle.hooked_model):
        assert _hooks(model) == before[model]
        assert not model.training
    assert classifier_bundle.model.config._attn_implementation == "eager"
    assert classifier_bundle.gate.waiting == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tolerance": 0.0}, "Tolerance"),
        ({"tolerance": math.nan}, "Tolerance"),
        ({"tolerance": -1.0}, "Tolerance"),
        ({"n_steps": -1}, "First try"),
        ({"n_steps": 1}, "First try"),
        ({"n_steps": 14}, "odd"),
        ({"n_steps": 25, "max_steps": 13}, "below the first try"),
        ({"max_steps": 0}, "Step cap"),
        ({"target": -1}, "Explain class"),
        ({"output": "logits"}, "Attribute"),
        ({"baseline": "cls"}, "Baseline"),
    ],
)
def test_settings_are_checked_against_their_declared_bounds(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        IGSettings(**kwargs)  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.parametrize(
    "text",
    [
        "The movie was a complete waste of time, but the soundtrack was wonderful.",
        "A warm, funny and beautifully acted film.",
        "I hated it.",
    ],
)
def test_default_model_is_certified_against_a_converged_reference(embedded_bundle: ModelBundle, text: str) -> None:
    result = attribute(embedded_bundle, prepare_input(embedded_bundle, text))
    assert result.converged
    reference = captum_reference(embedded_bundle, text, result.target, n_steps=128, method="gausslegendre")
    assert reference.sum() == pytest.approx(result.f_input - result.f_baseline, rel=1e-3)
    assert np.abs(result.scores - reference).max() <= 0.01 * np.abs(reference).max()


def test_a_chunk_is_padded_only_to_its_own_longest_input(
    classifier_bundle: ModelBundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A short input batched with a long one runs at its own length: the rows are sorted longest first and
    a chunk of 25 × the long length holds the long input's 25 points, then the short one's 25 at its width."""
    from explain.methods.attribution import attribute_many

    short, long = (prepare_input(classifier_bundle, t) for t in ("ok then", TEXT + " " + TEXT))
    assert short.n_tokens < long.n_tokens
    monkeypatch.setattr(integrator, "CPU_TOKENS_PER_CHUNK", 25 * long.n_tokens)
    counter = _PointCounter(classifier_bundle)
    try:
        together = attribute_many(classifier_bundle, [short, long], IGSettings(tolerance=0.5))
    finally:
        counter.handle.remove()
    assert [r.steps_tried for r in together] == [(13, 25), (13, 25)]
    assert counter.widths == [(25, long.n_tokens), (25, short.n_tokens)]
    alone = attribute(classifier_bundle, short, IGSettings(tolerance=0.5))
    assert_attributions_agree(together[0], alone, classifier_bundle, seq=long.n_tokens)


def test_many_inputs_in_padded_batches_equal_each_alone(classifier_bundle: ModelBundle) -> None:
    from explain.methods.attribution import attribute_many

    texts = [TEXT, "bad", "a fine film with good actors and a long, long plot", "ok then"]
    encodings = [prepare_input(classifier_bundle, t) for t in texts]
    counter = _PointCounter(classifier_bundle)
    try:
        together = attribute_many(classifier_bundle, encodings)
    finally:
        counter.handle.remove()
    alone = [attribute(classifier_bundle, e) for e in encodings]
    assert len(counter.forward_only) == 1  # one prepass for all four inputs
    padded = max(e.n_tokens for e in encodings)
    for a, b in zip(together, alone, strict=True):
        assert a.target == b.target and a.steps_tried == b.steps_tried and a.converged == b.converged
        assert_attributions_agree(a, b, classifier_bundle, seq=padded)


def test_unwarped_rule_is_plain_clenshaw_curtis_without_a_prepass(
    classifier_bundle: ModelBundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sanity check's fixed rule: 9 evenly spread Clenshaw–Curtis points, f at the ends from their own pass."""
    bundle = classifier_bundle
    enc = prepare_input(bundle, TEXT)
    settings = IGSettings(target=1, n_steps=9, max_steps=9, baseline=_baseline(bundle))

    def no_prepass(self: integrator.Paths, rows: object) -> np.ndarray:
        raise AssertionError("the unwarped rule runs no forward-only prepass")

    monkeypatch.setattr(integrator.Paths, "outputs", no_prepass)
    result = attribution.attribute(bundle, enc, settings, warp=False)
    k = np.arange(9)
    nodes = (1 - np.cos(k * np.pi / 8)) / 2  # Clenshaw–Curtis on [0, 1], by hand
    weights = quadrature.clenshaw_curtis(8)[1]
    plain = attribution.integrate_at(bundle, enc, settings, target=1, alphas=nodes, weights=weights)
    assert result.n_steps == 9 and list(result.path_alphas) == [0.0, 1.0]
    # the same 9 points in one pass either way; α computed two ways may round to another float32, so the two
    # differ by float32 reordering at most (tests/tolerances.py derives it from the widest sum and the depth)
    scale = attribution_scale(result)
    atol = reorder_atol(bundle, scale, seq=enc.n_tokens, gradient=True)
    np.testing.assert_allclose(result.scores, plain, rtol=0, atol=atol)
    ends = torch.tensor(enc.input_ids)[None], torch.tensor(baseline_ids(bundle, enc, settings.baseline))[None]
    embed = bundle.model.get_input_embeddings()
    with torch.no_grad():
        f = [float(bundle.model(inputs_embeds=embed(i)).logits[0, 1]) for i in ends]
    # the ends' f, read from the gradient pass (sdpa twin), against an eager forward pass: float32 reordering
    forward = reorder_atol(bundle, scale, seq=enc.n_tokens)
    assert abs(result.f_input - f[0]) <= forward and abs(result.f_baseline - f[1]) <= forward
