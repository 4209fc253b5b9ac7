"""Compare: word alignment, JS divergence, Δ attribution, head similarity, edits and the `compare` verb.

Known answers are written by hand: the rows of an alignment, a JS divergence from its formula, a model
whose heads are a known permutation of another's.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import transformers as tf

from explain import Encoding, ModelBundle, prepare_input
from explain.compare import (
    Alignment,
    Op,
    align_words,
    attention_divergence,
    compare_models,
    compare_sentences,
    head_similarity,
    js_divergence,
    largest_changes,
    suggest_edit,
    top_heads,
    word_delta,
)
from explain.compare import cli as compare_cli
from explain.errors import InputError, ModelSourceError
from explain.methods.attention import AttentionResult, run_attention
from explain.methods.attribution import AttributionResult, IGSettings, attribute
from explain.models.sources import SourceKind, SourcePolicy
from tests.conftest import bundle_from, tiny_dir
from tests.fixtures import build_tiny


def _rows(alignment: Alignment) -> list[tuple[str | None, str | None, str]]:
    return [(alignment.word_a(r), alignment.word_b(r), r.op.value) for r in alignment.rows]


@pytest.fixture(scope="module")
def steep_bundle(model_root: Path) -> ModelBundle:
    """A tiny BERT classifier with a steep head (outputs that depend on the input)."""
    folder = model_root / "bert-steep"
    if not folder.exists():
        build_tiny("bert", folder, classifier=True, head_scale=5.0)
    return bundle_from(folder)


# --- alignment ---------------------------------------------------------------------------------------


def test_an_inserted_word_is_one_insert_row(bert_bundle: ModelBundle) -> None:
    a = prepare_input(bert_bundle, "the movie was good")
    b = prepare_input(bert_bundle, "the movie was not good")
    al = align_words(a, b)
    assert _rows(al) == [
        ("[CLS]", "[CLS]", "equal"),
        ("the", "the", "equal"),
        ("movie", "movie", "equal"),
        ("was", "was", "equal"),
        (None, "not", "insert"),
        ("good", "good", "equal"),
        ("[SEP]", "[SEP]", "equal"),
    ]
    good = al.rows[5]
    assert al.pieces_a(good).tolist() == [4] and al.pieces_b(good).tolist() == [5]
    assert al.pieces_a(al.rows[4]).tolist() == [] and not al.identical


def test_a_deleted_word_is_one_delete_row(bert_bundle: ModelBundle) -> None:
    al = align_words(prepare_input(bert_bundle, "it was not bad"), prepare_input(bert_bundle, "it was bad"))
    assert [op for *_, op in _rows(al)] == ["equal", "equal", "equal", "delete", "equal", "equal"]
    assert _rows(al)[3] == ("not", None, "delete")


def test_a_repeated_word_keeps_the_longest_matching_run(bert_bundle: ModelBundle) -> None:
    # A: very very good, B: very good. The longest common run is "very good" = A's words 2-3 (indices
    # after [CLS]=0), so A's *first* "very" (word 1) is the one deleted.
    al = align_words(prepare_input(bert_bundle, "very very good"), prepare_input(bert_bundle, "very good"))
    assert [(r.a, r.b, r.op.value) for r in al.rows] == [
        (0, 0, "equal"),
        (1, None, "delete"),
        (2, 1, "equal"),
        (3, 2, "equal"),
        (4, 3, "equal"),
    ]


def test_a_word_that_splits_into_other_pieces_is_one_row(bert_bundle: ModelBundle) -> None:
    a = prepare_input(bert_bundle, "it was good")
    b = prepare_input(bert_bundle, "it was unbelievably good")  # un ##bel ##ie ##va ##bly
    al = align_words(a, b)
    assert _rows(al)[3] == (None, "unbelievably", "insert")
    assert al.pieces_b(al.rows[3]).tolist() == [3, 4, 5, 6, 7]
    replaced = align_words(a, prepare_input(bert_bundle, "it was unbelievably"))
    row = replaced.rows[3]
    assert _rows(replaced)[3] == ("good", "unbelievably", "replace")
    assert replaced.pieces_a(row).tolist() == [3] and replaced.pieces_b(row).tolist() == [3, 4, 5, 6, 7]


def test_a_replaced_run_of_unequal_length_pairs_off_then_deletes(bert_bundle: ModelBundle) -> None:
    al = align_words(prepare_input(bert_bundle, "it was very good"), prepare_input(bert_bundle, "it was bad"))
    assert _rows(al)[3:5] == [("very", "bad", "replace"), ("good", None, "delete")]


def test_identical_texts_give_an_empty_diff(bert_bundle: ModelBundle) -> None:
    a = prepare_input(bert_bundle, "the the movie")
    al = align_words(a, prepare_input(bert_bundle, "the the movie"))
    assert al.identical and [(r.a, r.b) for r in al.rows] == [(i, i) for i in range(5)]


def test_pairs_align_segment_with_segment(bert_bundle: ModelBundle) -> None:
    # Over the whole sequence, "a" would match across the boundary; segment by segment it cannot.
    a = prepare_input(bert_bundle, "the cat", "a dog")
    b = prepare_input(bert_bundle, "the cat a", "dog")
    al = align_words(a, b)
    assert [(wa, wb, op, r.segment) for (wa, wb, op), r in zip(_rows(al), al.rows, strict=True)] == [
        ("[CLS]", "[CLS]", "equal", 0),
        ("the", "the", "equal", 0),
        ("cat", "cat", "equal", 0),
        (None, "a", "insert", 0),
        ("[SEP]", "[SEP]", "equal", 0),
        ("a", None, "delete", 1),
        ("dog", "dog", "equal", 1),
        ("[SEP]", "[SEP]", "equal", 1),
    ]


def test_a_pair_and_a_single_text_cannot_be_aligned(bert_bundle: ModelBundle) -> None:
    with pytest.raises(InputError, match="--pair-a and --pair-b"):
        align_words(prepare_input(bert_bundle, "a", "b"), prepare_input(bert_bundle, "a b"))


def test_two_tokenizers_align_on_typed_words_and_specials_by_role(bert_bundle: ModelBundle, model_root: Path) -> None:
    roberta = bundle_from(tiny_dir(model_root, "roberta"))
    text = "the movie was unbelievably great"
    a, b = prepare_input(bert_bundle, text), prepare_input(roberta, text)
    al = align_words(a, b)
    assert _rows(al)[0] == ("[CLS]", "<s>", "equal") and _rows(al)[-1] == ("[SEP]", "</s>", "equal")
    assert al.identical and [wa for wa, _, _ in _rows(al)[1:-1]] == text.split()
    # the pieces of every row, in order, are each encoding's tokens exactly once
    assert np.concatenate([al.pieces_a(r) for r in al.rows]).tolist() == list(range(a.n_tokens))
    assert np.concatenate([al.pieces_b(r) for r in al.rows]).tolist() == list(range(b.n_tokens))
    assert any(len(al.pieces_a(r)) != len(al.pieces_b(r)) for r in al.rows)  # a word split differently


# --- divergence ----------------------------------------------------------------------------------------


def test_js_divergence_by_hand() -> None:
    p = np.array([[1.0, 0.0], [0.5, 0.5], [0.3, 0.7]])
    q = np.array([[0.0, 1.0], [1.0, 0.0], [0.3, 0.7]])
    # disjoint: 1 bit; (.5,.5) vs (1,0): m = (.75,.25), KL(p|m) = 1 - log2(3)/2, KL(q|m) = 2 - log2(3)
    expected = [1.0, 1.5 - 0.75 * math.log2(3), 0.0]
    np.testing.assert_allclose(js_divergence(p, q), expected, atol=1e-15)
    np.testing.assert_array_equal(js_divergence(q, p), js_divergence(p, q))  # symmetric, to the bit


def _attention(enc: Encoding, rows_per_head: list[np.ndarray]) -> AttentionResult:
    """A one-layer result whose head h has every query row equal to rows_per_head[h]."""
    n = enc.n_tokens
    weights = np.stack([np.tile(r, (n, 1)) for r in rows_per_head])[None].astype(np.float32)
    return AttentionResult(enc, weights, None, 0.0)


def test_divergence_compares_shared_words_only(bert_bundle: ModelBundle) -> None:
    a = prepare_input(bert_bundle, "a b")  # [CLS] a b [SEP]
    b = prepare_input(bert_bundle, "a z b")  # [CLS] a z b [SEP]: z inserted
    heads_a = [np.full(4, 0.25), np.array([1.0, 0, 0, 0]), np.array([0.5, 0.5, 0, 0])]
    # head 0: the mass on z is dropped and the rest renormalised: uniform again -> 0
    # head 1: [CLS] in A, [SEP] in B -> disjoint, 1; head 2: (.5,.5,0,0) vs (1,0,0,0) -> 1.5 - .75 log2 3
    heads_b = [np.full(5, 0.2), np.array([0, 0, 0, 0, 1.0]), np.array([0.5, 0, 0.5, 0, 0])]
    out = attention_divergence(_attention(a, heads_a), _attention(b, heads_b), align_words(a, b))
    np.testing.assert_allclose(out, [[0.0, 1.0, 1.5 - 0.75 * math.log2(3)]], atol=1e-7)
    assert top_heads(out)[0].head == 1 and [h.head for h in top_heads(out)] == [1, 2, 0]


def test_a_query_with_all_its_mass_on_changed_words_is_left_out(bert_bundle: ModelBundle) -> None:
    a = prepare_input(bert_bundle, "a b")
    b = prepare_input(bert_bundle, "a z b")
    res_a = _attention(a, [np.array([1.0, 0, 0, 0])])
    weights = np.tile(np.array([0, 0, 0, 0, 1.0], dtype=np.float32), (5, 1))  # every query looks at [SEP] ...
    weights[1] = [0, 0, 1.0, 0, 0]  # ... but "a" looks only at the inserted z: no distribution to compare
    res_b = AttentionResult(b, weights[None, None], None, 0.0)
    out = attention_divergence(res_a, res_b, align_words(a, b))
    assert out[0, 0] == pytest.approx(1.0)  # the three other queries: disjoint, 1 each; "a" not counted as 0


# --- two sentences on one model -------------------------------------------------------------------------


def _alone(bundle: ModelBundle, encoding: Encoding, target: int | None) -> AttributionResult:
    """IG of one input by itself, for the class the comparison explained: the independent reference."""
    return attribute(bundle, encoding, IGSettings(target=target))


def test_identical_inputs_give_zero_divergence_and_zero_delta(steep_bundle: ModelBundle) -> None:
    """B's IG is B's own: bitwise what attributing B alone gives (same input, same arithmetic), so Δ is 0
    because A and B are the same input, not because B's scores were copied from wherever."""
    a = prepare_input(steep_bundle, "the movie was great and the actors were fine")
    b = prepare_input(steep_bundle, a.text)
    result = compare_sentences(steep_bundle, a, b)
    assert result.alignment.identical
    assert np.all(result.divergence == 0.0) and result.divergence.shape == (2, 4)
    assert result.delta_probability is not None and np.all(result.delta_probability == 0.0)
    assert result.attribution_b is not None and result.attribution_b.encoding is b
    alone = _alone(steep_bundle, b, result.target)
    assert np.array_equal(result.attribution_b.scores, alone.scores) and result.attribution_b.target == alone.target
    assert result.words is not None and np.all(result.words.delta == 0.0)
    assert np.abs(result.words.scores_a).max() > 1e-3  # the zero is a difference, not missing scores
    assert any("same words" in n for n in result.notes)


def test_each_side_of_a_pair_is_its_own_attribution(steep_bundle: ModelBundle) -> None:
    """Different inputs in one shared batch: each side equals attributing it alone, to float32 rounding.

    Padding changes only the order of float32 sums: a length-K dot product is within K·u of exact relative
    to the sum of |terms| (u = 2^-24), and the error passes through 2 layers × (attention, feed-forward) ×
    (forward, backward) = 8 such products. With K = 64 (the widest sum: hidden 32, intermediate 37, sequence
    < 64), 8·64·u ≈ 3e-5 of the largest score bounds the difference."""
    a = prepare_input(steep_bundle, "the movie was great")
    b = prepare_input(steep_bundle, "the plot was thin and the jokes were old")
    result = compare_sentences(steep_bundle, a, b)
    assert result.attribution_a is not None and result.attribution_b is not None
    tolerance = 8 * 64 * 2.0**-24
    for side, encoding in ((result.attribution_a, a), (result.attribution_b, b)):
        alone = _alone(steep_bundle, encoding, result.target)
        assert side.encoding is encoding and side.scores.shape == alone.scores.shape
        assert side.steps_tried == alone.steps_tried
        np.testing.assert_allclose(side.scores, alone.scores, rtol=0, atol=tolerance * np.abs(alone.scores).max())


@pytest.mark.parametrize(
    ("text_a", "text_b"),
    [
        ("the movie was great", "the movie was not great"),
        # the tiny model calls A negative (.84) and B positive (.68): the class explained must not be A's
        ("terrible jokes great great", "terrible jokes great"),
    ],
)
def test_swapping_the_inputs_negates_every_delta_and_keeps_the_divergence(
    steep_bundle: ModelBundle, text_a: str, text_b: str
) -> None:
    a, b = prepare_input(steep_bundle, text_a), prepare_input(steep_bundle, text_b)
    ab, ba = compare_sentences(steep_bundle, a, b), compare_sentences(steep_bundle, b, a)
    assert ab.target == ba.target
    assert ab.delta_probability is not None and ba.delta_probability is not None
    np.testing.assert_array_equal(ba.delta_probability, -ab.delta_probability)
    assert ab.prediction_a is not None and ab.prediction_b is not None
    np.testing.assert_array_equal(ab.delta_probability, ab.prediction_b.probabilities - ab.prediction_a.probabilities)
    mirrored = {Op.INSERT: Op.DELETE, Op.DELETE: Op.INSERT}
    assert [(r.b, r.a, mirrored.get(r.op, r.op)) for r in ab.alignment.rows] == [
        (r.a, r.b, r.op) for r in ba.alignment.rows
    ]
    assert ab.words is not None and ba.words is not None
    np.testing.assert_allclose(ba.words.delta, -ab.words.delta, atol=1e-6)
    assert ab.words.limit == pytest.approx(ba.words.limit, abs=1e-6)
    np.testing.assert_array_equal(ba.divergence, ab.divergence)
    assert np.all(ab.divergence > 0)


def test_word_delta_sums_pieces_and_counts_an_inserted_word_from_zero(steep_bundle: ModelBundle) -> None:
    a = prepare_input(steep_bundle, "it was good")
    b = prepare_input(steep_bundle, "it was unbelievably good")
    result = compare_sentences(steep_bundle, a, b)
    words, al = result.words, result.alignment
    assert words is not None and result.attribution_b is not None and result.attribution_a is not None
    inserted = 3  # [CLS] it was | unbelievably | good [SEP]
    assert al.rows[inserted].op is Op.INSERT and words.scores_a[inserted] == 0.0
    assert words.scores_b[inserted] == pytest.approx(result.attribution_b.scores[3:8].sum())
    assert words.delta[inserted] == words.scores_b[inserted]
    assert words.scores_a.sum() == pytest.approx(result.attribution_a.scores.sum())  # nothing lost or counted twice
    all_values = np.abs(np.concatenate([words.scores_a, words.scores_b, words.delta]))
    assert words.limit == all_values.max()


def test_word_delta_by_hand(bert_bundle: ModelBundle) -> None:
    al = align_words(prepare_input(bert_bundle, "it was good"), prepare_input(bert_bundle, "it was not good"))
    ig_a = SimpleNamespace(scores=np.array([0.0, 1.0, -2.0, 3.0, 0.0]))  # [CLS] it was good [SEP]
    ig_b = SimpleNamespace(scores=np.array([0.0, 1.0, 1.0, -4.0, -3.0, 0.0]))  # [CLS] it was not good [SEP]
    words = word_delta(al, ig_a, ig_b)  # type: ignore[arg-type]
    np.testing.assert_array_equal(words.scores_a, [0, 1, -2, 0, 3, 0])  # "not" is inserted: 0 in A
    np.testing.assert_array_equal(words.scores_b, [0, 1, 1, -4, -3, 0])
    np.testing.assert_array_equal(words.delta, [0, 0, 3, -4, -6, 0])  # B − A
    assert words.limit == 6.0  # |Δ| of "good" exceeds every score: the scale holds Δ too
    assert largest_changes(words) == (4, 3, 2)


def test_a_model_without_a_head_still_compares_attention(bert_bundle: ModelBundle) -> None:
    a, b = prepare_input(bert_bundle, "it was good"), prepare_input(bert_bundle, "it was bad")
    result = compare_sentences(bert_bundle, a, b)
    assert result.prediction_a is None and result.words is None and result.delta_probability is None
    assert result.divergence.shape == (2, 4) and np.isfinite(result.divergence).all()
    assert any("no classification head" in n for n in result.notes)


@pytest.mark.slow
def test_default_model_on_a_negation(embedded_bundle: ModelBundle) -> None:
    a = prepare_input(embedded_bundle, "The movie was good.")
    b = prepare_input(embedded_bundle, "The movie was not good.")
    result = compare_sentences(embedded_bundle, a, b)
    assert result.prediction_a is not None and result.prediction_b is not None and result.words is not None
    assert (result.prediction_a.label, result.prediction_b.label) == ("positive", "negative")
    assert result.delta_probability is not None and result.delta_probability[1] < -0.9
    biggest = int(np.argmax(np.abs(result.words.delta)))
    assert result.alignment.word_b(result.alignment.rows[biggest]) == "not"
    assert result.words.delta[biggest] < 0  # "not" pushes against "positive", the class explained
    assert len(result.top_heads) == 3 and result.top_heads[0].value == result.divergence.max()


# --- two models on one text --------------------------------------------------------------------------------


def test_a_model_compared_with_itself_matches_every_head_to_itself(bert_bundle: ModelBundle) -> None:
    enc = prepare_input(bert_bundle, "the movie was great and the actors were fine")
    res = run_attention(bert_bundle, enc)
    sim = head_similarity(res, res, align_words(enc, enc))
    layers, heads = np.meshgrid(range(2), range(4), indexing="ij")
    np.testing.assert_array_equal(sim.best_layer, layers)
    np.testing.assert_array_equal(sim.best_head, heads)
    np.testing.assert_allclose(sim.best_correlation, 1.0, atol=1e-12)


def test_head_similarity_is_pearson_not_cosine(bert_bundle: ModelBundle) -> None:
    enc = prepare_input(bert_bundle, "a")  # [CLS] a [SEP]: one token per word, so merging changes nothing
    x = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])
    affine = 0.5 * x + 0.5 / 3  # halfway to uniform: Pearson r = 1 exactly; cosine only 0.962
    close = np.array([[0.6, 0.1, 0.3], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])  # cosine 0.973 beats it; r = 0.92
    res_a = AttentionResult(enc, x[None, None].astype(np.float32), None, 0.0)
    res_b = AttentionResult(enc, np.stack([affine, close])[None].astype(np.float32), None, 0.0)
    sim = head_similarity(res_a, res_b, align_words(enc, enc))
    assert (sim.best_layer[0, 0], sim.best_head[0, 0]) == (0, 0)
    assert sim.best_correlation[0, 0] == pytest.approx(1.0, abs=1e-6)
    assert sim.correlation[0, 0, 0, 1] == pytest.approx(0.92, abs=1e-6)


def test_a_constant_pattern_has_no_match(bert_bundle: ModelBundle) -> None:
    enc = prepare_input(bert_bundle, "a")
    uniform = np.full((1, 1, 3, 3), 1 / 3, dtype=np.float32)  # no variance: Pearson's r is undefined
    sim = head_similarity(AttentionResult(enc, uniform, None, 0.0), AttentionResult(enc, uniform, None, 0.0),
                          align_words(enc, enc))  # fmt: skip
    assert (sim.best_layer[0, 0], sim.best_head[0, 0]) == (-1, -1) and np.isnan(sim.best_correlation[0, 0])
    assert top_heads(sim.best_correlation, largest=False) == ()


def _permuted_heads(source: Path, target: Path, order: list[int]) -> Path:
    """A copy of a tiny BERT whose layer-0 heads are reordered: new head h is old head order[h]. The
    layer's output is unchanged (the output projection's columns move with the heads)."""
    model = tf.AutoModel.from_pretrained(source)
    attention = model.encoder.layer[0].attention
    size = model.config.hidden_size // model.config.num_attention_heads
    index = torch.cat([torch.arange(h * size, (h + 1) * size) for h in order])
    with torch.no_grad():
        for proj in (attention.self.query, attention.self.key, attention.self.value):
            proj.weight.copy_(proj.weight[index])
            proj.bias.copy_(proj.bias[index])
        attention.output.dense.weight.copy_(attention.output.dense.weight[:, index])
    model.save_pretrained(target)
    tf.AutoTokenizer.from_pretrained(source).save_pretrained(target)
    return target


def test_permuted_heads_are_found_where_they_moved(bert_bundle: ModelBundle, model_root: Path) -> None:
    order = [2, 0, 3, 1]  # B's head h is A's head order[h]: A's head order[h] is found at B's head h
    folder = model_root / "bert-permuted"
    if not folder.exists():
        _permuted_heads(tiny_dir(model_root, "bert"), folder, order)
    result = compare_models(bert_bundle, bundle_from(folder), "the movie was great and the actors were fine")
    sim = result.similarity
    np.testing.assert_array_equal(sim.best_head[0, order], [0, 1, 2, 3])
    np.testing.assert_array_equal(sim.best_layer[0], [0, 0, 0, 0])
    np.testing.assert_allclose(sim.best_correlation[0], 1.0, atol=1e-5)
    np.testing.assert_array_equal(sim.best_head[1], [0, 1, 2, 3])  # layer 1 is untouched
    assert not result.tokenizers_differ and result.prediction_a is None
    assert any("no classification head" in n for n in result.notes)


def test_models_with_other_layer_and_head_counts(bert_bundle: ModelBundle, model_root: Path) -> None:
    folder = model_root / "bert-3x2"
    if not folder.exists():
        torch.manual_seed(1)
        config = tf.BertConfig(vocab_size=bert_bundle.tokenizer.vocab_size, hidden_size=16, num_hidden_layers=3,
                               num_attention_heads=2, intermediate_size=20, max_position_embeddings=64)  # fmt: skip
        tf.BertModel(config).save_pretrained(folder)
        bert_bundle.tokenizer.save_pretrained(folder)
    distil = bundle_from(tiny_dir(model_root, "distilbert"))
    other = bundle_from(folder)
    text = "the movie was great"
    vs_distil = compare_models(bert_bundle, distil, text).similarity
    assert vs_distil.correlation.shape == (2, 4, 2, 4)
    vs_other = compare_models(bert_bundle, other, text).similarity
    assert vs_other.correlation.shape == (2, 4, 3, 2) and vs_other.best_layer.shape == (2, 4)
    assert vs_other.best_layer.max() <= 2 and vs_other.best_head.max() <= 1 and vs_other.best_layer.min() >= 0
    chosen = vs_other.correlation.reshape(8, 6).max(axis=1).reshape(2, 4)
    np.testing.assert_array_equal(vs_other.best_correlation, chosen)
    back = compare_models(other, bert_bundle, text).similarity
    assert back.correlation.shape == (3, 2, 2, 4)
    np.testing.assert_allclose(back.correlation, vs_other.correlation.transpose(2, 3, 0, 1), atol=1e-12)


def test_two_classifiers_with_other_tokenizers_compare_per_word(steep_bundle: ModelBundle, model_root: Path) -> None:
    folder = model_root / "roberta-steep"
    if not folder.exists():
        build_tiny("roberta", folder, classifier=True, head_scale=5.0)
    roberta = bundle_from(folder)
    result = compare_models(steep_bundle, roberta, "the movie was unbelievably great")
    assert result.tokenizers_differ and any("per typed word" in n for n in result.notes)
    assert result.words is not None and result.attribution_a is not None and result.attribution_b is not None
    assert result.target_a == result.target_b  # same class names: one class for both
    assert result.words.scores_a.sum() == pytest.approx(result.attribution_a.scores.sum())
    assert result.words.scores_b.sum() == pytest.approx(result.attribution_b.scores.sum())
    assert result.similarity.best_layer.shape == (2, 4)
    # the two tiny models disagree on "hello world" (BERT positive .998, RoBERTa negative .973): both explain
    # the class of the larger p_A + p_B (positive: 1.025 against 0.975), not each its own prediction
    disagree = compare_models(steep_bundle, roberta, "hello world")
    assert disagree.prediction_a is not None and disagree.prediction_b is not None
    assert (disagree.prediction_a.label, disagree.prediction_b.label) == ("positive", "negative")
    assert (disagree.target_a, disagree.target_b) == (1, 1)


def test_the_second_model_obeys_the_source_policy() -> None:
    from explain.compare import load_second_model

    no_folders = SourcePolicy(allowed=frozenset({SourceKind.EMBEDDED, SourceKind.HUB}))
    with pytest.raises(ModelSourceError, match="turned off"):
        load_second_model("/tmp/some-model", no_folders)


# --- edits ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected", "rule"),
    [
        ("The movie was good.", "The movie was not good.", "negation"),
        ("The movie was not good.", "The movie was good.", "negation"),
        ("It isn't funny", "It is funny", "negation"),
        ("the film is n't bad", "the film is bad", "negation"),
        ("the plot was very thin", "the plot was not very thin", "negation"),
        ("it 's a charming film", "it 's an irritating film", "antonym"),  # no copula + adjective: "'s a"
        ("I love it.", "I hate it.", "antonym"),
        ("He lost his keys.", "She lost her keys.", "gender"),
        ("She left her.", "He left him.", "gender"),
        ("John met a woman", "Mary met a man", "gender"),
    ],
)
def test_edits(text: str, expected: str, rule: str) -> None:
    edit = suggest_edit(text)
    assert (edit.text, edit.rule.value) == (expected, rule)


def test_an_edit_can_be_asked_for_by_rule_and_says_when_none_applies() -> None:
    assert suggest_edit("The movie was good.", "antonym").text == "The movie was bad."
    with pytest.raises(InputError, match="Type sentence B yourself"):
        suggest_edit("nothing to see here")
    with pytest.raises(InputError, match="Available: negation, antonym, gender"):
        suggest_edit("The movie was good.", "sarcasm")


def test_negation_is_not_inserted_beside_another() -> None:
    # "likely not" cannot be removed (no auxiliary before it); a second "not" would read as nonsense
    text = "they will likely not find what they 're seeking"
    with pytest.raises(InputError, match="No 'negation' edit applies"):
        suggest_edit(text, "negation")
    assert suggest_edit("they will not find what they 're seeking").text == "they will find what they 're seeking"


# --- the compare verb -----------------------------------------------------------------------------------------


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m explain")
    parser.add_argument("--model", default="")  # the global option explain/cli.py defines
    compare_cli.add_parser(parser.add_subparsers())
    return parser.parse_args(argv)


def test_cli_two_sentences_json(steep_bundle: ModelBundle) -> None:
    args = _parse(["compare", "--text", "it was great", "--text-b", "it was not great", "--json"])
    out = json.loads(json.dumps(args.run(steep_bundle, args)))
    assert out["mode"] == "sentences" and out["a"]["prediction"]["label"] in {"negative", "positive"}
    assert [(w["a"], w["b"], w["op"]) for w in out["words"]][3] == (None, "not", "insert")
    assert out["words"][3]["attribution_a"] == 0.0
    assert len(out["top_heads"]) == 3 and len(out["divergence"]["map"]) == 2
    assert out["largest_delta"][0]["delta"] == max((w["delta"] for w in out["words"]), key=abs)
    assert set(out["delta_probability"]) == {"negative", "positive"}


def test_cli_edit_and_pairs(steep_bundle: ModelBundle) -> None:
    args = _parse(["compare", "--text", "the movie was great", "--edit"])
    out = args.run(steep_bundle, args)
    assert out["b"]["text"] == "the movie was not great" and out["edit"]["rule"] == "negation"
    args = _parse(["compare", "--text", "a man sleeps", "--pair-a", "he rests",
                   "--text-b", "a man runs", "--pair-b", "he rests", "--no-attribution"])  # fmt: skip
    out = args.run(steep_bundle, args)
    assert [w["segment"] for w in out["words"]] == [0, 0, 0, 0, 0, 1, 1, 1]
    assert out["words"][3]["op"] == "replace" and out["ig"] is None
    args = _parse(["compare", "--text", "the movie was great", "--pair-a", "he rests", "--edit", "--no-attribution"])
    out = args.run(steep_bundle, args)  # an edited pair keeps A's second segment unless --pair-b says otherwise
    assert (out["b"]["text"], out["b"]["pair"]) == ("the movie was not great", "he rests")


def test_cli_two_models_keeps_the_global_model_apart(bert_bundle: ModelBundle, model_root: Path) -> None:
    folder = str(tiny_dir(model_root, "distilbert"))
    args = _parse(["--model", "/first", "compare", "--text", "the movie was great", "--model-b", folder])
    assert args.model == "/first" and args.model_b == folder
    out = args.run(bert_bundle, args)
    assert out["mode"] == "models" and out["b"]["model"] == f"folder:{folder}"
    assert len(out["head_similarity"]["best"]) == 2 and len(out["head_similarity"]["best"][0]) == 4
    assert out["a"]["prediction"] is None and len(out["top_heads"]) == 3


def test_cli_errors_say_how_to_fix(bert_bundle: ModelBundle) -> None:
    args = _parse(["compare", "--text", "the movie"])
    with pytest.raises(InputError, match="--text-b"):
        args.run(bert_bundle, args)
    args = _parse(["compare", "--text", "a", "--text-b", "b", "--model-b", "embedded"])
    with pytest.raises(InputError, match="--pair-a"):
        args.run(bert_bundle, args)


def test_cli_help_documents_the_pair_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parse(["compare", "--help"])
    shown = " ".join(capsys.readouterr().out.split())  # argparse wraps help lines
    assert "--pair-a PAIR_A second segment of A" in shown and "--pair-b PAIR_B second segment of B" in shown
    assert "--text-b TEXT_B sentence B" in shown and "--steps" in shown
