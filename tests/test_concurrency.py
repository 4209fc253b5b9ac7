"""Attention, IG and head ablation (hooks on the twin) from many threads give the serial results."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch

from explain import IGSettings, ModelBundle, attribute, prepare_input, run_attention
from explain.methods.ablation import ablate, head_importance
from explain.models.gate import HookGate

TEXTS = ["a fine movie", "the worst film of the year by far", "hello world and more", "it was ok"]


def _steep_bert(model_root: Path) -> ModelBundle:
    from tests.conftest import bundle_from
    from tests.fixtures import build_tiny

    folder = model_root / "bert-steep-concurrency"
    if not folder.exists():
        build_tiny("bert", folder, classifier=True, head_scale=5.0)
    return bundle_from(folder)


def test_ablation_hooks_ig_and_attention_concurrently(model_root: Path) -> None:
    """Production head ablation (scaling and batch-growing hooks on the twin) on some threads, production IG
    (on the same twin) and attention (the shared model) on others: every result equals its serial one."""
    bundle = _steep_bert(model_root)
    hooks_before = _hooks(bundle.hooked_model)
    settings = IGSettings(n_steps=9, max_steps=9)
    heads = [(0, 1), (1, 2), (1, 3)]

    def run(kind: str, text: str) -> np.ndarray:
        enc = prepare_input(bundle, text)
        if kind == "ablate":
            return ablate(bundle, enc, heads, target=1).logits_after
        if kind == "map":
            return head_importance(bundle, enc, target=1).delta_logit
        if kind == "ig":
            return attribute(bundle, enc, settings).scores
        return run_attention(bundle, enc).weights

    kinds = ("ablate", "map", "ig", "attn")
    serial = {(k, t): run(k, t) for k in kinds for t in TEXTS}
    jobs = [(k, t) for _ in range(3) for t in TEXTS for k in kinds]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda job: (job, run(*job)), jobs))
    # The same passes in another thread order: float32 rounding only (a batched row can move the last bit).
    for job, got in results:
        np.testing.assert_allclose(got, serial[job], atol=1e-5, err_msg=str(job))
    assert _hooks(bundle.hooked_model) == hooks_before and bundle.gate.waiting == 0  # every ablation hook left


def _hooks(model: torch.nn.Module) -> int:
    return sum(len(m._forward_pre_hooks) + len(m._forward_hooks) for m in model.modules())


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
