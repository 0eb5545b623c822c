"""What every feed reader shares: the :class:`Source` protocol, :class:`SourceStats`, batching
and a bounded reconnect backoff.

A source's ``run(emit, stop, stats)`` reads its feed on the calling thread until ``stop`` is
set or the feed ends (files), handing :class:`~uav.detect.model.Detection` s to ``emit`` in
batches (a list, never empty). Malformed input is counted in ``stats.skipped`` (with the last
problem in ``stats.last_error``) and never ends the run; a lost connection is re-opened after a
backoff that grows to a bound, and every wait is bounded so ``stop`` is noticed within about
:data:`POLL_S`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from uav.detect.model import Detection

C = TypeVar("C")  # a feed's open connection

Emit = Callable[[list[Detection]], None]

POLL_S = 0.2  # the longest a reader blocks before it looks at `stop` again
BATCH_MAX = 1000  # detections per emitted batch at most
BATCH_AGE_S = 0.25  # a detection waits at most this long (wall) in a batch


@dataclass
class SourceStats:
    """Counters one source keeps while it runs (safe to read from another thread).

    ``read``: input units read (lines, messages, aircraft entries); ``parsed``: detections
    produced; ``skipped``: malformed units (counted, never fatal); ``ignored``: well-formed
    units that carry no detection (other message types, static Remote ID data merged into later
    detections, aircraft without a position); ``duplicates``: detections dropped because the
    source already gave the same sighting; ``reconnects``: connections re-opened after a drop;
    ``last_error``: the latest problem, in words (``line 12: ...``)."""

    read: int = 0
    parsed: int = 0
    skipped: int = 0
    ignored: int = 0
    duplicates: int = 0
    reconnects: int = 0
    last_error: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def error(self, detail: str, *, skipped: int = 1) -> None:
        """Count ``skipped`` malformed units and remember why."""
        with self._lock:
            self.skipped += skipped
            self.last_error = detail

    def problem(self, detail: str) -> None:
        """Remember a problem that skipped nothing (a refused connect, a failed poll)."""
        with self._lock:
            self.last_error = detail

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "read": self.read,
                "parsed": self.parsed,
                "skipped": self.skipped,
                "ignored": self.ignored,
                "duplicates": self.duplicates,
                "reconnects": self.reconnects,
                "last_error": self.last_error,
            }


class Source(Protocol):
    """One feed. ``name`` is the spec it was made from (``sbs:tcp:127.0.0.1:30003``)."""

    name: str

    def run(self, emit: Emit, stop: threading.Event, stats: SourceStats) -> None: ...


class Batcher:
    """Collects detections and hands them to ``emit`` in batches of at most ``max_size``, and
    at least every ``max_age_s`` (wall) once :meth:`flush_due` is called that late."""

    def __init__(
        self, emit: Emit, stats: SourceStats, *, max_size: int = BATCH_MAX,
        max_age_s: float = BATCH_AGE_S,
    ) -> None:  # fmt: skip
        self._emit = emit
        self._stats = stats
        self._max_size = max_size
        self._max_age_s = max_age_s
        self._batch: list[Detection] = []
        self._first_mono = 0.0

    def add(self, detection: Detection) -> None:
        if not self._batch:
            self._first_mono = time.monotonic()
        self._batch.append(detection)
        if len(self._batch) >= self._max_size:
            self.flush()

    def extend(self, detections: list[Detection]) -> None:
        for d in detections:
            self.add(d)

    def flush_due(self) -> None:
        if self._batch and time.monotonic() - self._first_mono >= self._max_age_s:
            self.flush()

    def flush(self) -> None:
        if self._batch:
            batch, self._batch = self._batch, []
            self._stats.add(parsed=len(batch))
            self._emit(batch)


@dataclass
class Backoff:
    """Reconnect delays: ``initial_s``, doubling up to ``max_s``; :meth:`reset` after a
    connection that worked."""

    initial_s: float = 0.5
    max_s: float = 10.0
    _next_s: float = 0.0

    def __post_init__(self) -> None:
        self._next_s = self.initial_s

    def wait(self, stop: threading.Event) -> bool:
        """Wait the current delay (or until ``stop``); True when it is time to try again."""
        delay, self._next_s = self._next_s, min(self._next_s * 2, self.max_s)
        return not stop.wait(delay)

    def reset(self) -> None:
        self._next_s = self.initial_s


def run_reconnecting(
    connect: Callable[[], C | None],
    read: Callable[[C], None],
    close: Callable[[C], None],
    *,
    where: str,
    errors: tuple[type[BaseException], ...],
    stop: threading.Event,
    stats: SourceStats,
    backoff: Backoff,
    batcher: Batcher,
) -> None:
    """The life of a network feed: connect (``connect`` reports its own failure and returns
    None), ``read`` until the connection drops or idles (it raises one of ``errors``) or
    ``stop`` is set (it returns), flush and close, wait the backoff, connect again; until
    ``stop``. Every reconnection after the first connection is counted."""
    connected_before = False
    while not stop.is_set():
        conn = connect()
        if conn is None:
            if not backoff.wait(stop):
                break
            continue
        if connected_before:
            stats.add(reconnects=1)
        connected_before = True
        try:
            read(conn)
            backoff.reset()
        except errors as exc:
            stats.problem(f"{where}: {exc or type(exc).__name__}")
        finally:
            batcher.flush()
            close(conn)
        if not stop.is_set() and not backoff.wait(stop):
            break


def clean_text(raw: Any) -> str | None:
    """A char[] field as text: bytes or str, cut at the first NUL, stripped; None if empty."""
    if isinstance(raw, bytes | bytearray):
        raw = bytes(raw).split(b"\0", 1)[0].decode("ascii", "replace")
    elif isinstance(raw, list):
        raw = bytes(b for b in raw).split(b"\0", 1)[0].decode("ascii", "replace")
    text = str(raw).split("\0", 1)[0].strip()
    return text or None


def valid_lat_lon(lat_deg: float, lon_deg: float) -> bool:
    return -90.0 <= lat_deg <= 90.0 and -180.0 <= lon_deg <= 180.0
