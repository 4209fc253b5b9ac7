"""Attention passes and hooked passes (as Captum makes them) from many threads give the serial results."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from explain import ModelBundle, prepare_input, run_attention
from explain.models.gate import HookGate

TEXTS = ["a fine movie", "the worst film of the year by far", "hello world and more", "it was ok"]


def hooked_pass(bundle: ModelBundle, text: str) -> np.ndarray:
    """Like Captum's LayerIntegratedGradients: a hook on the embeddings replaces their output."""
    enc = prepare_input(bundle, text)
    ids = torch.tensor(enc.input_ids)[None]
    model = bundle.hooked_model
    embeddings = model.get_input_embeddings()

    def scale(module: torch.nn.Module, args: object, output: torch.Tensor) -> torch.Tensor:
        return output * 0.5

    with bundle.gate.hold():
        handle = embeddings.register_forward_hook(scale)
        try:
            with torch.no_grad():
                out = model(input_ids=ids).last_hidden_state[0].numpy().copy()
        finally:
            handle.remove()
    return out


def test_attention_and_hooked_passes_concurrently(bert_bundle: ModelBundle) -> None:
    serial_attn = {t: run_attention(bert_bundle, prepare_input(bert_bundle, t)).weights for t in TEXTS}
    serial_hook = {t: hooked_pass(bert_bundle, t) for t in TEXTS}
    jobs = [(kind, t) for _ in range(8) for t in TEXTS for kind in ("attn", "hook")]

    def run(job: tuple[str, str]) -> tuple[str, str, np.ndarray]:
        kind, text = job
        if kind == "attn":
            return kind, text, run_attention(bert_bundle, prepare_input(bert_bundle, text)).weights
        return kind, text, hooked_pass(bert_bundle, text)

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(run, jobs))
    for kind, text, got in results:
        expected = serial_attn[text] if kind == "attn" else serial_hook[text]
        np.testing.assert_allclose(got, expected, atol=1e-5)
    embeddings = bert_bundle.model.get_input_embeddings()
    assert not embeddings._forward_hooks and not bert_bundle.hooked_model.get_input_embeddings()._forward_hooks


def test_hooks_on_the_twin_never_reach_the_shared_model(bert_bundle: ModelBundle) -> None:
    enc = prepare_input(bert_bundle, TEXTS[1])
    before = run_attention(bert_bundle, enc).weights
    handle = bert_bundle.hooked_model.get_input_embeddings().register_forward_hook(lambda m, a, o: o * 0)
    try:
        np.testing.assert_array_equal(run_attention(bert_bundle, enc).weights, before)
    finally:
        handle.remove()


#: Every wait in these tests ends by this many seconds: a broken gate fails the test instead of hanging it.
DEADLINE_S = 10.0


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting until {what}")
        time.sleep(0.005)


def join_all(threads: list[threading.Thread]) -> None:
    for t in threads:
        t.join(DEADLINE_S)
    assert not any(t.is_alive() for t in threads), "a thread is still stuck in the gate"


def test_gate_is_first_come_first_served_and_reports_position() -> None:
    gate = HookGate()
    order: list[int] = []
    positions: list[int] = []
    first_in = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with gate.hold():
            first_in.set()
            release.wait(DEADLINE_S)
            order.append(0)

    def waiter(i: int) -> None:
        with gate.hold(on_wait=lambda ahead, *_: positions.append(ahead), poll_s=0.01):
            order.append(i)

    threads = [threading.Thread(target=holder, daemon=True)]
    threads[0].start()
    assert first_in.wait(DEADLINE_S), "the first pass never entered the gate"
    for i in (1, 2):
        t = threading.Thread(target=waiter, args=(i,), daemon=True)
        t.start()
        threads.append(t)
        wait_until(lambda i=i: gate.waiting >= i + 1, f"{i} pass(es) queue behind the holder")
    wait_until(lambda: 2 in positions, "the second waiter reports two passes ahead")
    release.set()
    join_all(threads)
    assert order == [0, 1, 2]
    assert gate.waiting == 0


def test_full_queue_refuses_newcomers_and_waiters_hear_the_expected_wait() -> None:
    from explain.models.gate import BusyError

    gate = HookGate(max_waiting=1)
    with gate.hold():  # a first pass that took 2 s sets the expected hold time
        pass
    gate._mean_hold_s = 2.0
    release = threading.Event()
    heard: list[tuple[int, float]] = []

    def holder() -> None:
        with gate.hold():
            release.wait(DEADLINE_S)

    def waiter() -> None:
        with gate.hold(on_wait=lambda ahead, expected: heard.append((ahead, expected)), poll_s=0.01):
            pass

    threads = [threading.Thread(target=holder, daemon=True)]
    threads[0].start()
    wait_until(lambda: gate.waiting >= 1, "the holder is in the gate")
    threads.append(threading.Thread(target=waiter, daemon=True))
    threads[1].start()
    wait_until(lambda: gate.waiting >= 2 and heard, "the waiter is in line")
    with pytest.raises(BusyError, match="busy"), gate.hold():  # holder + 1 waiting = full
        pass
    release.set()
    join_all(threads)
    ahead, expected = heard[0]
    assert ahead == 1 and 0.0 < expected <= 2.0  # one pass ahead, at most its mean hold time left
    assert gate.waiting == 0


def test_abandoned_waiter_does_not_block_the_queue() -> None:
    gate = HookGate()
    release = threading.Event()

    def stop(ahead: int, *_: object) -> None:
        raise RuntimeError("session closed")

    def holder() -> None:
        with gate.hold():
            release.wait(DEADLINE_S)

    t = threading.Thread(target=holder, daemon=True)
    t.start()
    wait_until(lambda: gate.waiting >= 1, "the holder is in the gate")
    with pytest.raises(RuntimeError), gate.hold(on_wait=stop, poll_s=0.01):
        pass
    release.set()
    join_all([t])
    entered = threading.Event()

    def later() -> None:
        with gate.hold():  # would wait forever if the abandoned ticket still held a place
            entered.set()

    late = threading.Thread(target=later, daemon=True)
    late.start()
    assert entered.wait(DEADLINE_S), "the abandoned ticket still blocks the queue"
    join_all([late])
    assert gate.waiting == 0


def test_attributions_from_many_sessions_equal_serial_and_spare_attention(model_root: object) -> None:
    """Several sessions attribute (Captum hooks) while others read attention: all get serial results."""
    from explain import IGSettings, attribute
    from tests.conftest import bundle_from
    from tests.fixtures import build_tiny

    folder = model_root / "bert-steep-concurrency"  # type: ignore[operator]
    if not folder.exists():
        build_tiny("bert", folder, classifier=True, head_scale=5.0)
    bundle = bundle_from(folder)
    settings = IGSettings(n_steps=9, max_steps=9)  # odd: a nested grid
    serial_ig = {t: attribute(bundle, prepare_input(bundle, t), settings).scores for t in TEXTS}
    serial_attn = {t: run_attention(bundle, prepare_input(bundle, t)).weights for t in TEXTS}
    jobs = [(kind, t) for _ in range(4) for t in TEXTS for kind in ("ig", "attn")]

    def run(job: tuple[str, str]) -> tuple[str, str, np.ndarray]:
        kind, text = job
        enc = prepare_input(bundle, text)
        if kind == "ig":
            return kind, text, attribute(bundle, enc, settings).scores
        return kind, text, run_attention(bundle, enc).weights

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(run, jobs))
    for kind, text, got in results:
        np.testing.assert_allclose(got, (serial_ig if kind == "ig" else serial_attn)[text], atol=1e-5)
    assert bundle.gate.waiting == 0
