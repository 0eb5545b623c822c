"""Where a drone is going, and the first rule it would break: the monitor's prediction.

:meth:`Predictor.assess` turns one drone state (position above home, velocity north/east/
down, home) into a straight 2-point :class:`~uav.plans.model.FlightPath`: from where the
drone is now to where it would be after ``lookahead_s`` at its current velocity (never below
the ground), and runs the plan check (:func:`uav.check.engine.check_path`) on it. The
check's semantics therefore hold: vertical bands (AGL as above home, AMSL through home's
altitude), schedules widened by the time margin (judged at ``now``: the vehicle's UTC when it
has one), grants, operating areas, the ``max_alt_m`` ceiling, and a drone already inside a
zone has its entry at t = 0. Violations become the :class:`PredictedBreach` (the earliest);
warning zones ahead are kept for display. The check's ``home-in-zone`` rule is not used: the
first point is the drone in the air, not its take-off point (and a drone inside a zone that
holds it is an ``enters-zone`` at t = 0 anyway). The clearance to the nearest restrictive
zone that applies now comes from :func:`uav.enforce.clearance.nearest_zone`.

:meth:`Predictor.assess_stop` checks the path the drone would fly while braking at a given
deceleration: the monitor uses it to decide whether the action it took will stop the drone
in time, or whether to escalate to BRAKE.

Pure: no link, no store; unit-testable with hand-made states.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import shapely

from uav.auth.model import Grant
from uav.check.engine import CLIP_PAD_M, check_path
from uav.check.index import ZoneIndex
from uav.check.report import (
    ABOVE_CEILING,
    ENTERS_WARNING_ZONE,
    ENTERS_ZONE,
    OUTSIDE_OPERATING_AREA,
    Finding,
)
from uav.check.scope import LocalScope
from uav.enforce.clearance import Here, NearestZone, metres_per_degree, nearest_zone
from uav.enforce.model import Position
from uav.errors import InputError, UavError
from uav.link.state import VehicleState
from uav.plans.model import FlightPath, PathPoint

BREACH_RULES = frozenset({ENTERS_ZONE, ABOVE_CEILING, OUTSIDE_OPERATING_AREA})
NEAREST_SEARCH_M = 1000.0  # the dashboard names the nearest zone within this distance
PREFILTER_PAD_M = 50.0  # no zone's box within this of the path's box: nothing to check
MIN_STOP_SPEED_MPS = 0.2  # slower than this, the drone is taken as stopped where it is
# A drone's scope (uav.check.scope) holds the zones that its predictions may need while it
# moves up to SCOPE_ROAM_M from where it was built; then a new one is built.
SCOPE_ROAM_M = 400.0
SCOPE_SLACK_M = 100.0  # on top of the path's length and the check's 1 km clipping pad


@dataclass(frozen=True)
class PredictedBreach:
    """The first rule the drone would break, where and in how long (0: breaking it now)."""

    rule: str
    zone_id: int | None
    zone_name: str | None
    restriction: str | None
    time_to_breach_s: float
    position: Position
    message: str

    @property
    def key(self) -> str:
        """What makes an episode: the zone, or the rule for zone-less rules."""
        return f"zone {self.zone_id}" if self.zone_id is not None else self.rule


@dataclass(frozen=True)
class Assessment:
    """The monitor's view of one drone state."""

    breach: PredictedBreach | None  # the first violation within the lookahead
    nearest: NearestZone | None  # the nearest restrictive zone applying now
    warnings: tuple[PredictedBreach, ...] = ()  # warning zones ahead (shown, never acted on)
    within_buffer: bool = False  # nearest.clearance_m <= buffer_m
    nearest_known: bool = True  # False: deferred (Predictor.complete), a breach acts first

    @property
    def triggered(self) -> bool:
        return self.breach is not None or self.within_buffer


class Predictor:
    """Assesses drone states against a :class:`ZoneIndex` built once."""

    def __init__(
        self,
        index: ZoneIndex,
        *,
        lookahead_s: float,
        buffer_m: float,
        max_alt_m: float,
        time_margin_s: float,
        grants: Sequence[Grant] = (),
        drone: str | None = None,
    ) -> None:
        for label, value in (
            ("lookahead", lookahead_s),
            ("buffer", buffer_m),
            ("time margin", time_margin_s),
        ):
            if not (math.isfinite(value) and value >= 0):
                raise InputError(f"{label} {value} must be a number >= 0")
        if not math.isfinite(max_alt_m):
            raise InputError(f"maximum altitude {max_alt_m} m is not a number")
        self.index = index
        self.lookahead_s = float(lookahead_s)
        self.buffer_m = float(buffer_m)
        self.max_alt_m = float(max_alt_m)
        self.time_margin_s = float(time_margin_s)
        self.grants = tuple(grants)
        self.drone = drone
        self.prefilter = True  # skip the full check when no zone is anywhere near
        self._scope: LocalScope | None = None  # this drone's neighbourhood, projected once

    @property
    def scope(self) -> LocalScope | None:
        """The zones around the drone, projected for its predictions (None before the first
        prediction near a zone)."""
        return self._scope

    def warm_up(self, now: datetime) -> None:
        """Run one prediction where the first zone is, so that the first real one does not
        pay for what Python, PROJ and GEOS set up on first use (milliseconds: a drone's
        first position may be its breach)."""
        table = self.index.restricted if len(self.index.restricted) else self.index.areas
        if not len(table):
            return
        lon0, lat0, lon1, lat1 = (float(v) for v in table.bounds[0])
        here = Here((lat0 + lat1) / 2, (lon0 + lon1) / 2, 30.0, 0.0, now.timestamp(), None)
        path = _straight_path(here, (5.0, 5.0, 0.0), self.lookahead_s)
        try:
            self._check(path, now)
            nearest_zone(self.index.restricted, here, search_m=NEAREST_SEARCH_M, margin_s=0.0)
        except UavError:
            pass  # the real predictions will say what is wrong

    def for_drone(self, drone: str, grants: Sequence[Grant]) -> Predictor:
        """The same predictor for another drone and its grants (the index is shared)."""
        return Predictor(
            self.index,
            lookahead_s=self.lookahead_s,
            buffer_m=self.buffer_m,
            max_alt_m=self.max_alt_m,
            time_margin_s=self.time_margin_s,
            grants=grants,
            drone=drone,
        )

    def assess(
        self, state: VehicleState, now: datetime, *, defer_nearest: bool = False
    ) -> Assessment | None:
        """The assessment of ``state`` at ``now`` (the vehicle's UTC, or the ground's);
        None while the drone's position or velocity is unknown.

        ``defer_nearest``: when a breach is predicted (the action is due whatever the
        clearance), leave the nearest zone for :meth:`complete` so the action goes first."""
        here = _here(state, now, self.drone)
        motion = _velocity(state)
        if here is None or motion is None:
            return None
        path = _straight_path(here, motion, self.lookahead_s)
        breach, warnings = self._check(path, now)
        if defer_nearest and breach is not None:
            return Assessment(breach, None, warnings, False, nearest_known=False)
        return self._with_nearest(Assessment(breach, None, warnings), here)

    def complete(self, assessment: Assessment, state: VehicleState, now: datetime) -> Assessment:
        """``assessment`` with its nearest zone (a no-op unless it was deferred)."""
        here = _here(state, now, self.drone)
        if assessment.nearest_known or here is None:
            return assessment
        return self._with_nearest(assessment, here)

    def _with_nearest(self, assessment: Assessment, here: Here) -> Assessment:
        nearest = nearest_zone(
            self.index.restricted,
            here,
            search_m=max(NEAREST_SEARCH_M, self.buffer_m),
            margin_s=self.time_margin_s,
            grants=self.grants,
            scope=self._current_scope(),
        )
        within = nearest is not None and nearest.clearance_m <= self.buffer_m
        return replace(assessment, nearest=nearest, within_buffer=within, nearest_known=True)

    def assess_stop(
        self, state: VehicleState, now: datetime, decel_mss: float
    ) -> PredictedBreach | None:
        """The first violation on the path the drone flies while braking to a stop at
        ``decel_mss`` along its current course (None: it stops in time, or is unknown)."""
        here = _here(state, now, self.drone)
        motion = _velocity(state)
        if here is None or motion is None:
            return None
        vn, ve, vd = motion
        speed = math.hypot(vn, ve)
        stop_s = 0.0 if speed < MIN_STOP_SPEED_MPS else speed / max(decel_mss, 1e-3)
        # distance v^2 / 2a, flown in stop_s: the straight path at half the speed
        path = _straight_path(here, (vn / 2, ve / 2, vd / 2), stop_s)
        breach, _ = self._check(path, now)
        return breach

    def _check(
        self, path: FlightPath, now: datetime
    ) -> tuple[PredictedBreach | None, tuple[PredictedBreach, ...]]:
        if self.prefilter and self._nothing_near(path):
            return None, ()
        report = check_path(
            path,
            self.index,
            start=now,
            drone=self.drone,
            grants=self.grants,
            buffer_m=0.0,
            max_alt_m=self.max_alt_m,
            time_margin_s=self.time_margin_s,
            scope=self._scope_for(path),
            ground_rules=False,
        )
        t0 = now.timestamp()
        breaches = sorted(
            (_breach(f, t0) for f in report.violations if f.rule in BREACH_RULES),
            key=lambda b: b.time_to_breach_s,
        )
        warnings = tuple(_breach(f, t0) for f in report.warnings if f.rule == ENTERS_WARNING_ZONE)
        return (breaches[0] if breaches else None), warnings

    def prepare(self, state: VehicleState, now: datetime) -> None:
        """Project the zones around the drone (its :attr:`scope`) unless its current scope
        serves the next predictions. Takes milliseconds (the zones within
        :data:`SCOPE_ROAM_M` + 1.1 km): call it off the critical path, after the decision."""
        here = _here(state, now, self.drone)
        motion = _velocity(state)
        if here is None or motion is None:
            return
        path = _straight_path(here, motion, self.lookahead_s)
        if self._scope_for(path) is not None or self._nothing_near(path):
            return
        reach_m = _reach_m(path)
        self._scope = LocalScope(self.index, here.lon_deg, here.lat_deg, reach_m + SCOPE_ROAM_M)

    def _scope_for(self, path: FlightPath) -> LocalScope | None:
        """The drone's scope when it serves ``path`` (built for this index, holding the path's
        surroundings), else None: the check then projects as usual."""
        scope = self._scope
        first = path.points[0]
        if (
            scope is None
            or scope.index is not self.index
            or not scope.holds(first.lon_deg, first.lat_deg, _reach_m(path))
        ):
            return None
        return scope

    def _current_scope(self) -> LocalScope | None:
        scope = self._scope
        return scope if scope is not None and scope.index is self.index else None

    def _nothing_near(self, path: FlightPath) -> bool:
        """True when the check cannot find anything: no operating areas (leaving them would
        be a finding), the path stays under the ceiling, and no restrictive zone's bounding
        box comes within :data:`PREFILTER_PAD_M` of the path's. Saves the full check (about
        1 ms) for the drones far from every zone."""
        if self.index.has_operating_areas:
            return False
        if max(p.alt_m for p in path.points) > self.max_alt_m:
            return False
        lats = [p.lat_deg for p in path.points]
        lons = [p.lon_deg for p in path.points]
        kx, ky = metres_per_degree(lats[0])
        pad_x, pad_y = PREFILTER_PAD_M / kx, PREFILTER_PAD_M / ky
        box = shapely.box(
            min(lons) - pad_x, min(lats) - pad_y, max(lons) + pad_x, max(lats) + pad_y
        )
        return len(self.index.restricted.tree.query(box)) == 0


def _here(state: VehicleState, now: datetime, drone: str | None) -> Here | None:
    if state.lat_deg is None or state.lon_deg is None or state.alt_rel_m is None:
        return None
    return Here(
        lat_deg=state.lat_deg,
        lon_deg=state.lon_deg,
        alt_m=state.alt_rel_m,
        home_amsl_m=state.home_amsl_m,
        now_s=now.timestamp(),
        drone=drone,
    )


def _velocity(state: VehicleState) -> tuple[float, float, float] | None:
    if state.vn_mps is None or state.ve_mps is None or state.vd_mps is None:
        return None
    return state.vn_mps, state.ve_mps, state.vd_mps


def _straight_path(
    here: Here, velocity: tuple[float, float, float], duration_s: float
) -> FlightPath:
    vn, ve, vd = velocity
    kx, ky = metres_per_degree(here.lat_deg)
    lat1 = here.lat_deg + vn * duration_s / ky
    lon1 = here.lon_deg + ve * duration_s / kx
    alt1 = here.alt_m - vd * duration_s
    if vd > 0:  # descending: not through the ground
        alt1 = max(alt1, min(here.alt_m, 0.0))
    points = (
        PathPoint(here.lat_deg, here.lon_deg, here.alt_m, 0.0, "now"),
        PathPoint(lat1, lon1, alt1, duration_s, f"+{duration_s:g}s"),
    )
    return FlightPath(points, here.lat_deg, here.lon_deg, here.home_amsl_m)


def _reach_m(path: FlightPath) -> float:
    """How far from its start the check of ``path`` looks: its length, the clipping pad."""
    a, b = path.points[0], path.points[-1]
    kx, ky = metres_per_degree(a.lat_deg)
    length_m = math.hypot((b.lon_deg - a.lon_deg) * kx, (b.lat_deg - a.lat_deg) * ky)
    return length_m + CLIP_PAD_M + SCOPE_SLACK_M


def _breach(f: Finding, t0_s: float) -> PredictedBreach:
    entry = f.entry
    at_s = datetime.fromisoformat(entry["time"]).timestamp()
    return PredictedBreach(
        rule=f.rule,
        zone_id=f.zone_id,
        zone_name=f.zone,
        restriction=f.restriction,
        time_to_breach_s=round(max(at_s - t0_s, 0.0), 3),
        position=Position(entry["lat_deg"], entry["lon_deg"], entry["alt_m"]),
        message=f.message,
    )
