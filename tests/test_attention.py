from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from explain import (
    HeadFusion,
    ModelBundle,
    attention_view,
    head_average,
    merge_pieces,
    prepare_input,
    renormalise,
    rollout,
    rollout_relevance,
    run_attention,
)

TEXT = "Unbelievably, the film's ending wasn't terrible"


def test_shape_and_rows_sum_to_one(family_bundle: ModelBundle) -> None:
    result = run_attention(family_bundle, prepare_input(family_bundle, TEXT, "second part"))
    n = result.encoding.n_tokens
    assert result.weights.shape == (2, 4, n, n)
    np.testing.assert_allclose(result.weights.sum(-1), 1.0, atol=1e-5)
    assert not result.weights.flags.writeable


def test_results_match_a_direct_forward(bert_bundle: ModelBundle) -> None:
    import torch

    enc = prepare_input(bert_bundle, TEXT)
    with torch.no_grad():
        ref = bert_bundle.model(input_ids=torch.tensor(enc.input_ids)[None], output_attentions=True).attentions
    np.testing.assert_allclose(run_attention(bert_bundle, enc).weights[1, 2], ref[1][0, 2].numpy(), atol=1e-6)


@pytest.mark.parametrize("hide", [False, True])
def test_word_merge_preserves_row_sums(family_bundle: ModelBundle, hide: bool) -> None:
    result = run_attention(family_bundle, prepare_input(family_bundle, TEXT))
    view = attention_view(result, hide_special=hide, merge_words=True)
    assert view.weights.shape[-1] == len(view.labels)
    np.testing.assert_allclose(view.weights.sum(-1), 1.0, atol=1e-5)
    if family_bundle.info.family != "roberta":  # its tiny BPE vocab differs; words are the same
        assert "Unbelievably," in view.labels and "wasn't" in view.labels


def test_merge_pieces_by_hand() -> None:
    a = np.array([[0.5, 0.25, 0.25], [0.0, 1.0, 0.0], [0.2, 0.2, 0.6]], dtype=np.float32)
    merged = merge_pieces(a, np.array([0, 1, 1]))
    # to word 1 = sum of columns 1, 2; from word 1 = mean of rows 1, 2
    np.testing.assert_allclose(merged, [[0.5, 0.5], [0.1, 0.9]], atol=1e-6)


def test_hide_special_renormalises(bert_bundle: ModelBundle) -> None:
    result = run_attention(bert_bundle, prepare_input(bert_bundle, TEXT))
    view = attention_view(result, hide_special=True, merge_words=False)
    assert "[CLS]" not in view.labels and "[SEP]" not in view.labels
    assert len(view.labels) == result.encoding.n_tokens - 2
    np.testing.assert_allclose(view.weights.sum(-1), 1.0, atol=1e-5)


def test_hide_special_by_hand(bert_bundle: ModelBundle) -> None:
    result = run_attention(bert_bundle, prepare_input(bert_bundle, "good film"))
    assert result.encoding.tokens == ("[CLS]", "good", "film", "[SEP]")
    weights = np.array(
        [
            [0.7, 0.1, 0.1, 0.1],
            [0.1, 0.3, 0.1, 0.5],  # good -> good, film: 0.3, 0.1 of 0.4 left
            [0.6, 0.0, 0.2, 0.2],  # film -> good, film: 0.0, 0.2 of 0.2 left
            [0.2, 0.2, 0.2, 0.4],
        ],
        dtype=np.float32,
    )[None, None]  # (1 layer, 1 head, 4, 4)
    view = attention_view(dataclasses.replace(result, weights=weights), hide_special=True, merge_words=False)
    assert view.labels == ("good", "film")
    np.testing.assert_allclose(view.weights[0, 0], [[0.75, 0.25], [0.0, 1.0]], atol=1e-6)


def test_renormalise_by_hand() -> None:
    rows = np.array([[1.0, 1.0, 2.0], [0.0, 0.0, 0.0], [3.0, 0.0, 1.0]])
    # a row with no mass stays zero instead of dividing by zero
    np.testing.assert_allclose(renormalise(rows), [[0.25, 0.25, 0.5], [0.0, 0.0, 0.0], [0.75, 0.0, 0.25]])


@pytest.mark.parametrize("fusion", list(HeadFusion))
@pytest.mark.parametrize("residual", [0.0, 0.5, 0.9])
def test_rollout_rows_sum_to_one(bert_bundle: ModelBundle, fusion: HeadFusion, residual: float) -> None:
    result = run_attention(bert_bundle, prepare_input(bert_bundle, TEXT))
    joint = rollout(result.weights, residual, fusion)
    np.testing.assert_allclose(joint.sum(-1), 1.0, atol=1e-5)
    assert (joint >= 0).all()


def test_rollout_by_hand() -> None:
    layer = np.array([[[0.5, 0.5], [1.0, 0.0]]], dtype=np.float32)[None]  # (1 layer, 1 head, 2, 2)
    np.testing.assert_allclose(rollout(layer, residual=1.0), np.eye(2), atol=1e-7)
    np.testing.assert_allclose(rollout(layer, residual=0.0), layer[0, 0], atol=1e-7)
    two = np.concatenate([layer, layer])
    np.testing.assert_allclose(rollout(two, residual=0.0), layer[0, 0] @ layer[0, 0], atol=1e-6)
    with pytest.raises(ValueError, match=r"(?i)residual.*1\.5"):  # the message names the knob and the value
        rollout(layer, residual=1.5)


def test_rollout_relevance_words_sum_pieces(bert_bundle: ModelBundle) -> None:
    result = run_attention(bert_bundle, prepare_input(bert_bundle, TEXT))
    joint = rollout(result.weights)
    _, tokens = rollout_relevance(joint, result.encoding, hide_special=True, merge_words=False)
    labels, words = rollout_relevance(joint, result.encoding, hide_special=True, merge_words=True)
    assert tokens.sum() == pytest.approx(1.0, abs=1e-5) and words.sum() == pytest.approx(1.0, abs=1e-5)
    assert len(labels) == len(words) < len(tokens)


def test_head_average_rows_sum_to_one(bert_bundle: ModelBundle) -> None:
    result = run_attention(bert_bundle, prepare_input(bert_bundle, TEXT))
    np.testing.assert_allclose(head_average(result.weights).sum(-1), 1.0, atol=1e-5)
