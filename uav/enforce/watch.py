"""One drone under watch: its link, its assessments, its episodes and actions, its alerts.

A :class:`DroneWatch` runs one thread. The link's reader thread only notes the arrival of
each GLOBAL_POSITION_INT (``time.perf_counter``) and wakes it; the watch then assesses the
newest state (a slow assessment skips stale states rather than queueing them) and acts on
the drone itself, so a slow drone never stalls another one.

Episodes: the action is sent once per (drone, zone) episode — the key is the zone, or the
rule for zone-less rules (above-ceiling, outside-operating-area). An episode ends when its
zone has not triggered for :attr:`MonitorOptions.episode_clear_s`. Within an episode, a drone
in the action's mode (put there by the monitor or already in it) whose stopping path at the
mode's braking still enters the zone is escalated once to BRAKE. Disarmed drones are shown,
never acted on.

Alerts: a link that is down, or no position for ``stale_s`` (wall), is one ``lost`` event;
the watch keeps trying (a new link every ``retry_s`` once the link gave up) and records
``back`` when positions arrive again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from uav.enforce.act import Outcome, TimedLink, request_monitor_messages, switch_mode
from uav.enforce.gate import DecisionGate
from uav.enforce.model import EnforcementEvent, EventKind, Position, Result
from uav.enforce.options import MonitorOptions
from uav.enforce.predict import Assessment, PredictedBreach, Predictor
from uav.errors import UavError
from uav.fleet.links import DroneTarget, link_config
from uav.link import LinkConfig, LinkStatus, VehicleState
from uav.timeutil import now_utc

log = logging.getLogger(__name__)

POLL_S = 0.25  # the watch wakes at least this often (wall) to check the link
HOUSEKEEPING_WAIT_S = 0.05  # events and zone projection wait this long at most for decisions
LATENCIES_KEPT = 20_000
# Deceleration (m/s^2) the monitor assumes for each mode when it judges whether the drone
# stops in time: WPNAV_ACCEL / LOIT_BRK_ACCEL 250 cm/s^2 (ArduCopter defaults; SITL's fence
# RTL in flight.jsonl stopped from 10 m/s in 21 m, about 2.4 m/s^2), BRAKE 750 cm/s^2.
MODE_DECEL_MSS = {"RTL": 2.5, "LOITER": 2.5, "LAND": 2.5, "BRAKE": 7.5}
OnEvent = Callable[[EnforcementEvent], None]


@dataclass(frozen=True)
class DroneView:
    """What the dashboard shows of one drone."""

    name: str
    link: str
    mode: str | None = None
    armed: bool | None = None
    position: Position | None = None
    groundspeed_mps: float | None = None
    assessment: Assessment | None = None
    clock: str | None = None  # "vehicle" or "ground" (no vehicle UTC)
    last_action: str | None = None
    alert: str | None = None
    note: str | None = None


@dataclass
class Episode:
    last_seen_s: float
    in_mode: bool = False  # the drone is (known to be) in the action's mode
    escalated: bool = False


@dataclass
class Tick:
    """One assessment's inputs."""

    state: VehicleState
    now: datetime
    clock: str
    arrival_s: float | None
    assessment: Assessment


class DroneWatch:
    """Watches one drone on its own thread until ``stop`` is set."""

    def __init__(
        self,
        target: DroneTarget,
        predictor: Predictor,
        options: MonitorOptions,
        emit: OnEvent,
        stop: threading.Event,
        gate: DecisionGate | None = None,
    ) -> None:
        self.target = target
        self.gate = gate or DecisionGate()
        self.name = target.name
        self.predictor = predictor
        self.options = options
        self.emit = emit
        self.stop = stop
        self.link: TimedLink | None = None
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._arrival_s: float | None = None
        self._last_position_s: float | None = None
        self._since_s = time.perf_counter()
        self._retry_at_s = 0.0
        self._reconnects = 0
        self._alerted = False
        self._uncertain = False  # an UNCERTAIN event was sent and no assessment worked since
        self._episodes: dict[str, Episode] = {}
        self._view = DroneView(self.name, "connecting")
        # (arrival perf_counter s, arrival -> assessed and decided ms), for the benchmark
        self.decisions: deque[tuple[float, float]] = deque(maxlen=LATENCIES_KEPT)
        self._thread = threading.Thread(target=self._run, name=f"monitor {self.name}", daemon=True)

    # ------------------------------------------------------------------ outside the thread

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout_s: float) -> None:
        self._wake.set()
        self._thread.join(timeout_s)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def view(self) -> DroneView:
        with self._lock:
            return self._view

    # ------------------------------------------------------------------ the thread

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                if not self._ensure_link():
                    self.stop.wait(POLL_S)
                    continue
                fresh = self._wake.wait(POLL_S)
                self._wake.clear()
                if self.stop.is_set():
                    break
                if fresh:  # decide first: a "back" alert can wait, a breach cannot
                    self._assess()
                self._check_alive(fresh)
        except Exception as exc:  # never let one drone take the monitor down
            log.exception("%s: watch failed", self.name)
            self._set_view(alert=f"watch failed: {exc}")
        finally:
            self._close_link()

    def _on_message(self, link: Any, msg: Any) -> None:
        """On the link's reader thread: note a position's arrival, wake the watch."""
        if msg.get_type() != "GLOBAL_POSITION_INT":
            return
        if msg.get_srcSystem() != self.target.sysid:
            return
        self._arrival_s = time.perf_counter()
        self.gate.arrived(self.name)
        self._wake.set()

    # ------------------------------------------------------------------ the link

    def _ensure_link(self) -> bool:
        link = self.link
        if link is not None:
            status = link.state.link
            if status not in (LinkStatus.FAILED, LinkStatus.CLOSED):
                self._rerequest_after_reconnect(link)
                return True
            self._alert(f"link {status}: {link.state.link_detail}")
            self._close_link()
        if time.monotonic() < self._retry_at_s:
            return False
        self._retry_at_s = time.monotonic() + self.options.retry_s
        return self._open_link()

    def _open_link(self) -> bool:
        base = LinkConfig(
            connect_timeout_s=self.options.connect_timeout_s,
            stream_rate_hz=0,  # only what request_monitor_messages asks for
        )
        link = TimedLink(self.target.url, link_config(self.target, base), name=self.name)
        link.on_command_sent = self._command_sent
        link.add_message_listener(self._on_message)
        try:
            link.open()
        except UavError as exc:
            link.close()
            self._alert(str(exc))
            return False
        self.link = link
        self._since_s = time.perf_counter()
        self._reconnects = link.state.reconnects
        problem = request_monitor_messages(link, self.options.position_rate_hz)
        self._set_view(link=str(link.state.link), note=problem)
        return True

    def _rerequest_after_reconnect(self, link: TimedLink) -> None:
        reconnects = link.state.reconnects
        if reconnects != self._reconnects and link.state.connected:
            self._reconnects = reconnects
            request_monitor_messages(link, self.options.position_rate_hz)

    def _close_link(self) -> None:
        link, self.link = self.link, None
        if link is not None:
            link.remove_message_listener(self._on_message)
            link.close()

    # ------------------------------------------------------------------ alerts

    def _check_alive(self, fresh: bool) -> None:
        link = self.link
        if link is None:
            return
        state = link.state
        now_s = time.perf_counter()
        if fresh:
            self._last_position_s = now_s
        last = self._last_position_s if self._last_position_s is not None else self._since_s
        if state.link != LinkStatus.CONNECTED:
            self._alert(f"link {state.link}: {state.link_detail}", state)
        elif now_s - last > self.options.stale_s:
            self._alert(f"no position for {now_s - last:.0f} s", state)
        elif fresh and self._alerted:
            self._alerted = False
            self._emit(EventKind.BACK, state, reason="reporting again")
            self._set_view(alert=None)

    def _alert(self, why: str, state: VehicleState | None = None) -> None:
        self._set_view(link="lost", alert=why)
        if self._alerted:
            return
        self._alerted = True
        self._emit(EventKind.LOST, state, reason=f"stopped reporting: {why}")

    # ------------------------------------------------------------------ assessing

    def _assess(self) -> None:
        link = self.link
        if link is None:
            self.gate.done(self.name)
            return
        arrival_s = self._arrival_s
        state = link.state
        now, clock = state.utc_clock()
        try:
            try:
                with self.gate.deciding():
                    assessment = self.predictor.assess(state, now, defer_nearest=True)
            except UavError as exc:  # e.g. CheckUncertain: fail closed = say so, loudly, once
                self.gate.done(self.name)
                self._set_view(state=state, clock=clock, note=f"cannot assess: {exc}")
                if not self._uncertain:
                    self._uncertain = True
                    why = f"cannot judge this drone: {exc}"
                    self._emit(EventKind.UNCERTAIN, state, reason=why)
                return
            self._uncertain = False
            if arrival_s is not None:
                ms = (time.perf_counter() - arrival_s) * 1000.0
                self.decisions.append((arrival_s, ms))
            if assessment is not None:
                tick = Tick(state, now, clock, arrival_s, assessment)
                self._enforce(tick)
                assessment = tick.assessment  # completed by _enforce
        finally:
            self.gate.done(self.name)
        self._set_view(state=state, clock=clock, assessment=assessment, note=None)
        self._prepare(state, now)

    def _complete(self, tick: Tick) -> Assessment:
        """The tick's assessment with its nearest zone (deferred while a breach acted)."""
        try:
            tick.assessment = self.predictor.complete(tick.assessment, tick.state, tick.now)
        except UavError as exc:  # the breach was acted on; only the clearance is missing
            log.warning("%s: nearest zone not found: %s", self.name, exc)
        return tick.assessment

    def _command_sent(self) -> None:
        """On this watch's thread, right after an action's command left: decided."""
        self.gate.done(self.name)

    def _prepare(self, state: VehicleState, now: datetime) -> None:
        """After the decision: project the zones around the drone for its next predictions
        (when its current scope no longer serves); without one they project as usual."""
        self.gate.wait_idle(HOUSEKEEPING_WAIT_S, self.name)
        try:
            self.predictor.prepare(state, now)
        except UavError as exc:
            log.warning("%s: zones around the drone not prepared: %s", self.name, exc)

    def _publish(self, event: EnforcementEvent) -> None:
        """Hand an event on (the store, the JSON log): after the pending decisions."""
        self.gate.wait_idle(HOUSEKEEPING_WAIT_S, self.name)
        self.emit(event)

    def _enforce(self, tick: Tick) -> None:
        """Act on the tick's trigger (a predicted breach acts before the nearest zone is
        known), then keep the episodes: each trigger seen now goes on, one unseen for
        ``episode_clear_s`` ends."""
        a = tick.assessment
        now_s = time.monotonic()
        key = None
        if a.breach is not None:
            key = a.breach.key
        elif a.within_buffer and a.nearest is not None:
            key = f"zone {a.nearest.zone_id}"
        if key is not None and (tick.state.armed or self.options.act_on_ground):
            episode = self._episodes.get(key)
            if episode is None:
                self._episodes[key] = episode = Episode(last_seen_s=now_s)
                self._first_action(tick, episode)
            elif a.breach is not None and episode.in_mode and not episode.escalated:
                self._maybe_escalate(tick, episode)
        a = self._complete(tick)
        seen = set()
        if a.breach is not None:
            seen.add(a.breach.key)
        if a.within_buffer and a.nearest is not None:
            seen.add(f"zone {a.nearest.zone_id}")
        for k in list(self._episodes):
            if k in seen:
                self._episodes[k].last_seen_s = now_s
            elif now_s - self._episodes[k].last_seen_s > self.options.episode_clear_s:
                del self._episodes[k]

    def _first_action(self, tick: Tick, episode: Episode) -> None:
        action = self.options.action
        mode = action.mode
        if mode is None:
            self._emit_decision(EventKind.WARN, tick, None, Outcome(Result.NOT_SENT))
            return
        if tick.state.mode_name == mode:
            episode.in_mode = True
            self._emit_decision(EventKind.ACTION, tick, mode, Outcome(Result.ALREADY))
            if tick.assessment.breach is not None:
                self._maybe_escalate(tick, episode)
            return
        outcome = self._switch(mode)
        episode.in_mode = outcome.result is Result.ACCEPTED
        self._emit_decision(EventKind.ACTION, tick, mode, outcome)

    def _maybe_escalate(self, tick: Tick, episode: Episode) -> None:
        mode = self.options.action.mode
        if mode is None or mode == "BRAKE" or tick.state.mode_name != mode:
            return
        decel = MODE_DECEL_MSS.get(mode, 2.5)
        stop_breach = self.predictor.assess_stop(tick.state, tick.now, decel)
        if stop_breach is None:
            return
        episode.escalated = True
        outcome = self._switch("BRAKE")
        reason = f"in {mode} and still going to breach: {stop_breach.message}"
        self._emit_decision(EventKind.ESCALATE, tick, "BRAKE", outcome, reason, stop_breach)

    def _switch(self, mode: str) -> Outcome:
        link = self.link
        if link is None:
            return Outcome(Result.LINK_LOST, "no link")
        return switch_mode(link, mode, timeout_s=self.options.confirm_timeout_s)

    # ------------------------------------------------------------------ events and the view

    def _emit_decision(
        self,
        kind: EventKind,
        tick: Tick,
        mode: str | None,
        outcome: Outcome,
        reason: str | None = None,
        breach: PredictedBreach | None = None,
    ) -> None:
        a = self._complete(tick)
        breach = breach or a.breach
        nearest = a.nearest
        if reason is None:
            reason = breach.message if breach is not None else _buffer_reason(a, self.options)
        zone = breach if breach is not None else nearest
        event = EnforcementEvent(
            drone=self.name,
            kind=kind,
            time=now_utc(),
            zone_id=zone.zone_id if zone is not None else None,
            zone_name=zone.zone_name if zone is not None else None,
            restriction=zone.restriction if zone is not None else None,
            rule=breach.rule if breach else "within-buffer",
            reason=reason,
            time_to_breach_s=breach.time_to_breach_s if breach else None,
            clearance_m=nearest.clearance_m if nearest else None,
            predicted=breach.position if breach else None,
            actual=_position(tick.state),
            groundspeed_mps=tick.state.groundspeed_mps,
            mode_before=tick.state.mode_name,
            action=mode if outcome.result is not Result.NOT_SENT else None,
            result=outcome.result,
            detail=outcome.detail,
            latency_sent_ms=_ms(tick.arrival_s, outcome.sent_s),
            latency_confirmed_ms=_ms(tick.arrival_s, outcome.confirmed_s),
            vehicle_unix_s=tick.now.timestamp() if tick.clock == "vehicle" else None,
            clock=tick.clock,
        )
        self._publish(event)
        label = f"{mode or 'warn'} {outcome.result.value}"
        self._set_view(last_action=label)

    def _emit(self, kind: EventKind, state: VehicleState | None, *, reason: str) -> None:
        now, clock = state.utc_clock() if state is not None else (now_utc(), "ground")
        self._publish(
            EnforcementEvent(
                drone=self.name,
                kind=kind,
                time=now_utc(),
                reason=reason,
                actual=_position(state) if state is not None else None,
                mode_before=state.mode_name if state is not None else None,
                vehicle_unix_s=now.timestamp() if clock == "vehicle" else None,
                clock=clock,
            )
        )

    def _set_view(self, *, state: VehicleState | None = None, **changes: Any) -> None:
        with self._lock:
            view = self._view
            if state is not None:
                view = replace(
                    view,
                    link=str(state.link),
                    mode=state.mode_name,
                    armed=state.armed,
                    position=_position(state),
                    groundspeed_mps=state.groundspeed_mps,
                )
            self._view = replace(view, **changes)


def _position(state: VehicleState) -> Position | None:
    if state.lat_deg is None or state.lon_deg is None or state.alt_rel_m is None:
        return None
    return Position(state.lat_deg, state.lon_deg, state.alt_rel_m)


def _ms(start_s: float | None, end_s: float | None) -> float | None:
    if start_s is None or end_s is None:
        return None
    return round((end_s - start_s) * 1000.0, 2)


def _buffer_reason(a: Assessment, options: MonitorOptions) -> str:
    n = a.nearest
    if n is None:
        return ""
    return (
        f"within the {options.buffer_m:g} m buffer of {n.restriction} zone {n.zone_name!r} "
        f"(clearance {n.clearance_m:.1f} m)"
    )
