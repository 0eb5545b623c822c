"""From a :class:`FlightPlan` to the path ArduCopter will fly (:class:`FlightPath`).

The path starts on the ground at home, follows the mission as ArduCopter's AUTO mode runs
it (DO_JUMP unrolled, TAKEOFF straight up, straight 3-D legs, loiters, LAND and RTL) and
ends on the ground. Every altitude is above home. Anything the path cannot be bounded for
(a jump repeated forever, an AMSL altitude without a home altitude, a NAV command this
module does not model) raises :class:`PlanError`: the check must not guess.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

from pyproj import Geod

from uav.errors import Location, PlanError
from uav.plans.model import (
    AltFrame,
    FlightPath,
    FlightPlan,
    FlightProfile,
    MavCmd,
    MissionItem,
    PathPoint,
)

GEOD = Geod(ellps="WGS84")

MAX_UNROLLED_ITEMS = 10_000
LAND_ALT_LOW_M = 10.0  # LAND_ALT_LOW 1000 cm: below it the descent is at LAND_SPEED
RTL_LOIT_TIME_S = 5.0  # RTL_LOIT_TIME 5000 ms: hover over home before landing
CIRCLE_RADIUS_M = 10.0  # CIRCLE_RADIUS 1000 cm: used when LOITER_TURNS gives no radius
CIRCLE_RATE_DEG_S = 20.0  # CIRCLE_RATE: the fastest a circle turns
CIRCLE_SIDES = 32  # sides of the circumscribed polygon approximating a loiter circle
CIRCLE_MARGIN_M = 0.01  # keeps polygon edges outside the circle despite rounding
ZERO_ALT_M = 0.01  # ArduPilot stores altitudes in cm: below this an altitude is "0"

DO_CHANGE_SPEED = 178
DO_SET_HOME = 179
DO_REPOSITION = 192
DO_JUMP_TAG = 600
NAV_LAST = 95  # MAV_CMD below this are NAV commands: each one moves or holds the drone

# Commands that need a position (lat/lon and altitude) to be flown.
POSITIONAL: frozenset[int] = frozenset(
    {
        MavCmd.NAV_WAYPOINT,
        MavCmd.NAV_LOITER_UNLIM,
        MavCmd.NAV_LOITER_TURNS,
        MavCmd.NAV_LOITER_TIME,
        MavCmd.NAV_SPLINE_WAYPOINT,
    }
)
# Commands whose lat/lon may be 0 or NaN, meaning "where the drone is".
HERE_ALLOWED: frozenset[int] = frozenset(
    {MavCmd.NAV_TAKEOFF, MavCmd.NAV_LAND, MavCmd.NAV_RETURN_TO_LAUNCH}
)
# DO commands that change where the drone goes or returns to: not modelled, so refused.
REFUSED_DO: dict[int, str] = {
    DO_SET_HOME: "DO_SET_HOME moves home, so the return cannot be checked",
    DO_REPOSITION: "DO_REPOSITION sends the drone somewhere the plan does not say",
    DO_JUMP_TAG: "DO_JUMP_TAG is not supported: cannot bound the path",
    42702: "NAV_SCRIPT_TIME hands the flight to a script: cannot tell the path",
    42703: "NAV_ATTITUDE_TIME flies attitudes, not positions: cannot tell the path",
}

_NAMES: dict[int, str] = {
    178: "DO_CHANGE_SPEED",
    179: "DO_SET_HOME",
    189: "DO_LAND_START",
    201: "DO_SET_ROI",
    203: "DO_DIGICAM_CONTROL",
    205: "DO_MOUNT_CONTROL",
    206: "DO_SET_CAM_TRIGG_DIST",
    112: "CONDITION_DELAY",
    113: "CONDITION_CHANGE_ALT",
    114: "CONDITION_DISTANCE",
    115: "CONDITION_YAW",
}


def command_name(command: int) -> str:
    """A readable name for a MAV_CMD number ("NAV_WAYPOINT", "command 31", ...)."""
    if command in MavCmd._value2member_map_:
        return MavCmd(command).name
    return _NAMES.get(command, f"command {command}")


def item_error(plan: FlightPlan, item: MissionItem, message: str) -> PlanError:
    """A PlanError naming the plan file, the item (seq and command) and its line."""
    where = Location(file=plan.source, line=item.line)
    return PlanError(f"item {item.seq} ({command_name(item.command)}): {message}", where)


def profile_for(plan: FlightPlan, speed_mps: float | None = None) -> FlightProfile:
    """The default profile with the horizontal speed: ``speed_mps``, else the plan's cruise
    speed, else ArduCopter's default (WPNAV_SPEED)."""
    if speed_mps is not None:
        if not (math.isfinite(speed_mps) and speed_mps > 0):
            raise PlanError(f"speed must be a positive number of m/s, not {speed_mps}")
        return FlightProfile(speed_mps=speed_mps)
    if plan.cruise_speed_mps is not None:
        if not (math.isfinite(plan.cruise_speed_mps) and plan.cruise_speed_mps > 0):
            raise PlanError(
                f"the plan's cruise speed {plan.cruise_speed_mps} is not a positive number",
                Location(file=plan.source),
            )
        return FlightProfile(speed_mps=plan.cruise_speed_mps)
    return FlightProfile()


@dataclass
class _Flight:
    """The path as it is built: points so far, speeds in force and notes."""

    plan: FlightPlan
    profile: FlightProfile
    points: list[PathPoint]
    speed_mps: float
    climb_mps: float
    descent_mps: float
    notes: list[str] = field(default_factory=list)
    terrain_seqs: list[int] = field(default_factory=list)
    ended: bool = False

    @property
    def here(self) -> PathPoint:
        return self.points[-1]

    def leg_s(self, lat_deg: float, lon_deg: float, alt_m: float, landing: bool) -> float:
        """Seconds from the last point to (lat, lon, alt) at the speeds in force."""
        p = self.here
        _, _, dist_m = GEOD.inv(p.lon_deg, p.lat_deg, lon_deg, lat_deg)
        horiz_s = dist_m / self.speed_mps
        if alt_m >= p.alt_m:
            vert_s = (alt_m - p.alt_m) / self.climb_mps
        elif landing:
            vert_s = _landing_s(p.alt_m, alt_m, self.descent_mps, self.profile.land_speed_mps)
        else:
            vert_s = (p.alt_m - alt_m) / self.descent_mps
        return max(horiz_s, vert_s)

    def go(
        self,
        lat_deg: float,
        lon_deg: float,
        alt_m: float,
        label: str,
        hold_s: float = 0.0,
        landing: bool = False,
        leg_s: float | None = None,
    ) -> None:
        """Fly from the last point to a new one (merged into it when they coincide)."""
        p = self.here
        if (p.lat_deg, p.lon_deg, p.alt_m) == (lat_deg, lon_deg, alt_m):
            self.points[-1] = replace(p, hold_s=p.hold_s + hold_s)
            return
        dt = self.leg_s(lat_deg, lon_deg, alt_m, landing) if leg_s is None else leg_s
        t_s = p.t_s + p.hold_s + dt
        self.points.append(PathPoint(lat_deg, lon_deg, alt_m, t_s, label, hold_s))

    def hold(self, hold_s: float) -> None:
        p = self.here
        self.points[-1] = replace(p, hold_s=p.hold_s + max(hold_s, 0.0))


def _landing_s(from_m: float, to_m: float, descent_mps: float, land_mps: float) -> float:
    """A landing descent: WPNAV_SPEED_DN down to LAND_ALT_LOW, then LAND_SPEED."""
    fast_m = max(from_m - max(to_m, LAND_ALT_LOW_M), 0.0)
    slow_m = max(min(from_m, LAND_ALT_LOW_M) - to_m, 0.0)
    return fast_m / descent_mps + slow_m / land_mps


def build_path(plan: FlightPlan, profile: FlightProfile = FlightProfile()) -> FlightPath:
    """The path ArduCopter flies for ``plan``: from home on the ground to landing."""
    _check_profile(profile)
    home = PathPoint(plan.home_lat_deg, plan.home_lon_deg, 0.0, 0.0, "home")
    flight = _Flight(
        plan,
        profile,
        [home],
        profile.speed_mps,
        profile.climb_mps,
        profile.descent_mps,
    )
    first_nav = True
    for item in unroll(plan):
        if first_nav and item.command in POSITIONAL:
            flight.notes.append(
                f"no TAKEOFF before item {item.seq}: the path climbs from home straight to it"
            )
        if item.command < NAV_LAST:
            first_nav = False
        _fly_item(flight, item)
        if flight.ended:
            _note_unflown_after(flight, item)
            break
    if not flight.ended:
        flight.notes.append("no RTL/LAND at the end: the return to home was added")
        _fly_rtl(flight)
    if flight.terrain_seqs:
        seqs = ", ".join(str(s) for s in sorted(set(flight.terrain_seqs)))
        flight.notes.append(f"terrain assumed level with home for items {seqs}")
    return FlightPath(
        tuple(flight.points),
        plan.home_lat_deg,
        plan.home_lon_deg,
        plan.home_amsl_m,
        tuple(dict.fromkeys(flight.notes)),
    )


def _note_unflown_after(flight: _Flight, last: MissionItem) -> None:
    """A note when NAV items follow the item that ended the flight (LAND, RTL, ...)."""
    items = flight.plan.items
    index = next(i for i, item in enumerate(items) if item is last)
    if any(item.command < NAV_LAST for item in items[index + 1 :]):
        flight.notes.append(f"items after item {last.seq} are not flown: the mission ends there")


def _check_profile(profile: FlightProfile) -> None:
    for name in ("speed_mps", "climb_mps", "descent_mps", "land_speed_mps"):
        value = getattr(profile, name)
        if not (math.isfinite(value) and value > 0):
            raise PlanError(f"flight profile {name} must be a positive number, not {value}")
    if not (math.isfinite(profile.rtl_alt_m) and profile.rtl_alt_m >= 0):
        raise PlanError(f"flight profile rtl_alt_m must be >= 0, not {profile.rtl_alt_m}")


def unroll(plan: FlightPlan) -> Iterator[MissionItem]:
    """The items in the order the autopilot runs them, DO_JUMPs taken (and dropped).

    As in ArduPilot, each DO_JUMP keeps its own count for the whole mission: reached for
    the k-th time it jumps while k <= its repeat count, then lets the mission go on.
    """
    items: Sequence[MissionItem] = plan.items
    index_of = {item.seq: i for i, item in enumerate(items)}
    jumps_done: dict[int, int] = {}
    visited = 0
    i = 0
    while i < len(items):
        item = items[i]
        visited += 1
        if visited > MAX_UNROLLED_ITEMS:
            raise item_error(
                plan,
                item,
                f"the mission runs more than {MAX_UNROLLED_ITEMS} items once its jumps are "
                "unrolled: cannot bound the path",
            )
        if item.command != MavCmd.DO_JUMP:
            yield item
            i += 1
            continue
        target, repeat = _jump_of(plan, item, index_of)
        done = jumps_done.get(item.seq, 0)
        if done < repeat:
            jumps_done[item.seq] = done + 1
            i = index_of[target]
        else:
            i += 1


def _jump_of(plan: FlightPlan, item: MissionItem, index_of: dict[int, int]) -> tuple[int, int]:
    """(target seq, repeat count) of a DO_JUMP, checked."""
    p1, p2 = item.param1, item.param2
    if not (math.isfinite(p1) and p1 == int(p1) and int(p1) in index_of):
        raise item_error(plan, item, f"DO_JUMP to item {p1}, which the plan does not have")
    if not (math.isfinite(p2) and p2 == int(p2)):
        raise item_error(plan, item, f"DO_JUMP repeat count {p2} is not a whole number")
    if int(p2) == -1:
        raise item_error(plan, item, "DO_JUMP repeats forever: cannot bound the path")
    if p2 < -1:
        raise item_error(plan, item, f"DO_JUMP repeat count {p2} is not valid")
    return int(p1), int(p2)


def _fly_item(flight: _Flight, item: MissionItem) -> None:
    cmd = item.command
    if cmd in REFUSED_DO:
        raise item_error(flight.plan, item, REFUSED_DO[cmd])
    if cmd == MavCmd.NAV_TAKEOFF:
        _fly_takeoff(flight, item)
    elif cmd in (MavCmd.NAV_WAYPOINT, MavCmd.NAV_SPLINE_WAYPOINT, MavCmd.NAV_LOITER_TIME):
        lat, lon, alt = _target(flight, item)
        flight.go(lat, lon, alt, str(item.seq), hold_s=_hold_s(item.param1))
        if cmd == MavCmd.NAV_SPLINE_WAYPOINT:
            flight.notes.append("spline waypoints are taken as straight legs")
    elif cmd == MavCmd.NAV_LOITER_TURNS:
        _fly_loiter_turns(flight, item)
    elif cmd == MavCmd.NAV_LOITER_UNLIM:
        lat, lon, alt = _target(flight, item)
        flight.go(lat, lon, alt, str(item.seq))
        flight.notes.append(
            f"loiter forever at item {item.seq}: the path ends there; the return is not checked"
        )
        flight.ended = True
    elif cmd == MavCmd.NAV_LAND:
        _fly_land(flight, item)
    elif cmd == MavCmd.NAV_RETURN_TO_LAUNCH:
        _fly_rtl(flight)
    elif cmd == MavCmd.NAV_DELAY:
        _delay(flight, item)
    elif cmd < NAV_LAST:
        raise item_error(
            flight.plan, item, "this NAV command is not supported: cannot tell the path"
        )
    elif cmd == DO_CHANGE_SPEED:
        _change_speed(flight, item)
    # Every other DO_* / CONDITION_* item does not move the drone.


def _hold_s(param: float) -> float:
    return param if math.isfinite(param) and param > 0 else 0.0


def _is_here(lat_deg: float, lon_deg: float) -> bool:
    """lat/lon 0 or NaN: the autopilot uses where the drone is."""
    return (lat_deg == 0 and lon_deg == 0) or (math.isnan(lat_deg) and math.isnan(lon_deg))


def _alt_above_home(flight: _Flight, item: MissionItem) -> float:
    """The item's altitude above home, by its frame."""
    plan = flight.plan
    if item.frame is None:
        raise item_error(plan, item, "no altitude frame: cannot tell its altitude")
    if not math.isfinite(item.alt_m):
        raise item_error(plan, item, "no altitude given: cannot tell the path")
    if item.frame == AltFrame.AMSL:
        if plan.home_amsl_m is None:
            raise item_error(plan, item, "AMSL waypoint but the plan gives no home altitude")
        return item.alt_m - plan.home_amsl_m
    if item.frame == AltFrame.ABOVE_TERRAIN:
        flight.terrain_seqs.append(item.seq)
    return item.alt_m


def _target(flight: _Flight, item: MissionItem) -> tuple[float, float, float]:
    """Where a positional item sends the drone; lat/lon 0 and altitude 0 mean "as now"."""
    here = flight.here
    if item.frame is None:
        raise item_error(flight.plan, item, "no altitude frame: cannot tell its altitude")
    lat, lon = item.lat_deg, item.lon_deg
    if lat == 0 and lon == 0:
        lat, lon = here.lat_deg, here.lon_deg
        flight.notes.append(f"item {item.seq} has lat/lon 0: flown where the drone is")
    elif not (math.isfinite(lat) and math.isfinite(lon)):
        raise item_error(flight.plan, item, "no position given: cannot tell the path")
    if math.isfinite(item.alt_m) and abs(item.alt_m) < ZERO_ALT_M:
        flight.notes.append(f"item {item.seq} has altitude 0: ArduCopter keeps the altitude")
        if item.frame == AltFrame.ABOVE_TERRAIN:
            flight.terrain_seqs.append(item.seq)
        return lat, lon, here.alt_m
    return lat, lon, _alt_above_home(flight, item)


def _fly_takeoff(flight: _Flight, item: MissionItem) -> None:
    alt = _alt_above_home(flight, item)
    if alt <= 0:
        raise item_error(flight.plan, item, f"take-off to {alt:g} m above home is not a climb")
    here = flight.here
    flight.go(here.lat_deg, here.lon_deg, max(alt, here.alt_m), str(item.seq))


def _fly_land(flight: _Flight, item: MissionItem) -> None:
    here = flight.here
    if not _is_here(item.lat_deg, item.lon_deg):
        if not (math.isfinite(item.lat_deg) and math.isfinite(item.lon_deg)):
            raise item_error(flight.plan, item, "only one of lat/lon given: cannot tell where")
        flight.go(item.lat_deg, item.lon_deg, here.alt_m, str(item.seq))
        here = flight.here
    flight.go(here.lat_deg, here.lon_deg, 0.0, "land", landing=True)
    flight.ended = True


def _fly_rtl(flight: _Flight) -> None:
    """RTL: climb to RTL_ALT if lower, fly home (at RTL_SPEED), hover, land."""
    flight.speed_mps = flight.profile.speed_mps
    flight.climb_mps = flight.profile.climb_mps
    flight.descent_mps = flight.profile.descent_mps
    here = flight.here
    alt = max(here.alt_m, flight.profile.rtl_alt_m)
    flight.go(here.lat_deg, here.lon_deg, alt, "rtl")
    plan = flight.plan
    flight.go(plan.home_lat_deg, plan.home_lon_deg, alt, "rtl", hold_s=RTL_LOIT_TIME_S)
    flight.go(plan.home_lat_deg, plan.home_lon_deg, 0.0, "rtl", landing=True)
    flight.ended = True


def _fly_loiter_turns(flight: _Flight, item: MissionItem) -> None:
    """Go to the centre, then circle on a polygon circumscribing the circle."""
    turns = item.param1
    if not (math.isfinite(turns) and turns >= 0):
        raise item_error(flight.plan, item, f"LOITER_TURNS with {turns} turns")
    radius_m = abs(item.param3) if math.isfinite(item.param3) else 0.0
    if radius_m < 1.0:
        radius_m = CIRCLE_RADIUS_M
        flight.notes.append(
            f"item {item.seq} gives no loiter radius: CIRCLE_RADIUS {CIRCLE_RADIUS_M:g} m assumed"
        )
    before = flight.here
    lat, lon, alt = _target(flight, item)
    flight.go(lat, lon, alt, str(item.seq))
    start_az, _, dist_m = GEOD.inv(lon, lat, before.lon_deg, before.lat_deg)
    if dist_m < 0.5:
        start_az = 0.0
    sign = -1.0 if item.param3 < 0 else 1.0  # negative radius: counter-clockwise
    vertex_m = radius_m / math.cos(math.pi / CIRCLE_SIDES) + CIRCLE_MARGIN_M
    step_deg = 360.0 / CIRCLE_SIDES
    n_edges = math.ceil(turns * CIRCLE_SIDES - 1e-9)
    for k in range(n_edges + 1):
        az = start_az + sign * step_deg * k
        v_lon, v_lat, _ = GEOD.fwd(lon, lat, az, vertex_m)
        v_lon, v_lat = float(v_lon), float(v_lat)
        leg_s = None
        if k > 0:
            leg_s = max(flight.leg_s(v_lat, v_lon, alt, False), step_deg / CIRCLE_RATE_DEG_S)
        flight.go(v_lat, v_lon, alt, str(item.seq), leg_s=leg_s)


def _delay(flight: _Flight, item: MissionItem) -> None:
    if not math.isfinite(item.param1) or item.param1 < 0:
        raise item_error(
            flight.plan, item, "NAV_DELAY until a time of day: cannot tell when the drone flies on"
        )
    flight.hold(item.param1)


def _change_speed(flight: _Flight, item: MissionItem) -> None:
    """DO_CHANGE_SPEED: param1 speed type (2 climb, 3 descent, else horizontal), param2 m/s."""
    speed = item.param2
    if not (math.isfinite(speed) and speed > 0):
        return  # -1 (or 0): no change, as ArduCopter does
    kind = item.param1
    if kind == 2:
        flight.climb_mps = speed
    elif kind == 3:
        flight.descent_mps = speed
    else:
        flight.speed_mps = speed
