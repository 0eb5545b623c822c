"""``uav fly``: check, upload, arm, fly the mission in AUTO, follow it to the ground.

The flight ends when the drone has landed and disarmed, within the plan's duration plus a
margin (vehicle seconds). The mission flown is the checked plan; when the plan does not end
with RTL or LAND, an RTL item is added, because that is the return the check assumed.
Ctrl-C (KeyboardInterrupt) after arming sends RTL (or disarms a drone still on the ground)
and follows the RTL to the ground; a second Ctrl-C stops following (the drone carries on).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from uav import link as ml
from uav.errors import InputError, PlanError
from uav.fleet.errors import DroneLinkError, DroneRefused, FlightAborted, about
from uav.fleet.events import FlyEvent, InFlight, OnEvent, Readiness, Step, Transfer, ignore
from uav.fleet.links import connect, target
from uav.fleet.missions import (
    HOME_TOLERANCE_M,
    CheckedPlan,
    CheckOptions,
    check_for_drone,
    check_home,
    upload_mission,
)
from uav.link import (
    CommandRefused,
    DroneLink,
    LinkConfig,
    MissionItemInt,
    VehicleState,
    WaitTimeout,
    plan_to_mission_items,
    wait_until,
)
from uav.link.commands import ground_distance_m
from uav.link.waits import VehicleClock, ready_to_arm
from uav.plans.model import MavCmd
from uav.timeutil import now_utc

if TYPE_CHECKING:
    from uav.plans.model import FlightPlan
    from uav.store import Store

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 120.0  # vehicle seconds (ArduCopter SITL is ready ~42 s after boot)
MIN_MARGIN_S = 60.0  # the flight may take this much longer than planned (vehicle s) ...
MARGIN_SHARE = 0.5  # ... or this share of the planned duration, whichever is more
EMIT_EVERY_S = 0.25  # wall seconds between two InFlight events that show the same item
RTL_ATTEMPTS = 3
MAV_STATE_ACTIVE = 4  # HEARTBEAT.system_status while flying
ON_GROUND_M = 0.5  # below this (above home), and not ACTIVE, a drone is still on the ground
MAV_FRAME_MISSION = 2
NAV_LAST = 95  # MAV_CMD numbers below this are NAV commands
FLY_LINK = LinkConfig(connect_timeout_s=5.0, reconnect_attempts=60, reconnect_delay_s=1.0)
ENDS_FLIGHT = frozenset({MavCmd.NAV_RETURN_TO_LAUNCH, MavCmd.NAV_LAND})


@dataclass(frozen=True)
class FlightResult:
    """How the flight ended. ``aborted``: Ctrl-C sent the drone home (or disarmed it);
    ``flight_s``: vehicle seconds from arming to disarming; ``landed_from_home_m``: where it
    came down, over the ground from home."""

    drone: str
    aborted: bool
    final: VehicleState
    items: int
    flight_s: float | None
    landed_from_home_m: float | None
    notes: tuple[str, ...] = ()


def fly(
    store: Store,
    name: str,
    plan_path: Path,
    options: CheckOptions | None = None,
    *,
    on_event: OnEvent = ignore,
    ready_timeout_s: float = READY_TIMEOUT_S,
    home_tolerance_m: float = HOME_TOLERANCE_M,
    link_config: LinkConfig = FLY_LINK,
) -> FlightResult:
    """Fly the plan with drone ``name`` (see the module notes)."""
    from uav.plans.path import build_path, profile_for

    t = target(store, name)
    opts = options or CheckOptions()
    on_event = _shielded(on_event)
    _check_bounds(ready_timeout_s, home_tolerance_m)
    on_event(Step(f"checking {plan_path.name} for {t.name}"))
    _require_take_off_window(opts)  # refuse early, before any link ...
    flight_items(check_for_drone(store, t.name, plan_path, opts).plan)
    try:
        with connect(t, link_config) as link:
            _refuse_if_armed(link, t.name)
            ready = wait_ready(link, t.name, ready_timeout_s, on_event)
            checked = check_at_take_off(store, t.name, plan_path, opts)
            plan = checked.plan
            items, notes = flight_items(plan)
            path = build_path(plan, profile_for(plan, opts.speed_mps))
            bound_s = flight_bound_s(path.duration_s)
            on_event(
                Step(f"plan clear; planned flight {path.duration_s:.0f} s, bound {bound_s:.0f} s")
            )
            check_home(t.name, plan, ready.home, home_tolerance_m)
            upload_mission(
                link, t.name, items, progress=lambda d, n: on_event(Transfer("upload", d, n))
            )
            on_event(Step(f"mission uploaded and verified: {len(items)} items (home included)"))
            armed, final, aborted = _fly_mission(link, t.name, positions(plan), bound_s, on_event)
    except KeyboardInterrupt:
        raise FlightAborted(t.name, "interrupted before take-off: nothing was flown") from None
    return FlightResult(
        drone=t.name,
        aborted=aborted,
        final=final,
        items=len(items),
        flight_s=_elapsed_s(armed, final),
        landed_from_home_m=_from_home_m(final),
        notes=(*checked.report.notes, *notes),
    )


def _shielded(on_event: OnEvent) -> OnEvent:
    """``on_event`` whose failures are logged, not raised: a display must not stop a
    flight from being followed (KeyboardInterrupt still goes through)."""

    def call(event: FlyEvent) -> None:
        try:
            on_event(event)
        except Exception:
            log.exception("showing %r failed", event)

    return call


def check_at_take_off(
    store: Store, name: str, plan_path: Path, options: CheckOptions
) -> CheckedPlan:
    """The check for the take-off about to happen: at ``options.at`` when that is within
    the check's time margin of now (else :class:`~uav.errors.InputError`), else now (the
    wait for the drone may have taken longer than the margin since the first check)."""
    if options.at is None:
        return check_for_drone(store, name, plan_path, replace(options, at=now_utc()))
    _require_take_off_window(options)
    return check_for_drone(store, name, plan_path, options)


def _require_take_off_window(options: CheckOptions) -> None:
    """--at must be within the check's time margin of now: the take-off is now."""
    if options.at is None:
        return
    off_s = (now_utc() - options.at).total_seconds()
    if abs(off_s) > options.time_margin_s:
        when = "after" if off_s > 0 else "before"
        raise InputError(
            f"--at {options.at.isoformat()}: it is now {abs(off_s):.0f} s {when} that, more "
            f"than the time margin ({options.time_margin_s:g} s); uav fly takes off now, so "
            "the plan must be checked for now: nothing was flown"
        )


def _check_bounds(ready_timeout_s: float, home_tolerance_m: float) -> None:
    if not (math.isfinite(ready_timeout_s) and ready_timeout_s > 0):
        raise InputError(f"--ready-timeout {ready_timeout_s}: must be a positive number of s")
    if not (math.isfinite(home_tolerance_m) and home_tolerance_m >= 0):
        raise InputError(f"--home-tolerance {home_tolerance_m}: must be >= 0 m")


def _fly_mission(
    link: DroneLink,
    name: str,
    waypoints: dict[int, tuple[float, float]],
    bound_s: float,
    on_event: OnEvent,
) -> tuple[VehicleState, VehicleState, bool]:
    """Arm, start, follow; on Ctrl-C, :func:`abort`. Returns the state at arming, the final
    state and whether the flight was aborted."""
    try:
        armed = start(link, name)
        on_event(Step("armed; mission started (AUTO)"))
        return armed, follow(link, name, waypoints, bound_s, on_event), False
    except KeyboardInterrupt:
        armed = link.state
        try:
            return armed, abort(link, name, waypoints, on_event), True
        except KeyboardInterrupt:
            detail = "stopped following: the drone carries on by itself (RTL if it was flying)"
            raise FlightAborted(name, detail) from None


def flight_items(plan: FlightPlan) -> tuple[list[MissionItemInt], tuple[str, ...]]:
    """The items to fly: the plan's, plus an RTL when the plan does not end the flight
    itself. A plan that loiters forever before it ends is refused (the flight never ends)."""
    items = plan_to_mission_items(plan)
    for item in plan.items:
        if item.command in ENDS_FLIGHT:
            return items, ()
        if item.command == MavCmd.NAV_LOITER_UNLIM:
            raise PlanError(
                f"item {item.seq} loiters forever: uav fly needs a plan that ends on the "
                "ground (RTL or LAND)"
            )
    rtl = MissionItemInt(
        seq=len(items),
        command=MavCmd.NAV_RETURN_TO_LAUNCH,
        frame=MAV_FRAME_MISSION,
        x=0,
        y=0,
        z=0.0,
    )
    note = f"the plan does not end with RTL or LAND: item {rtl.seq} RTL added, as the check assumed"
    return [*items, rtl], (note,)


def positions(plan: FlightPlan) -> dict[int, tuple[float, float]]:
    """seq -> (lat, lon) of the items that have a position."""
    return {
        i.seq: (i.lat_deg, i.lon_deg)
        for i in plan.items
        if i.command < NAV_LAST
        and math.isfinite(i.lat_deg)
        and math.isfinite(i.lon_deg)
        and (i.lat_deg, i.lon_deg) != (0.0, 0.0)
    }


def flight_bound_s(planned_s: float) -> float:
    """Vehicle seconds allowed from arming to disarming."""
    return planned_s + max(MIN_MARGIN_S, MARGIN_SHARE * planned_s)


def _refuse_if_armed(link: DroneLink, name: str) -> None:
    if link.state.armed:
        raise DroneRefused(
            name, f"is armed (in {link.state.mode_name}): uav fly starts from the ground, disarmed"
        )


def wait_ready(link: DroneLink, name: str, timeout_s: float, on_event: OnEvent) -> VehicleState:
    """Wait (vehicle clock) for a 3-D fix, the EKF's position, the pre-arm checks and home."""
    clock = VehicleClock(link.state)
    last: list[Readiness] = []

    def check(s: VehicleState) -> VehicleState | None:
        waited_s = clock.elapsed_s(s)
        seen = Readiness(
            s.gps_fix_type, s.satellites, s.position_ok, s.prearm_ok, s.home is not None, waited_s
        )
        if not last or replace(seen, waited_s=0.0) != replace(last[-1], waited_s=0.0):
            last.append(seen)
            on_event(seen)
        return s if ready_to_arm(s) and s.home is not None else None

    on_event(Step("waiting for GPS, EKF position, pre-arm checks and home"))
    try:
        with about(name):
            return wait_until(
                link, check, timeout_s=timeout_s, what="readiness to arm", allow_lost=True
            )
    except DroneLinkError as exc:
        if isinstance(exc.__cause__, WaitTimeout):
            raise DroneLinkError(
                name, f"not ready to fly after {timeout_s:g} s: {_missing(link.state)}"
            ) from exc
        raise


def _missing(s: VehicleState) -> str:
    fix = "no GPS report" if s.gps_fix_type is None else f"GPS fix type {s.gps_fix_type}"
    parts = [f"{fix} ({s.satellites or 0} satellites)"]
    parts.append("EKF position " + ("ok" if s.position_ok else "not ok"))
    parts.append(
        "pre-arm checks " + {True: "passed", False: "failing", None: "unknown"}[s.prearm_ok]
    )
    parts.append("home " + ("set" if s.home else "not set"))
    texts = [t.text for t in s.statustexts[-3:] if t.text.startswith(("PreArm", "Arm"))]
    return ", ".join(parts) + (f"; the drone says: {'; '.join(texts)}" if texts else "")


def start(link: DroneLink, name: str) -> VehicleState:
    """GUIDED, arm, MISSION_START (the vehicle switches to AUTO). A drone left armed on the
    ground by a failure is disarmed."""
    with about(name):
        ml.set_mode(link, "GUIDED")
        armed = ml.arm(link)
        try:
            ml.start_mission(link)
        except BaseException:
            _disarm_on_ground(link)
            raise
    return armed


def _disarm_on_ground(link: DroneLink) -> None:
    s = link.state
    if s.armed and s.system_status != MAV_STATE_ACTIVE and (s.alt_rel_m or 0.0) < ON_GROUND_M:
        with contextlib.suppress(ml.LinkError):  # else it disarms itself after DISARM_DELAY
            ml.disarm(link)


def follow(
    link: DroneLink,
    name: str,
    waypoints: dict[int, tuple[float, float]],
    timeout_s: float,
    on_event: OnEvent,
    *,
    returning: bool = False,
) -> VehicleState:
    """Report the flight until the drone is disarmed (landed), within ``timeout_s`` vehicle
    seconds; the link may drop and come back meanwhile."""
    show = _FlightReporter(on_event, waypoints, returning)

    def landed(s: VehicleState) -> VehicleState | None:
        show(s)
        return s if s.armed is False and s.connected else None

    what = "the drone to land and disarm"
    try:
        with about(name):
            return wait_until(link, landed, timeout_s=timeout_s, what=what, allow_lost=True)
    except DroneLinkError as exc:
        s = link.state
        if isinstance(exc.__cause__, WaitTimeout):
            raise DroneLinkError(
                name,
                f"still flying after {timeout_s:.0f} s (vehicle clock), more than planned: "
                f"{s.mode_name}, {_alt(s)}; it was left as it is",
            ) from exc
        raise DroneLinkError(name, f"{exc.detail}; the drone carries on by itself") from exc


class _FlightReporter:
    """Sends an :class:`InFlight` event when the item, mode or arming changes, and at most
    every :data:`EMIT_EVERY_S` otherwise."""

    def __init__(
        self, on_event: OnEvent, waypoints: dict[int, tuple[float, float]], returning: bool
    ) -> None:
        self.on_event = on_event
        self.waypoints = waypoints
        self.returning = returning
        self.key: tuple[object, ...] | None = None
        self.sent_at = -math.inf

    def __call__(self, s: VehicleState) -> None:
        key = (s.mode_name, s.mission_seq, s.armed)
        now = time.monotonic()
        if key == self.key and now - self.sent_at < EMIT_EVERY_S:
            return
        self.key, self.sent_at = key, now
        self.on_event(
            InFlight(
                mode=s.mode_name,
                armed=s.armed,
                seq=s.mission_seq,
                total=s.mission_total,
                wp_distance_m=self._distance(s),
                alt_rel_m=s.alt_rel_m,
                groundspeed_mps=s.groundspeed_mps,
                battery_pct=s.battery_pct,
                returning=self.returning,
            )
        )

    def _distance(self, s: VehicleState) -> float | None:
        if self.returning and s.home is not None:
            target: tuple[float, float] | None = (s.home.lat_deg, s.home.lon_deg)
        else:
            target = self.waypoints.get(s.mission_seq) if s.mission_seq is not None else None
        if target is None or s.lat_deg is None or s.lon_deg is None:
            return None
        return ground_distance_m(s.lat_deg, s.lon_deg, *target)


def abort(
    link: DroneLink, name: str, waypoints: dict[int, tuple[float, float]], on_event: OnEvent
) -> VehicleState:
    """After Ctrl-C: disarm a drone still on the ground, else RTL and follow it down."""
    s = link.state
    if s.armed is not True:
        on_event(Step("Ctrl-C: the drone is not armed; nothing flown"))
        return s
    with about(name):
        if s.system_status != MAV_STATE_ACTIVE and (s.alt_rel_m or 0.0) < ON_GROUND_M:
            try:
                on_event(Step("Ctrl-C on the ground: disarming"))
                return ml.disarm(link)
            except CommandRefused:
                pass
        on_event(Step("Ctrl-C: returning to launch (RTL)"))
        _rtl(link)
    return follow(link, name, waypoints, rtl_bound_s(link.state), on_event, returning=True)


def _rtl(link: DroneLink) -> VehicleState:
    for attempt in range(1, RTL_ATTEMPTS + 1):
        try:
            return ml.rtl(link)
        except WaitTimeout:
            if attempt == RTL_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def rtl_bound_s(s: VehicleState) -> float:
    """Vehicle seconds allowed for an RTL from where the drone is, generously: 3 m/s home,
    0.5 m/s down from at least RTL_ALT (15 m), and a minute more."""
    alt_m = max(s.alt_rel_m or 0.0, 15.0)
    home_m = _from_home_m(s) or 0.0
    return MIN_MARGIN_S + home_m / 3.0 + alt_m / 0.5


def _from_home_m(s: VehicleState) -> float | None:
    if s.home is None or s.lat_deg is None or s.lon_deg is None:
        return None
    return ground_distance_m(s.lat_deg, s.lon_deg, s.home.lat_deg, s.home.lon_deg)


def _elapsed_s(start: VehicleState, end: VehicleState) -> float | None:
    if start.vehicle_time_s is None or end.vehicle_time_s is None:
        return None
    return max(0.0, end.vehicle_time_s - start.vehicle_time_s)


def _alt(s: VehicleState) -> str:
    return "altitude unknown" if s.alt_rel_m is None else f"{s.alt_rel_m:.1f} m above home"
