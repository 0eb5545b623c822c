"""A queue of the vehicle's messages of some types, for the protocol code (missions, ACKs)."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from uav.link.errors import LinkLost

if TYPE_CHECKING:
    from uav.link.connection import DroneLink


class Subscription:
    """Messages of some types from the vehicle, queued from when it was made.

    :meth:`get` waits (bounded) for the next one and raises :class:`LinkLost` once the
    connection it was made on is lost or closed."""

    def __init__(self, link: DroneLink, types: frozenset[str]) -> None:
        self._link = link
        self.types = types
        self._queue: deque[Any] = deque()
        self._cond = threading.Condition()
        self._failure: str | None = None

    def offer(self, msg: Any) -> None:
        if msg.get_type() in self.types:
            with self._cond:
                self._queue.append(msg)
                self._cond.notify_all()

    def fail(self, detail: str) -> None:
        with self._cond:
            self._failure = detail
            self._cond.notify_all()

    def get(self, timeout_s: float) -> Any | None:
        """The next message, or None after ``timeout_s`` wall seconds without one."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        with self._cond:
            while not self._queue and self._failure is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
            if self._queue:
                return self._queue.popleft()
            failure = self._failure or "link lost"
        raise LinkLost(self._link.url, failure, self._link.state)

    def close(self) -> None:
        self._link._unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
