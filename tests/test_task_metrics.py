"""The task metrics against values worked out by hand (SQuAD's normalisation, F1 pooling, MSE and r)."""

from __future__ import annotations

import numpy as np
import pytest

from explain.tasks.metrics import exact_match, mse_pearson, multilabel_f1, normalise_answer, token_f1


def test_squad_normalisation_and_scores() -> None:
    assert normalise_answer("The  Eiffel Tower!") == "eiffel tower"
    assert exact_match("the Eiffel tower.", ["Eiffel Tower"]) == 1.0
    assert exact_match("Eiffel", ["Eiffel Tower"]) == 0.0
    # "big cat" against "big dog": one shared word, precision 1/2, recall 1/2
    assert token_f1("the big cat", ["a big dog"]) == pytest.approx(0.5)
    # the best over the gold answers: "paris" matches the second one fully
    assert token_f1("Paris", ["the city of light", "Paris"]) == 1.0
    assert token_f1("nothing shared", ["Paris"]) == 0.0


def test_multilabel_micro_and_macro() -> None:
    truth = np.array([[1, 0], [1, 0]], dtype=bool)
    predicted = np.array([[1, 1], [1, 1]], dtype=bool)
    micro, macro, per = multilabel_f1(truth, predicted)
    # label 0: tp 2, fp 0, fn 0 -> 1; label 1: tp 0, fp 2 -> 0; pooled: tp 2, fp 2, fn 0 -> 4/6
    assert per == [1.0, 0.0]
    assert macro == pytest.approx(0.5)
    assert micro == pytest.approx(4 / 6)


def test_mse_and_pearson() -> None:
    mse, r = mse_pearson(np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.0]))
    assert mse == pytest.approx(14 / 3)  # (1 + 4 + 9) / 3
    assert r == pytest.approx(1.0)
    assert mse_pearson(np.array([1.0, 2.0]), np.array([5.0, 5.0]))[1] is None  # a constant side: r undefined
