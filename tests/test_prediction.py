"""Predictions: a batch (padded, masked) gives what each text gives alone, and what the pages show."""

from __future__ import annotations

import numpy as np

from explain import ModelBundle, prepare_input, probabilities, run_attention
from explain.methods.prediction import predict_logits, predict_proba

TEXTS = ["a fine movie", "the worst film of the year by far, and long", "ok", "hello world and more words", "yes"]


def test_batched_predictions_equal_single_ones(classifier_bundle: ModelBundle) -> None:
    together = predict_proba(classifier_bundle, TEXTS, batch_size=len(TEXTS))
    alone = np.concatenate([predict_proba(classifier_bundle, [t], batch_size=1) for t in TEXTS])
    # log-probabilities: the steep tiny heads saturate, so compare where the differences still show
    np.testing.assert_allclose(np.log(together), np.log(alone), atol=1e-3)
    assert not np.allclose(np.log(together[0]), np.log(together[1]), atol=0.1)  # the texts really differ


def test_predictions_equal_what_the_pages_show(classifier_bundle: ModelBundle) -> None:
    for text in TEXTS:
        enc = prepare_input(classifier_bundle, text)
        shown = run_attention(classifier_bundle, enc).logits
        assert shown is not None
        np.testing.assert_allclose(predict_logits(classifier_bundle, enc), shown, atol=1e-5)
        np.testing.assert_allclose(predict_proba(classifier_bundle, [text])[0], probabilities(shown), atol=1e-5)
