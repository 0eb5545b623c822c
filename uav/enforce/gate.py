"""Decisions first: how the drones' watches share one Python interpreter.

Every watch runs on its own thread, but Python runs one thread at a time. When many drones
report at the same instant (an emulator or a fleet on synchronised clocks does: twenty
positions within a few milliseconds), twenty CPU-bound predictions handed out in 1 ms slices
all finish at the end of the burst, and whatever else the watches do then (projecting the
zones around a drone for its next predictions, writing events to the database) delays the
decisions still waiting. The :class:`DecisionGate` orders that work:

* a position's arrival makes its drone *pending* (noted on the link's reader thread);
* predictions run one at a time (:meth:`DecisionGate.deciding`), so the first to arrive is
  decided first instead of every one finishing last;
* a drone stops being pending once its decision is made and any command it takes has been
  sent (:meth:`DecisionGate.done`);
* housekeeping waits, bounded by ``wait_s``, until no drone is pending
  (:meth:`DecisionGate.wait_idle`): it is never starved for longer than that.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class DecisionGate:
    """Shared by the watches of one monitor."""

    def __init__(self) -> None:
        self._decide = threading.Lock()
        self._changed = threading.Condition()
        self._pending: set[str] = set()

    def arrived(self, drone: str) -> None:
        """A position of ``drone`` arrived: it is pending until :meth:`done`."""
        with self._changed:
            self._pending.add(drone)

    def done(self, drone: str) -> None:
        """``drone``'s decision is made (and its command, if any, sent)."""
        with self._changed:
            self._pending.discard(drone)
            if len(self._pending) <= 1:  # idle for everyone, or for the one still pending
                self._changed.notify_all()

    @property
    def pending(self) -> frozenset[str]:
        with self._changed:
            return frozenset(self._pending)

    @contextmanager
    def deciding(self) -> Iterator[None]:
        """One prediction at a time."""
        with self._decide:
            yield

    def wait_idle(self, wait_s: float, me: str | None = None) -> bool:
        """Wait until no drone (other than ``me``) is pending, at most ``wait_s``; returns
        whether none is."""
        with self._changed:
            return self._changed.wait_for(lambda: not (self._pending - {me}), timeout=wait_s)
