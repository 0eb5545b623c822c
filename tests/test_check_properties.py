"""Properties of the check engine on random zones and paths near the Canton Tower.

Shapes are drawn in metres in a local frame of their own (centred on the tower, not on the
path as the engine's is) and converted to lon/lat; the 1 m margins below absorb the
sub-millimetre difference between the two frames.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, Polygon

from uav.check import CheckReport, ZoneIndex, check_path
from uav.geo.local import LocalFrame
from uav.plans.model import FlightPath, PathPoint
from uav.zones.model import Circle, Restriction, Zone

FRAME = LocalFrame(113.3245, 23.1066)  # Canton Tower
START = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
BUFFER_M = 20.0
# The generators reject what does not fit (invalid stars, waypoints inside the buffer) with
# assume(); that is by design, so hypothesis' filter and speed health checks are off here.
SETTINGS = settings(
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)

XY = tuple[float, float]


def to_lonlat(x: float, y: float) -> XY:
    lon, lat = FRAME.to_lonlat(x, y)
    return (float(lon), float(lat))


@st.composite
def star_polygons(draw: st.DrawFn) -> Polygon:
    """A star-shaped (so simple) polygon of 3-12 vertices, 40-600 m from its centre."""
    n = draw(st.integers(3, 12))
    radii = draw(st.lists(st.floats(40.0, 600.0), min_size=n, max_size=n))
    jitter = draw(st.lists(st.floats(0.0, 0.8), min_size=n, max_size=n))
    cx, cy = draw(st.floats(-300.0, 300.0)), draw(st.floats(-300.0, 300.0))
    pts = [
        (cx + r * math.cos(2 * math.pi * (k + j) / n), cy + r * math.sin(2 * math.pi * (k + j) / n))
        for k, (r, j) in enumerate(zip(radii, jitter, strict=True))
    ]
    poly = Polygon(pts)
    assume(poly.is_valid and poly.area > 100.0)
    return poly


points_xy = st.tuples(st.floats(-1500.0, 1500.0), st.floats(-1500.0, 1500.0))


def flight(xy: list[XY], alts: list[float]) -> FlightPath:
    """Points at ``xy`` (local metres) and ``alts``, 10 m/s between them, from take-off."""
    points = []
    t_s = 0.0
    for i, ((x, y), alt) in enumerate(zip(xy, alts, strict=True)):
        if i:
            t_s += max(math.dist(xy[i - 1], (x, y)) / 10.0, 1.0)
        lon, lat = to_lonlat(x, y)
        points.append(PathPoint(lat, lon, alt, t_s, "home" if i == 0 else str(i)))
    return FlightPath(tuple(points), points[0].lat_deg, points[0].lon_deg, 10.0)


def polygon_zone(poly: Polygon) -> Zone:
    ring = [to_lonlat(x, y) for x, y in poly.exterior.coords]
    return Zone("random polygon", Restriction.PROHIBITED, Polygon(ring), id=1)


def run(path: FlightPath, zones: list[Zone]) -> CheckReport:
    return check_path(path, ZoneIndex(zones), start=START, buffer_m=BUFFER_M)


def keep_clear(zone_xy: Polygon | Point, candidates: list[XY], radius_m: float = 0.0) -> list[XY]:
    """Waypoints outside the zone grown by buffer + 1 m, dropping any whose leg from the
    previous kept one comes that close."""
    margin = BUFFER_M + 1.0 + radius_m
    kept: list[XY] = []
    for p in candidates:
        if zone_xy.distance(Point(p)) < margin:
            continue
        if kept and zone_xy.distance(LineString([kept[-1], p])) < margin:
            continue
        if kept and math.dist(kept[-1], p) < 1.0:
            continue
        kept.append(p)
    return kept


@SETTINGS
@given(
    star_polygons(),
    st.lists(points_xy, min_size=2, max_size=12),
    st.lists(st.floats(0.0, 110.0), min_size=12, max_size=12),
)
def test_a_path_kept_outside_the_buffer_is_clear(
    poly: Polygon, candidates: list[XY], alts: list[float]
) -> None:
    xy = keep_clear(poly, candidates)
    assume(len(xy) >= 2)
    report = run(flight(xy, alts[: len(xy)]), [polygon_zone(poly)])
    assert report.violations == []
    assert report.warnings == []


@SETTINGS
@given(
    st.tuples(st.floats(-300.0, 300.0), st.floats(-300.0, 300.0)),
    st.floats(30.0, 800.0),
    st.lists(points_xy, min_size=2, max_size=12),
)
def test_a_path_kept_outside_a_circle_buffer_is_clear(
    centre: XY, radius_m: float, candidates: list[XY]
) -> None:
    xy = keep_clear(Point(centre), candidates, radius_m)
    assume(len(xy) >= 2)
    lon, lat = to_lonlat(*centre)
    circle = Zone("random circle", Restriction.PROHIBITED, Circle(lon, lat, radius_m), id=1)
    report = run(flight(xy, [60.0] * len(xy)), [circle])
    assert report.violations == [] and report.warnings == []


def _through(inner: XY, angle: float, reach_m: float) -> tuple[XY, XY]:
    ux, uy = math.cos(angle), math.sin(angle)
    a = (inner[0] - reach_m * ux, inner[1] - reach_m * uy)
    b = (inner[0] + reach_m * ux, inner[1] + reach_m * uy)
    return a, b


@SETTINGS
@given(
    star_polygons(),
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0),
    st.floats(0.0, 2 * math.pi),
    st.floats(0.0, 110.0),
)
def test_a_leg_through_an_interior_point_is_a_violation(
    poly: Polygon, u: float, v: float, angle: float, alt: float
) -> None:
    minx, miny, maxx, maxy = poly.bounds
    inner = (minx + u * (maxx - minx), miny + v * (maxy - miny))
    assume(poly.contains(Point(inner)) and poly.exterior.distance(Point(inner)) > 1.0)
    a, b = _through(inner, angle, 1500.0)  # every polygon lies within 900 m of (0, 0)
    assert poly.distance(Point(a)) > 0 and poly.distance(Point(b)) > 0
    report = run(flight([a, a, b], [0.0, alt, alt]), [polygon_zone(poly)])
    [violation] = [f for f in report.violations if f.leg == "1→2"]
    assert violation.rule == "enters-zone"
    # The entry lies on the zone's boundary, before the interior point.
    ex, ey = FRAME.to_xy(violation.entry["lon_deg"], violation.entry["lat_deg"])
    assert poly.exterior.distance(Point(float(ex), float(ey))) < 1.0
    assert math.dist(a, (float(ex), float(ey))) <= math.dist(a, inner) + 1.0


@SETTINGS
@given(
    st.tuples(st.floats(-300.0, 300.0), st.floats(-300.0, 300.0)),
    st.floats(30.0, 800.0),
    st.floats(0.0, 0.99),
    st.floats(0.0, 2 * math.pi),
    st.floats(0.0, 2 * math.pi),
)
def test_a_leg_through_a_circle_interior_point_is_a_violation(
    centre: XY, radius_m: float, depth: float, where: float, angle: float
) -> None:
    inner = (
        centre[0] + depth * radius_m * math.cos(where),
        centre[1] + depth * radius_m * math.sin(where),
    )
    a, b = _through(inner, angle, 2 * radius_m + 100.0)
    lon, lat = to_lonlat(*centre)
    circle = Zone("random circle", Restriction.PROHIBITED, Circle(lon, lat, radius_m), id=1)
    report = run(flight([a, a, b], [0.0, 60.0, 60.0]), [circle])
    [violation] = [f for f in report.violations if f.leg == "1→2"]
    ex, ey = FRAME.to_xy(violation.entry["lon_deg"], violation.entry["lat_deg"])
    assert abs(math.dist(centre, (float(ex), float(ey))) - radius_m) < 1.0
