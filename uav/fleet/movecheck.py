"""The zone check before a direct command moves a drone (`uav fleet goto`, `uav fleet takeoff`).

A mission is checked before it flies (`uav fly`); a pilot's direct command gets the same
check on the leg it makes the drone fly, from where the drone is now:

* **goto**: the straight leg from the drone's position to the target (altitude linear), flown
  at :data:`GOTO_SPEED_MPS`, starting now. A zone the drone is already in (or a ceiling it is
  already above, an operating area it is already outside) does not refuse the leg that takes
  it out: only what the leg *enters* after its start counts, and the target itself must be
  clear at the arrival time. So a drone can always be flown out of a zone, never into one.
* **takeoff**: the vertical climb from where the drone stands to the altitude; everything
  counts (taking off inside a zone is entering it).

Rules are the plan check's (:func:`uav.check.engine.check_path`): the zones in the store,
the drone's grants, bands, schedules (on the vehicle's UTC when it has one), the ceiling and
the operating areas, with the plan check's default margins. A violation refuses the command
(:class:`~uav.fleet.errors.MoveRefused`, nothing sent); a drone whose position is unknown
cannot be checked (:class:`~uav.errors.CheckUncertain`): fail closed.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from uav.check.report import Finding
from uav.errors import CheckUncertain
from uav.fleet.errors import MoveRefused
from uav.link.state import VehicleState
from uav.plans.defaults import DEFAULT_BUFFER_M, DEFAULT_MAX_ALT_M, DEFAULT_TIME_MARGIN_S
from uav.plans.model import FlightPath, PathPoint

if TYPE_CHECKING:
    from uav.link import DroneLink
    from uav.store import Store

GOTO_SPEED_MPS = 10.0  # ArduCopter's WPNAV_SPEED default (1000 cm/s)
CLIMB_SPEED_MPS = 2.5  # its WPNAV_SPEED_UP default (250 cm/s)
METRES_PER_DEG_LAT = 111_320.0
GOTO_WHAT = "fly it to a target"
TAKEOFF_WHAT = "take it off"
POSITION_WAIT_S = 5.0  # vehicle seconds for a just-opened link to report a position


def check_goto(
    store: Store, name: str, state: VehicleState, lat_deg: float, lon_deg: float, alt_m: float
) -> None:
    """Refuse (:class:`MoveRefused`) a goto whose leg enters a zone or ends in one."""
    here, now = _position(state, GOTO_WHAT), state.utc_clock()[0]
    home_amsl = state.home_amsl_m
    leg_s = _distance_m(here, (lat_deg, lon_deg, alt_m)) / GOTO_SPEED_MPS
    path = _path(
        [(*here, 0.0, "now"), (lat_deg, lon_deg, alt_m, leg_s, "target")], state, home_amsl
    )
    leg = _violations(store, name, path, now)
    entered = [f for f in leg if _entry_time(f) > now + timedelta(milliseconds=1)]
    arrival = now + timedelta(seconds=leg_s)
    target = _path([(lat_deg, lon_deg, alt_m, 0.0, "target")], state, home_amsl)
    ends_in = _violations(store, name, target, arrival)
    found = _unique([*entered, *ends_in])
    if found:
        raise MoveRefused(name, "goto", found)


def check_takeoff(store: Store, name: str, state: VehicleState, alt_m: float) -> None:
    """Refuse (:class:`MoveRefused`) a take-off whose climb is inside a zone."""
    lat, lon, alt0 = _position(state, TAKEOFF_WHAT)
    start = max(alt0, 0.0)
    climb_s = max(alt_m - start, 0.0) / CLIMB_SPEED_MPS
    path = _path(
        [(lat, lon, start, 0.0, "ground"), (lat, lon, alt_m, climb_s, "top")],
        state,
        state.home_amsl_m,
    )
    found = _violations(store, name, path, state.utc_clock()[0])
    if found:
        raise MoveRefused(name, "take-off", found)


def position_of(link: DroneLink, what: str) -> VehicleState:
    """The drone's state once it has reported a position (bounded: a drone that has not
    within :data:`POSITION_WAIT_S` vehicle seconds cannot be checked: CheckUncertain)."""
    from uav.link.errors import WaitTimeout
    from uav.link.waits import wait_until

    def known(s: VehicleState) -> VehicleState | None:
        ok = s.lat_deg is not None and s.lon_deg is not None and s.alt_rel_m is not None
        return s if ok else None

    try:
        return wait_until(link, known, timeout_s=POSITION_WAIT_S, what="a position")
    except WaitTimeout as exc:
        _position(exc.last_state or link.state, what)  # raises: no position
        raise


def _violations(store: Store, name: str, path: FlightPath, start: datetime) -> list[Finding]:
    from uav.check.engine import check_path
    from uav.check.index import ZoneIndex

    report = check_path(
        path,
        ZoneIndex(store.zones()),
        start=start,
        drone=name,
        grants=store.grants(drone=name),
        buffer_m=DEFAULT_BUFFER_M,
        max_alt_m=DEFAULT_MAX_ALT_M,
        time_margin_s=DEFAULT_TIME_MARGIN_S,
        ground_rules=False,
    )
    return list(report.violations)


def _position(state: VehicleState, what: str) -> tuple[float, float, float]:
    if state.lat_deg is None or state.lon_deg is None or state.alt_rel_m is None:
        raise CheckUncertain(
            f"the drone's position is unknown, so the zones cannot be checked before we "
            f"{what}; wait for its GPS, or give --no-check"
        )
    return state.lat_deg, state.lon_deg, state.alt_rel_m


def _path(
    points: list[tuple[float, float, float, float, str]],
    state: VehicleState,
    home_amsl_m: float | None,
) -> FlightPath:
    home_lat = state.home.lat_deg if state.home is not None else points[0][0]
    home_lon = state.home.lon_deg if state.home is not None else points[0][1]
    return FlightPath(
        tuple(PathPoint(lat, lon, alt, t, label) for lat, lon, alt, t, label in points),
        home_lat,
        home_lon,
        home_amsl_m,
    )


def _distance_m(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """Straight-line distance (horizontal on a local sphere, and the climb), metres."""
    north = (b[0] - a[0]) * METRES_PER_DEG_LAT
    east = (b[1] - a[1]) * METRES_PER_DEG_LAT * math.cos(math.radians(a[0]))
    return math.sqrt(north * north + east * east + (b[2] - a[2]) ** 2)


def _entry_time(f: Finding) -> datetime:
    return datetime.fromisoformat(f.entry["time"])


def _unique(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, int | None]] = set()
    out: list[Finding] = []
    for f in findings:
        key = (f.rule, f.zone_id)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
