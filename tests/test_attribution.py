from __future__ import annotations

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
from explain.methods.attribution import baseline_ids

TEXT = "the movie was great and the actors were fine"


def test_completeness_holds_at_enough_steps(classifier_bundle: ModelBundle) -> None:
    enc = prepare_input(classifier_bundle, TEXT, "hello world")
    coarse = attribute(classifier_bundle, enc, IGSettings(n_steps=2, max_steps=2))
    result = attribute(classifier_bundle, enc, IGSettings(n_steps=2, tolerance=1e-3, max_steps=512))
    gap = result.f_input - result.f_baseline
    assert abs(gap) > 0.05, "the fixture must make the output depend on the input"
    assert result.relative_delta <= 5e-3 and result.relative_delta < coarse.relative_delta
    assert result.scores.sum() == pytest.approx(gap, rel=5e-3)
    assert result.convergence_delta == pytest.approx(result.scores.sum() - gap, abs=1e-9)


@pytest.mark.parametrize("method", ["riemann_middle", "gausslegendre"])
def test_matches_captum_reference(classifier_bundle: ModelBundle, method: str) -> None:
    """Plain Captum LIG on the shared eager model, token ids in, [PAD] baseline: same numbers."""
    bundle = classifier_bundle
    enc = prepare_input(bundle, TEXT)
    ours = attribute(bundle, enc, IGSettings(n_steps=16, tolerance=10.0, method=method))  # type: ignore[arg-type]
    ids = torch.from_numpy(enc.input_ids)[None]
    base = torch.from_numpy(baseline_ids(bundle, enc, Baseline.PAD))[None]
    model = bundle.model
    if bundle.info.family == "roberta":  # [PAD] ids would move RoBERTa's positions; ours hold them fixed
        base = ids.clone()
        base[0, ~torch.from_numpy(enc.special)] = bundle.tokenizer.unk_token_id
        ours = attribute(bundle, enc, IGSettings(n_steps=16, tolerance=10.0, baseline=Baseline.UNK, method=method))  # type: ignore[arg-type]

    def forward(x: torch.Tensor) -> torch.Tensor:
        return model(input_ids=x).logits  # type: ignore[no-any-return]

    ref = LayerIntegratedGradients(forward, model.get_input_embeddings()).attribute(
        ids, baselines=base, target=ours.target, n_steps=16, method=method
    )
    ref_scores = ref[0].sum(-1).double().numpy()
    assert np.abs(ref_scores - ours.scores).max() <= 1e-4 * np.abs(ref_scores).max()


def test_target_and_output_options(classifier_bundle: ModelBundle) -> None:
    enc = prepare_input(classifier_bundle, TEXT)
    settings = IGSettings(output="probability", max_steps=512)
    p0 = attribute(classifier_bundle, enc, IGSettings(**{**settings.__dict__, "target": 0}))
    p1 = attribute(classifier_bundle, enc, IGSettings(**{**settings.__dict__, "target": 1}))
    assert (p0.target, p1.target) == (0, 1)
    # with two classes p0 = 1 - p1, so the attributions are exact opposites
    np.testing.assert_allclose(p0.scores, -p1.scores, atol=1e-4 * np.abs(p1.scores).max() + 1e-9)
    logit = attribute(classifier_bundle, enc, IGSettings(target=1))
    assert logit.f_input != pytest.approx(p1.f_input)
    assert 0.0 <= p1.f_input <= 1.0
    predicted = attribute(classifier_bundle, enc)
    assert predicted.target == int(np.argmax([p0.f_input, p1.f_input]))
    with pytest.raises(AttributionError, match="classes are 0 to 1"):
        attribute(classifier_bundle, enc, IGSettings(target=5))


@pytest.mark.parametrize("baseline", list(Baseline))
def test_baselines_keep_specials_and_change_the_reference(classifier_bundle: ModelBundle, baseline: Baseline) -> None:
    enc = prepare_input(classifier_bundle, TEXT)
    ids = baseline_ids(classifier_bundle, enc, baseline)
    np.testing.assert_array_equal(ids[enc.special], enc.input_ids[enc.special])
    assert len(set(ids[~enc.special].tolist())) == 1
    result = attribute(classifier_bundle, enc, IGSettings(baseline=baseline, max_steps=512))
    # (a random BERT's [PAD] row is initialised to zero, so compare with [MASK], or [PAD] for [MASK])
    other = Baseline.PAD if baseline is Baseline.MASK else Baseline.MASK
    ref = attribute(classifier_bundle, enc, IGSettings(baseline=other))
    assert result.settings.baseline is baseline
    assert result.f_baseline != pytest.approx(ref.f_baseline, abs=1e-6)
    assert not np.allclose(result.scores, ref.scores)
    assert result.relative_delta <= 0.01


def test_steps_rise_to_the_cap_and_say_so(classifier_bundle: ModelBundle) -> None:
    enc = prepare_input(classifier_bundle, TEXT)
    result = attribute(classifier_bundle, enc, IGSettings(n_steps=4, tolerance=1e-12, max_steps=16))
    assert result.steps_tried == (4, 16) and result.n_steps == 16  # far off: straight to the cap
    assert not result.converged


def test_next_steps_scale_with_the_gap() -> None:
    from explain.methods.attribution import next_steps

    assert next_steps(8, 0.011, 0.01, 128) == 16  # just over: double
    assert next_steps(8, 0.039, 0.01, 128) == 32  # ~4x over: sqrt says x2.5, so x4
    assert next_steps(8, 10.0, 0.01, 128) == 128  # hopeless: the cap
    assert next_steps(64, 0.02, 0.01, 100) == 100


def test_companions_and_word_sums(classifier_bundle: ModelBundle) -> None:
    enc = prepare_input(classifier_bundle, "unbelievably great movie", "yes")
    result = attribute(classifier_bundle, enc)
    assert result.grad_x_input.shape == result.saliency.shape == (enc.n_tokens,)
    assert (result.saliency >= 0).all() and result.saliency.max() > 0
    labels, words = word_scores(result.scores, enc)
    assert labels == enc.words
    assert words.sum() == pytest.approx(result.scores.sum())


def test_model_without_head_has_nothing_to_attribute(bert_bundle: ModelBundle) -> None:
    with pytest.raises(AttributionError, match="no classification head"):
        attribute(bert_bundle, prepare_input(bert_bundle, TEXT))


def test_no_hooks_left_and_shared_model_untouched(classifier_bundle: ModelBundle) -> None:
    attribute(classifier_bundle, prepare_input(classifier_bundle, TEXT))
    for model in (classifier_bundle.model, classifier_bundle.hooked_model):
        emb = model.get_input_embeddings()
        assert not emb._forward_hooks and not emb._forward_pre_hooks
        assert not model.training
    assert classifier_bundle.model.config._attn_implementation == "eager"
    assert classifier_bundle.gate.waiting == 0


def test_first_try_depends_on_length(classifier_bundle: ModelBundle) -> None:
    from explain.methods.attribution import first_steps

    assert (first_steps(16), first_steps(128), first_steps(129), first_steps(512)) == (8, 8, 12, 12)
    result = attribute(classifier_bundle, prepare_input(classifier_bundle, TEXT), IGSettings(tolerance=10.0))
    assert result.steps_tried == (8,)
