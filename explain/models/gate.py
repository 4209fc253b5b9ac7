"""A first-come, first-served gate for passes that put hooks on a shared model.

Captum registers forward hooks on the embedding module during ``attribute()``; any other forward
through that module meanwhile is corrupted (measured: 22/30 concurrent runs crashed, 6/30 were
silently wrong). Hooked passes therefore run one at a time on a twin of the model that shares its
weights, so plain attention passes on the shared eager model never wait behind them. Waiters learn
their place in line so the UI can say "2 analyses ahead of you".
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class HookGate:
    """FIFO mutual exclusion with a visible queue position."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next_ticket = 0
        self._serving = 0
        self._abandoned: set[int] = set()

    @property
    def waiting(self) -> int:
        """Passes that hold or wait for the gate."""
        with self._cond:
            return self._next_ticket - self._serving - len(self._abandoned)

    @contextmanager
    def hold(self, on_wait: Callable[[int], None] | None = None, poll_s: float = 0.25) -> Iterator[None]:
        """Hold the gate; ``on_wait(ahead)`` is called while others are ahead of us.

        A waiter whose ``on_wait`` raises (a Streamlit rerun stops the script that way) gives up its
        ticket, so one closed tab cannot block the queue.
        """
        with self._cond:
            ticket = self._next_ticket
            self._next_ticket += 1
        try:
            self._wait_for(ticket, on_wait, poll_s)
        except BaseException:
            with self._cond:
                self._abandoned.add(ticket)
                self._advance_past_abandoned()
            raise
        try:
            yield
        finally:
            with self._cond:
                self._serving += 1
                self._advance_past_abandoned()

    def _wait_for(self, ticket: int, on_wait: Callable[[int], None] | None, poll_s: float) -> None:
        while True:
            with self._cond:
                ahead = ticket - self._serving - sum(1 for t in self._abandoned if t < ticket)
                if ticket == self._serving:
                    return
                self._cond.wait(timeout=poll_s)
            if on_wait is not None:  # outside the lock: the callback may draw on a page
                on_wait(ahead)

    def _advance_past_abandoned(self) -> None:
        while self._serving in self._abandoned:
            self._abandoned.discard(self._serving)
            self._serving += 1
        self._cond.notify_all()
