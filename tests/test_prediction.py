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


def test_batched_predictions_wait_for_the_gate(classifier_bundle: ModelBundle) -> None:
    """They run on the twin, where an ablation's hooks may be: so they queue behind it."""
    import threading
    import time

    release, done = threading.Event(), threading.Event()

    def holder() -> None:
        with classifier_bundle.gate.hold():
            release.wait(10)

    threading.Thread(target=holder, daemon=True).start()
    deadline = time.monotonic() + 10
    while classifier_bundle.gate.waiting < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    worker = threading.Thread(target=lambda: (predict_proba(classifier_bundle, TEXTS), done.set()), daemon=True)
    worker.start()
    assert not done.wait(0.5), "predictions ran beside a pass that holds the gate"
    release.set()
    assert done.wait(10)
