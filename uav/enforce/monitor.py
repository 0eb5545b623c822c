"""``uav monitor``: every drone watched at once, acting before a breach.

:class:`Monitor` reads the drones (the registry), the zones (all of them, one
:class:`~uav.check.index.ZoneIndex` built once) and each drone's grants from the store, starts
one :class:`~uav.enforce.watch.DroneWatch` per drone and runs until ``duration_s`` or until
``stop`` is set (Ctrl-C: the caller's KeyboardInterrupt ends :meth:`Monitor.run` the same
way). Every event goes to the store, to the JSON log (one object per line, flushed) and to
``on_event``; a store that fails does not stop the monitor (the JSON log and the count say so).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from uav.enforce.gate import DecisionGate
from uav.enforce.model import EnforcementEvent, EventKind, Result
from uav.enforce.options import MonitorOptions
from uav.enforce.predict import Predictor
from uav.enforce.watch import DroneView, DroneWatch
from uav.errors import InputError, UavError
from uav.gcpause import freeze_long_lived
from uav.timeutil import now_utc

if TYPE_CHECKING:
    from uav.check.index import ZoneIndex
    from uav.store import Store

log = logging.getLogger(__name__)

RECENT_EVENTS = 50
JOIN_S = 15.0  # wall seconds for a watch to finish at stop (its link closes, bounded)

__all__ = ["Monitor", "MonitorOptions", "MonitorResult"]


@dataclass(frozen=True)
class MonitorResult:
    events: int
    actions: int  # commands sent
    failed_actions: int  # refused, not confirmed in time, or link lost while acting
    alerts: int
    store_errors: int


class Monitor:
    """Watches drones ``names`` (every registered drone when empty)."""

    def __init__(
        self,
        store: Store,
        names: Sequence[str] = (),
        options: MonitorOptions | None = None,
        *,
        on_event: Callable[[EnforcementEvent], None] | None = None,
        json_log: TextIO | None = None,
        index: ZoneIndex | None = None,
    ) -> None:
        from uav.check.index import ZoneIndex
        from uav.fleet.links import targets

        self.store = store
        self.options = options or MonitorOptions()
        self.on_event = on_event
        self.json_log = json_log
        self.targets = targets(store, names)
        if not self.targets:
            raise InputError("no drones to monitor: register them with `uav fleet add`")
        self._fixed_index = index
        self._signature = store.rules_signature()
        self.index = index if index is not None else ZoneIndex(store.zones())
        self._predictors = self._build_predictors()
        self._lock = threading.Lock()
        self._recent: deque[EnforcementEvent] = deque(maxlen=RECENT_EVENTS)
        self._counts = {"events": 0, "actions": 0, "failed": 0, "alerts": 0, "store": 0}
        self._watches: list[DroneWatch] = []

    def _build_predictors(self) -> dict[str, Predictor]:
        base = Predictor(
            self.index,
            lookahead_s=self.options.lookahead_s,
            buffer_m=self.options.buffer_m,
            max_alt_m=self.options.max_alt_m,
            time_margin_s=self.options.time_margin_s,
        )
        return {
            t.name: base.for_drone(t.name, self.store.grants(drone=t.name)) for t in self.targets
        }

    def reload_if_changed(self) -> bool:
        """Rebuild the zone index and the grants when the store's changed (a zone loaded or
        removed, a grant given or revoked); the watches use the new ones from their next
        position on. Returns whether it reloaded."""
        from uav.check.index import ZoneIndex

        signature = self.store.rules_signature()
        if signature == self._signature:
            return False
        self._signature = signature
        if self._fixed_index is None:
            self.index = ZoneIndex(self.store.zones())
        self._predictors = self._build_predictors()
        for w in self._watches:
            w.predictor = self._predictors[w.name]
        return True

    @property
    def zone_count(self) -> int:
        return len(self.index)

    def run(
        self,
        stop: threading.Event | None = None,
        duration_s: float | None = None,
        *,
        tick: Callable[[Monitor], None] | None = None,
        tick_s: float = 0.25,
    ) -> MonitorResult:
        """Watch until ``duration_s`` (wall) has passed or ``stop`` is set; ``tick`` is
        called every ``tick_s`` on this thread (the dashboard). Always stops every watch and
        closes every link, also on KeyboardInterrupt."""
        if duration_s is not None and not duration_s > 0:
            raise InputError(f"duration {duration_s} s must be above 0")
        stop = stop or threading.Event()
        deadline = None if duration_s is None else time.monotonic() + duration_s
        halt = threading.Event()
        gate = DecisionGate()
        next(iter(self._predictors.values())).warm_up(now_utc())
        freeze_long_lived()
        self._watches = [
            DroneWatch(t, self._predictors[t.name], self.options, self._emit, halt, gate)
            for t in self.targets
        ]
        try:
            for w in self._watches:
                w.start()
            next_reload = time.monotonic() + self.options.reload_s
            while not stop.is_set():
                left = tick_s if deadline is None else min(tick_s, deadline - time.monotonic())
                if left <= 0:
                    break
                stop.wait(left)
                if time.monotonic() >= next_reload:
                    next_reload = time.monotonic() + self.options.reload_s
                    self._reload_quietly()
                if tick is not None:
                    tick(self)
        finally:
            halt.set()
            for w in self._watches:
                w.join(JOIN_S)
        return self.result()

    def _reload_quietly(self) -> None:
        try:
            if self.reload_if_changed():
                log.info("zones or grants changed: %d zones now", len(self.index))
        except UavError as exc:  # keep enforcing what was loaded; try again next time
            log.error("zones or grants not reloaded: %s", exc)

    def result(self) -> MonitorResult:
        with self._lock:
            c = dict(self._counts)
        return MonitorResult(c["events"], c["actions"], c["failed"], c["alerts"], c["store"])

    def views(self) -> list[DroneView]:
        return [w.view() for w in self._watches]

    def decision_latencies_ms(self, since_s: float = float("-inf")) -> list[float]:
        """Position arrival -> assessed and decided (an action, if any, is sent right then),
        for every position that arrived at or after ``since_s`` (``time.perf_counter``; the
        last 20,000 per drone)."""
        return [ms for w in self._watches for t, ms in list(w.decisions) if t >= since_s]

    def recent_events(self, n: int = 10) -> list[EnforcementEvent]:
        with self._lock:
            return list(self._recent)[-n:]

    def _emit(self, event: EnforcementEvent) -> None:
        """Record one event (called from the watches' threads)."""
        with self._lock:
            try:
                event = self.store.add_event(event)
            except UavError as exc:
                self._counts["store"] += 1
                log.error("%s: event not stored: %s", event.drone, exc)
            self._count(event)
            self._recent.append(event)
            if self.json_log is not None:
                self.json_log.write(json.dumps(event.to_json(), ensure_ascii=False) + "\n")
                self.json_log.flush()
        if self.on_event is not None:
            self.on_event(event)

    def _count(self, event: EnforcementEvent) -> None:
        c = self._counts
        c["events"] += 1
        if event.kind is EventKind.LOST:
            c["alerts"] += 1
        if event.kind is EventKind.UNCERTAIN:
            c["alerts"] += 1
            c["failed"] += 1  # a drone the monitor could not judge ends the run non-zero
        if event.action is not None and event.result is not Result.ALREADY:
            c["actions"] += 1
        if event.failed:
            c["failed"] += 1
