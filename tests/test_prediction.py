"""Predictions: a batch (padded, masked) gives what each text gives alone, and what the pages show."""

from __future__ import annotations

import numpy as np

from explain import ModelBundle, prepare_input, probabilities, run_attention
from explain.methods.prediction import predict_logits, predict_proba
from tests.tolerances import reorder_atol

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
        atol = reorder_atol(classifier_bundle, float(np.abs(shown).max()), seq=enc.n_tokens)  # the twin vs eager
        np.testing.assert_allclose(predict_proba(classifier_bundle, [text])[0], probabilities(shown), rtol=0, atol=atol)


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


def test_threads_sharing_a_tokenizer_get_their_own_padding_and_truncation(classifier_bundle: ModelBundle) -> None:
    """A fast tokenizer sets padding and truncation on its shared Rust object at every call: without the lock,
    a thread's batch came back padded to another call's length (seen in the suite: 'expected sequence of
    length 10 at dim 1 (got 17)') or a long text untruncated."""
    from concurrent.futures import ThreadPoolExecutor

    limit = classifier_bundle.info.max_length
    long_text = " ".join(["word"] * (limit + 40))  # truncated by prepare_input, never by the plain call
    batches = [["a fine film", "a dull and lifeless film that drags on " * k] for k in range(1, 6)]
    want_proba = [predict_proba(classifier_bundle, b) for b in batches]
    want_long = prepare_input(classifier_bundle, long_text).n_tokens

    def job(i: int) -> bool:
        if i % 2:
            return int(prepare_input(classifier_bundle, long_text).n_tokens) == want_long
        k = i // 2 % len(batches)
        return bool(np.allclose(predict_proba(classifier_bundle, batches[k]), want_proba[k], atol=1e-6))

    import sys

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as Python can, so an unlocked race shows at once
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            assert all(pool.map(job, range(1000)))
    finally:
        sys.setswitchinterval(interval)
