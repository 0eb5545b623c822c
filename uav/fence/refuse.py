"""Why a compiled fence must not be pushed: checked against what actually flies (the
simplified, rounded shapes), before anything is sent.

Refused when: the compilation found a problem (home outside every operating area); zones
need the monitor and the push is not ``--monitored``; home, a rally point (an RTL target)
or the drone's current position is inside an exclusion, outside the inclusion or outside
the fence circle; a leg of the drone's mission crosses an exclusion, leaves the inclusion or
the circle, or climbs above FENCE_ALT_MAX. Boundaries count as inside an exclusion: the
vehicle breaches exactly at a polygon's edge (trace scenario 4).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import shapely
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

from uav.fence.compile import FenceSpec
from uav.fence.flat import FlatFrame
from uav.fence.simplify import vertices_polygon
from uav.plans.model import FlightPath


@dataclass(frozen=True)
class Place:
    """A point the drone may be at or return to: ``what`` names it in a refusal."""

    what: str
    lat_deg: float
    lon_deg: float


class _Fence:
    """The spec's shapes as shapely geometry (lon/lat polygons; circles in metres)."""

    def __init__(self, spec: FenceSpec) -> None:
        s = spec.situation
        self.frame = FlatFrame(s.home_lon_deg, s.home_lat_deg)
        self.radius_m = s.radius_m
        self.alt_max_m = spec.params["FENCE_ALT_MAX"]
        self.exclusions: list[BaseGeometry] = []
        self.inclusions: list[BaseGeometry] = []
        for p in spec.shapes.polygons:
            shape = vertices_polygon(list(p.vertices))
            (self.inclusions if p.inclusion else self.exclusions).append(shape)
        self.circles: list[tuple[float, float, float]] = []
        for c in spec.shapes.circles:
            x, y = self.frame.to_xy(c.lon_e7 / 1e7, c.lat_e7 / 1e7)
            self.circles.append((float(x), float(y), c.radius_m))

    def xy(self, lon_deg: float, lat_deg: float) -> Point:
        x, y = self.frame.to_xy(lon_deg, lat_deg)
        return Point(float(x), float(y))

    def point_problem(self, place: Place) -> str | None:
        p = Point(place.lon_deg, place.lat_deg)
        q = self.xy(place.lon_deg, place.lat_deg)
        if q.distance(Point(0.0, 0.0)) > self.radius_m:
            return f"{place.what} is outside the {self.radius_m:g} m fence circle"
        if any(not shapely.covers(inc, p) for inc in self.inclusions):
            return f"{place.what} is outside the operating-area inclusion"
        if any(shapely.covers(exc, p) for exc in self.exclusions):
            return f"{place.what} is inside an exclusion polygon"
        if any(q.distance(Point(x, y)) <= r for x, y, r in self.circles):
            return f"{place.what} is inside an exclusion circle"
        return None

    def leg_problem(self, a: tuple[float, float], b: tuple[float, float]) -> str | None:
        """``a``, ``b``: (lon, lat) of the leg's ends."""
        line = LineString([a, b]) if a != b else Point(a)
        local = LineString([self.xy(*a), self.xy(*b)]) if a != b else self.xy(*a)
        if shapely.hausdorff_distance(local, Point(0.0, 0.0)) > self.radius_m:
            return f"leaves the {self.radius_m:g} m fence circle"
        if any(not shapely.covers(inc, line) for inc in self.inclusions):
            return "leaves the operating-area inclusion"
        if any(shapely.intersects(exc, line) for exc in self.exclusions):
            return "crosses an exclusion polygon"
        if any(local.distance(Point(x, y)) <= r for x, y, r in self.circles):
            return "crosses an exclusion circle"
        return None


def refusals(
    spec: FenceSpec,
    places: Sequence[Place],
    path: FlightPath | None,
    *,
    monitored: bool,
) -> list[str]:
    """Every reason not to push ``spec`` (empty: it may be pushed)."""
    reasons = list(spec.problems)
    monitor = spec.monitor_only
    if monitor and not monitored:
        names = "; ".join(f"{z.name!r}: {z.reason}" for z in monitor)
        reasons.append(
            f"{len(monitor)} zone(s) cannot be expressed onboard and need the monitor ({names}); "
            "push with --monitored if `uav monitor` watches this drone"
        )
    fence = _Fence(spec)
    for place in places:
        problem = fence.point_problem(place)
        if problem is not None:
            reasons.append(problem)
    if path is not None:
        reasons += _path_problems(fence, path)
    return reasons


def _path_problems(fence: _Fence, path: FlightPath) -> list[str]:
    out: list[str] = []

    for p0, p1 in itertools.pairwise(path.points):
        leg = f"mission leg {p0.label}→{p1.label}"
        problem = fence.leg_problem((p0.lon_deg, p0.lat_deg), (p1.lon_deg, p1.lat_deg))
        if problem is not None:
            out.append(f"{leg} {problem}")
        top = max(p0.alt_m, p1.alt_m)
        if top > fence.alt_max_m and math.isfinite(fence.alt_max_m):
            out.append(f"{leg} climbs to {top:g} m, above FENCE_ALT_MAX {fence.alt_max_m:g} m")
    return out
