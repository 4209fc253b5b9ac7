"""Attention ↔ attribution agreement per head, on hand-made attention with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from explain import ModelBundle, prepare_input
from explain.errors import SettingsError
from explain.methods.agreement import (
    AgreementSettings,
    attention_to_tokens,
    head_agreement,
    kendall_tau_b,
    token_scores,
)


def _weights(enc_len: int, cls_rows: list[list[float]]) -> np.ndarray:
    """[1 layer, heads, seq, seq]: each head's [CLS] row as given, other rows uniform."""
    w = np.full((1, len(cls_rows), enc_len, enc_len), 1.0 / enc_len)
    for h, row in enumerate(cls_rows):
        w[0, h, 0] = row
    return w


def test_a_head_that_attends_in_ig_order_agrees_perfectly(bert_bundle: ModelBundle) -> None:
    enc = prepare_input(bert_bundle, "the movie was great")  # [CLS] the movie was great [SEP]
    assert enc.n_tokens == 6
    ig = np.array([0.0, 0.1, -0.4, 0.05, 0.9, 0.0])  # |IG| order of the words: great > movie > the > was
    same = [0.3, 0.12, 0.2, 0.08, 0.25, 0.05]  # specials (.3, .05) left out; the .12, movie .2, was .08, great .25
    reverse = [0.3, 0.2, 0.12, 0.25, 0.08, 0.05]  # the opposite order
    out = head_agreement(_weights(6, [same, reverse]), ig, enc)
    np.testing.assert_allclose(out, [[1.0, -1.0]])
    signed = head_agreement(_weights(6, [same]), ig, enc, AgreementSettings(signed=True))
    # signed IG order: great .9 > the .1 > was .05 > movie -.4; attention: great > movie > the > was
    # ranks (0-based) attention [1, 2, 0, 3], IG [2, 0, 1, 3] -> Spearman = 1 - 6*(1+4+1+0)/(4*15) = 0.4
    assert signed[0, 0] == pytest.approx(0.4)


def test_specials_are_dropped_and_pieces_merged_like_the_other_views(bert_bundle: ModelBundle) -> None:
    enc = prepare_input(bert_bundle, "unbelievably good")  # [CLS] un ##bel ##ie ##va ##bly good [SEP] (or similar)
    n = enc.n_tokens
    row = np.arange(1, n + 1, dtype=np.float64)
    w = _weights(n, [list(row / row.sum())])
    tokens = attention_to_tokens(w, enc, AgreementSettings())
    assert tokens.shape == (1, 1, n - 2)
    words = attention_to_tokens(w, enc, AgreementSettings(merge_words=True))
    np.testing.assert_allclose(words[0, 0], [row[1 : n - 2].sum() / row.sum(), row[n - 2] / row.sum()])
    scores = np.arange(n, dtype=np.float64) - 2.0
    np.testing.assert_allclose(token_scores(scores, enc, AgreementSettings(merge_words=True, signed=True)),
                               [scores[1 : n - 2].sum(), scores[n - 2]])  # fmt: skip


def test_mean_over_queries_uses_the_non_special_rows(bert_bundle: ModelBundle) -> None:
    enc = prepare_input(bert_bundle, "a b c")  # [CLS] a b c [SEP]
    w = np.zeros((1, 1, 5, 5))
    w[0, 0, 0] = [0, 1, 0, 0, 0]  # [CLS] looks at "a" only: ignored for the mean over queries
    w[0, 0, 1:4] = [[0, 0, 0, 1, 0]] * 3  # every word looks at "c"
    w[0, 0, 4] = [0, 0, 1, 0, 0]
    mean = attention_to_tokens(w, enc, AgreementSettings(query="mean"))
    np.testing.assert_allclose(mean[0, 0], [0, 0, 1])


def test_kendall_tau_b_by_hand_and_with_ties() -> None:
    assert kendall_tau_b(np.array([1.0, 2, 3, 4]), np.array([1.0, 3, 2, 4])) == pytest.approx(4 / 6)
    # ties: a has one tied pair; pairs 6, concordant 4, discordant 1, tied in a 1 -> (4-1)/sqrt(5*6)
    assert kendall_tau_b(np.array([1.0, 1, 2, 3]), np.array([1.0, 2, 4, 3])) == pytest.approx(3 / np.sqrt(30))
    assert np.isnan(kendall_tau_b(np.ones(4), np.arange(4.0)))


def test_settings_refuse_unknown_choices() -> None:
    with pytest.raises(SettingsError, match="Attention from"):
        AgreementSettings(query="last")  # type: ignore[arg-type]


def test_one_rank_correlation_serves_every_method() -> None:
    """Agreement, head importance's rank agreement and the sanity check share one tie-aware Spearman
    (tests/test_sanity.py::test_spearman_by_hand checks it by hand), so no copy can drift."""
    from explain.methods import ablation, agreement, sanity

    assert sanity.spearman is agreement.spearman and ablation.spearman is agreement.spearman
