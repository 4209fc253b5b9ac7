"""Sanity check: cascading randomisation of tiny classifiers, in a throwaway copy of the model."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from explain import Baseline, IGSettings, ModelBundle, attribute, prepare_input
from explain.errors import ModelLoadError, SettingsError
from explain.methods import sanity
from explain.methods.agreement import spearman
from explain.methods.sanity import IG_CAP, IG_FIRST_TRY, IG_TOLERANCE, SanitySettings, cascade, reinitialise
from tests.conftest import bundle_from
from tests.fixtures import build_tiny

# 40 WordPiece tokens: a chance rank correlation over 38 words has a standard deviation near 0.16
TEXT = (
    "the movie was great and the actors were fine but the jokes were bad and the plot was thin , yet the music "
    "was lovely and the ending made me smile in a way i did not expect"
)
IG = "integrated gradients"


def _steep(root: Path, family: str) -> ModelBundle:
    folder = root / f"{family}-steep"  # the same folders as conftest's classifier_bundle
    if not folder.exists():
        build_tiny(family, folder, classifier=True, head_scale=5.0)
    return bundle_from(folder)


@pytest.fixture(scope="session")
def steep_bert(model_root: Path) -> ModelBundle:
    return _steep(model_root, "bert")


def _weights_hash(model: nn.Module) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode() + tensor.detach().contiguous().numpy().tobytes())
    return digest.hexdigest()


def test_randomising_every_layer_decorrelates_ig_and_leaves_the_shared_model_alone(
    classifier_bundle: ModelBundle,
) -> None:
    bundle = classifier_bundle
    enc = prepare_input(bundle, TEXT)
    ids = torch.tensor(enc.input_ids)[None]
    with torch.no_grad():
        logits = bundle.model(input_ids=ids).logits
    hashes = _weights_hash(bundle.model), _weights_hash(bundle.hooked_model)
    r = sanity.sanity_check(bundle, enc, 1)
    assert (_weights_hash(bundle.model), _weights_hash(bundle.hooked_model)) == hashes
    with torch.no_grad():
        assert torch.equal(bundle.model(input_ids=ids).logits, logits)
    assert r.steps[0].startswith("the classifier head") and r.steps[1:] == ("layer 2 of 2", "layer 1 of 2")
    ig = r.methods.index(IG)
    assert abs(r.correlations[-1, ig]) < 0.5 and IG not in r.insensitive  # from 1 with itself
    # Row 0 is the original model's IG, checked without IG's code: completeness against two plain forward
    # passes of the shared model (the baseline as IG builds it: [PAD] for every non-special token, fed as
    # word embeddings so positions stay the input's; RoBERTa would number [PAD] ids as padding).
    base_ids = ids.clone()
    base_ids[0, torch.from_numpy(~enc.special)] = bundle.tokenizer.pad_token_id
    embed = bundle.model.get_input_embeddings()
    with torch.no_grad():
        f = [float(bundle.model(inputs_embeds=embed(i)).logits[0, 1]) for i in (ids, base_ids)]
    # IG's schedule accepts |δ| ≤ IG_TOLERANCE·max(|Δf|, floor); the eager pass here and IG's sdpa twin
    # differ by float32 rounding (~1e-6 relative at these depths), far inside the 1e-4 added.
    scale = max(abs(f[0] - f[1]), IGSettings().abs_floor)
    assert r.ig_converged[0]
    assert abs(r.scores[0, ig].sum() - (f[0] - f[1])) <= (IG_TOLERANCE + 1e-4) * scale
    assert abs(r.scores[-1, ig].sum() - (f[0] - f[1])) > 2 * IG_TOLERANCE * scale  # a random model's row fails
    # Attention does not read the head: randomising only the head leaves it exactly as it was.
    attention = r.methods.index("attention")
    np.testing.assert_array_equal(r.scores[1, attention], r.scores[0, attention])
    assert r.ig_relative_delta.shape == r.ig_converged.shape == (4,) and not r.correlations.flags.writeable


def test_same_seed_same_correlations_other_seed_other(steep_bert: ModelBundle) -> None:
    enc = prepare_input(steep_bert, TEXT)
    first = sanity.sanity_check(steep_bert, enc, 1, settings=SanitySettings(seed=0))
    again = sanity.sanity_check(steep_bert, enc, 1, settings=SanitySettings(seed=0))
    other = sanity.sanity_check(steep_bert, enc, 1, settings=SanitySettings(seed=1))
    np.testing.assert_array_equal(first.correlations, again.correlations)
    assert not np.allclose(first.correlations[:, 0], other.correlations[:, 0])


def test_ig_keeps_the_callers_output_and_baseline(steep_bert: ModelBundle) -> None:
    enc = prepare_input(steep_bert, TEXT)
    asked = IGSettings(output="probability", baseline=Baseline.UNK, n_steps=5, max_steps=5)  # the schedule is ours
    r = sanity.sanity_check(steep_bert, enc, 0, ig=asked)
    same = IGSettings(target=0, output="probability", baseline=Baseline.UNK, n_steps=IG_FIRST_TRY, max_steps=IG_CAP,
                      tolerance=IG_TOLERANCE)  # fmt: skip
    np.testing.assert_allclose(r.scores[0, r.methods.index(IG)], attribute(steep_bert, enc, same).scores, rtol=1e-6)


def test_a_method_blind_to_the_model_is_flagged(steep_bert: ModelBundle, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 'method' that scores each token by its length ignores the weights: ρ stays 1 at every step."""
    real = sanity.method_scores

    def with_length(attribution, attention):  # type: ignore[no-untyped-def]
        scores = real(attribution, attention)
        return {**scores, "token length": np.array([len(t) for t in attribution.encoding.tokens], dtype=float)}

    monkeypatch.setattr(sanity, "method_scores", with_length)
    r = sanity.sanity_check(steep_bert, prepare_input(steep_bert, TEXT), 1)
    np.testing.assert_allclose(r.correlations[:, r.methods.index("token length")], 1.0)
    assert r.insensitive == ("token length",)
    everything = sanity.sanity_check(
        steep_bert, prepare_input(steep_bert, TEXT), 1, settings=SanitySettings(threshold=0)
    )
    assert set(everything.insensitive) == set(everything.methods)


def test_cascade_steps_of_each_head_and_family(classifier_bundle: ModelBundle, model_root: Path) -> None:
    head = {
        "bert": ("bert.pooler", "classifier"),
        "roberta": ("classifier",),  # RoBERTa's classifier has no pooler
        "distilbert": ("pre_classifier", "classifier"),
        "electra": ("classifier",),
    }[classifier_bundle.info.family]
    steps = cascade(classifier_bundle.model)
    assert steps[0][1] == head and [s[0] for s in steps[1:]] == ["layer 2 of 2", "layer 1 of 2"]
    assert steps[1][1][0].endswith("layer.1") and steps[2][1][0].endswith("layer.0")  # top-down
    albert = _steep(model_root, "albert")
    assert [s[1] for s in cascade(albert.model)] == [("albert.pooler", "classifier"),
                                                      ("albert.encoder.albert_layer_groups",)]  # fmt: skip
    told: list[str] = []
    r = sanity.sanity_check(albert, prepare_input(albert, TEXT), 1, on_progress=told.append)
    assert r.steps == ("the classifier head and pooler", "every layer (ALBERT shares one)")
    assert told == ["Sanity check: the original model", *(f"Sanity check: randomising {s}" for s in r.steps)]


def test_a_model_without_a_head_is_refused_without_waiting_in_line(bert_bundle: ModelBundle) -> None:
    with pytest.raises(ModelLoadError, match="ForSequenceClassification"):
        cascade(bert_bundle.model)

    def on_wait(ahead: int, _seconds: float) -> None:
        raise AssertionError("waited in line for a model it must refuse")

    with bert_bundle.gate.hold(), pytest.raises(ModelLoadError):
        sanity.sanity_check(bert_bundle, prepare_input(bert_bundle, TEXT), 0, on_wait=on_wait)


def test_reinitialise_follows_the_families_init() -> None:
    module = nn.Sequential(nn.Linear(128, 128), nn.LayerNorm(128))
    with torch.no_grad():
        module[1].weight.fill_(3.0)
        module[1].bias.fill_(2.0)
    reinitialise(module, 0.02, torch.Generator().manual_seed(0))
    weight = module[0].weight.detach()
    assert float(weight.std()) == pytest.approx(0.02, rel=0.03)  # 16,384 draws: the std to ~1 %
    assert abs(float(weight.mean())) < 0.001
    assert not module[0].bias.any()
    assert bool((module[1].weight == 1).all()) and not module[1].bias.any()


def test_spearman_by_hand() -> None:
    assert spearman(np.array([1.0, 2, 3, 4]), np.array([1.0, 3, 2, 4])) == pytest.approx(0.8)  # 1 − 6·2/(4·15)
    # ties share their mean rank: ranks (0.5, 0.5, 2, 3) against (0, 1, 2, 3) -> 4.5 / sqrt(4.5 · 5)
    assert spearman(np.array([1.0, 1, 2, 3]), np.array([1.0, 2, 3, 4])) == pytest.approx(3 / np.sqrt(10))
    assert spearman(np.array([4.0, 3, 2, 1]), np.array([1.0, 2, 3, 4])) == pytest.approx(-1.0)
    assert np.isnan(spearman(np.ones(4), np.arange(4.0)))


def test_settings_bounds() -> None:
    with pytest.raises(SettingsError, match="Unchanged at"):
        SanitySettings(threshold=1.5)
    with pytest.raises(SettingsError, match="Seed"):
        SanitySettings(seed=-1)


def test_the_cascade_waits_for_the_gate(steep_bert: ModelBundle) -> None:
    class Waited(Exception):
        pass

    def on_wait(ahead: int, _seconds: float) -> None:
        raise Waited(ahead)

    with steep_bert.gate.hold(), pytest.raises(Waited):
        sanity.sanity_check(steep_bert, prepare_input(steep_bert, TEXT), 1, on_wait=on_wait)


def test_the_callers_original_ig_is_reused_only_when_it_fits(
    steep_bert: ModelBundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Row 0 is the caller's own (certified, 1 %) IG of this input and class: one IG run saved per diagnosis.
    IG of another class, or of another input, is not that row, and is recomputed."""
    from explain.methods.attention import run_attention

    enc = prepare_input(steep_bert, TEXT)
    mine = attribute(steep_bert, enc, IGSettings(target=1))
    attention = run_attention(steep_bert, enc)
    calls: list[int] = []
    real = sanity.attribute

    def counted(bundle, encoding, settings, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(settings.target)
        return real(bundle, encoding, settings, **kwargs)

    monkeypatch.setattr(sanity, "attribute", counted)
    reused = sanity.sanity_check(steep_bert, enc, 1, original=(mine, attention))
    steps = len(reused.steps)
    assert len(calls) == steps  # the randomised models only
    np.testing.assert_array_equal(reused.scores[0, reused.methods.index(IG)], mine.scores)
    calls.clear()
    other_class = sanity.sanity_check(steep_bert, enc, 0, original=(mine, attention))
    assert len(calls) == steps + 1 and other_class.target == 0
    calls.clear()
    other = prepare_input(steep_bert, "a short other text")
    sanity.sanity_check(steep_bert, other, 1, original=(mine, attention))
    assert len(calls) == steps + 1


@pytest.mark.parametrize(("layers", "labels"), [
    (12, ["layers 12–11 of 12", "layers 10–9 of 12", "layers 8–7 of 12", "layers 6–5 of 12", "layers 4–3 of 12",
          "layers 2–1 of 12"]),
    (7, ["layers 7–6 of 7", "layers 5–4 of 7", "layers 3–2 of 7", "layer 1 of 7"]),
    (6, [f"layer {i} of 6" for i in range(6, 0, -1)]),
])  # fmt: skip
def test_a_deep_model_randomises_adjacent_layers_together(layers: int, labels: list[str]) -> None:
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(vocab_size=30, hidden_size=8, num_hidden_layers=layers, num_attention_heads=2,
                        intermediate_size=8, max_position_embeddings=16)  # fmt: skip
    steps = cascade(BertForSequenceClassification(config))
    assert [s[0] for s in steps[1:]] == labels and len(steps) - 1 <= sanity.MAX_LAYER_STEPS
    names = [n for _label, group in steps[1:] for n in group]
    assert names == [f"bert.encoder.layer.{i}" for i in reversed(range(layers))]  # every layer once, top-down


def test_reinitialise_draws_the_same_weights_on_any_number_of_threads() -> None:
    def drawn(threads: int, seed: int) -> list[torch.Tensor]:
        module = nn.Sequential(nn.Linear(64, 64), nn.Linear(64, 64), nn.Linear(64, 32))
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            reinitialise(module, 0.02, torch.Generator().manual_seed(seed))
        finally:
            torch.set_num_threads(before)
        return [layer.weight.detach().clone() for layer in module]

    one, two = drawn(1, 0), drawn(2, 0)
    assert all(torch.equal(a, b) for a, b in zip(one, two, strict=True))
    assert not torch.equal(one[0], one[1])  # each weight has a generator of its own, not a shared seed
    assert not torch.equal(one[0], drawn(2, 1)[0])
