"""A first-come, first-served gate for the heavy passes on a model's twin, with a bounded queue.

Hooked passes (head ablation puts hooks on the twin) must not overlap: a hook is seen by every
forward through its module (with Captum's hooks on a shared module, 22 of 30 concurrent runs crashed
and 6 of 30 were silently wrong, measured). Gradient passes (integrated gradients) are heavy on two
cores, and running them one at a time finishes each sooner than sharing the cores. So these passes
run one at a time on a twin of the model that shares its weights; plain attention passes on the
shared eager model never wait behind them. Waiters learn their place in line and the expected wait,
and beyond ``max_waiting`` a newcomer is told the server is busy instead of joining a queue that
would outlast its patience.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from explain.errors import ComputationError

#: Queue length beyond which a new pass is refused (``GLIMPSE_MAX_QUEUE``).
DEFAULT_MAX_WAITING = 8


class BusyError(ComputationError):
    """The queue for heavy passes is full; the message says how long it would have been."""


def max_waiting_from_env(env: dict[str, str] | None = None) -> int:
    raw = (os.environ if env is None else env).get("GLIMPSE_MAX_QUEUE", "")
    return max(1, int(raw)) if raw.strip().isdigit() else DEFAULT_MAX_WAITING


class HookGate:
    """FIFO mutual exclusion with a visible queue position, an expected wait and a bounded queue."""

    def __init__(self, max_waiting: int | None = None) -> None:
        self._cond = threading.Condition()
        self._next_ticket = 0
        self._serving = 0
        self._abandoned: set[int] = set()
        self._max_waiting = max_waiting_from_env() if max_waiting is None else max_waiting
        self._mean_hold_s = 0.0  # moving average of how long a pass holds the gate
        self._held_since = 0.0

    @property
    def waiting(self) -> int:
        """Passes that hold or wait for the gate."""
        with self._cond:
            return self._waiting()

    def expected_wait(self, ahead: int) -> float:
        """Seconds until a pass with ``ahead`` passes before it is served (one of them holds the gate now)."""
        with self._cond:
            if ahead <= 0:
                return 0.0
            elapsed = time.monotonic() - self._held_since
            return max(self._mean_hold_s - elapsed, 0.0) + (ahead - 1) * self._mean_hold_s

    @contextmanager
    def hold(self, on_wait: Callable[[int, float], None] | None = None, poll_s: float = 0.25) -> Iterator[None]:
        """Hold the gate; ``on_wait(ahead, expected_seconds)`` is called while others are ahead of us.

        A waiter whose ``on_wait`` raises (a Streamlit rerun stops the script that way) gives up its
        ticket, so one closed tab cannot block the queue. Raises :class:`BusyError` when full.
        """
        with self._cond:
            if self._waiting() >= self._max_waiting + 1:  # the holder plus max_waiting in line
                ahead = self._waiting()
                raise BusyError(
                    f"The server is busy: {ahead} analyses are running or waiting (about "
                    f"{ahead * self._mean_hold_s:.0f} s of work). Try again in a minute; the previous result is kept."
                )
            ticket = self._next_ticket
            self._next_ticket += 1
        try:
            self._wait_for(ticket, on_wait, poll_s)
        except BaseException:
            with self._cond:
                self._abandoned.add(ticket)
                self._advance_past_abandoned()
            raise
        with self._cond:
            self._held_since = time.monotonic()
        try:
            yield
        finally:
            with self._cond:
                held = time.monotonic() - self._held_since
                self._mean_hold_s = held if self._mean_hold_s == 0.0 else 0.7 * self._mean_hold_s + 0.3 * held
                self._serving += 1
                self._advance_past_abandoned()

    def _waiting(self) -> int:
        return self._next_ticket - self._serving - len(self._abandoned)

    def _wait_for(self, ticket: int, on_wait: Callable[[int, float], None] | None, poll_s: float) -> None:
        while True:
            with self._cond:
                ahead = ticket - self._serving - sum(1 for t in self._abandoned if t < ticket)
                if ticket == self._serving:
                    return
                self._cond.wait(timeout=poll_s)
            if on_wait is not None:  # outside the lock: the callback may draw on a page
                on_wait(ahead, self.expected_wait(ahead))

    def _advance_past_abandoned(self) -> None:
        while self._serving in self._abandoned:
            self._abandoned.discard(self._serving)
            self._serving += 1
        self._cond.notify_all()
