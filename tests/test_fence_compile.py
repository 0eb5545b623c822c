"""Zones -> fence items within the budget (:func:`uav.fence.compile.compile_fence`), and the
refusals checked on what would fly (:func:`uav.fence.refuse.refusals`)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Point, Polygon

from uav.errors import InputError
from uav.fence.budget import Budget
from uav.fence.compile import FenceOptions, FenceSpec, compile_fence
from uav.fence.flat import FlatFrame
from uav.fence.refuse import Place, refusals
from uav.fence.select import Situation
from uav.fence.simplify import vertices_polygon
from uav.plans.model import FlightPath, PathPoint
from uav.zones.model import Circle, Restriction, VerticalBand, Zone

HOME_LAT, HOME_LON = 23.1291, 113.3240
FRAME = FlatFrame(HOME_LON, HOME_LAT)
T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC).timestamp()
SITUATION = Situation("TH-01", HOME_LAT, HOME_LON, 20.0, 1000.0, T0, T0 + 3600, 120.0)
HALF_BOX_M = (1000.0 * 1.01 + 10.0) * 1.2
BOX = FRAME.unproject(shapely.box(-HALF_BOX_M, -HALF_BOX_M, HALF_BOX_M, HALF_BOX_M))


def xy_polygon(points: list[tuple[float, float]]) -> Polygon:
    lon, lat = FRAME.to_lonlat([p[0] for p in points], [p[1] for p in points])
    return Polygon(zip(lon.tolist(), lat.tolist(), strict=True))


def square(name: str, x: float, y: float, size: float = 40.0, **kw: object) -> Zone:
    poly = xy_polygon([(x, y), (x + size, y), (x + size, y + size), (x, y + size)])
    restriction = kw.pop("restriction", Restriction.PROHIBITED)
    assert isinstance(restriction, Restriction)
    return Zone(name, restriction, poly, **kw)  # type: ignore[arg-type]


def star(name: str, x: float, y: float, n: int, r: float) -> Zone:
    angles = np.linspace(0, 2 * math.pi, n, endpoint=False)
    radii = np.where(np.arange(n) % 2, r, 0.5 * r)
    pts = list(
        zip(
            (x + radii * np.cos(angles)).tolist(),
            (y + radii * np.sin(angles)).tolist(),
            strict=True,
        )
    )
    return Zone(name, Restriction.PROHIBITED, xy_polygon(pts))


def circle(name: str, x: float, y: float, r: float) -> Zone:
    lon, lat = FRAME.to_lonlat(x, y)
    return Zone(name, Restriction.PROHIBITED, Circle(float(lon), float(lat), r))


def exclusion_union(spec: FenceSpec) -> shapely.Geometry:
    polys = [vertices_polygon(list(p.vertices)) for p in spec.shapes.polygons if not p.inclusion]
    return shapely.union_all(polys)


def by_name(spec: FenceSpec) -> dict[str, object]:
    return {z.name: z for z in spec.zones}


def test_an_empty_sky_is_the_circle_and_the_ceiling() -> None:
    spec = compile_fence(SITUATION, [], [], FenceOptions())
    assert spec.shapes.item_count == 0
    assert spec.params == {
        "FENCE_ENABLE": 1.0,
        "FENCE_TYPE": 3.0,
        "FENCE_ACTION": 1.0,
        "FENCE_ALT_MAX": 120.0,
        "FENCE_RADIUS": 1000.0,
        "FENCE_MARGIN": 2.0,
    }


def test_actions_and_their_fence_action_values() -> None:
    zones = [square("a", 100, 100)]
    got = {
        a: compile_fence(SITUATION, zones, [], FenceOptions(action=a)).params["FENCE_ACTION"]
        for a in ("report", "rtl", "land", "smart-rtl", "brake")
    }
    assert got == {"report": 0, "rtl": 1, "land": 2, "smart-rtl": 3, "brake": 4}
    assert compile_fence(SITUATION, zones, [], FenceOptions()).params["FENCE_TYPE"] == 7
    with pytest.raises(InputError, match="--action 'loiter'"):
        compile_fence(SITUATION, zones, [], FenceOptions(action="loiter"))


def test_a_big_zone_is_simplified_to_the_budget_and_reported() -> None:
    zones = [star("star", 300, 0, 80, 100), square("sq", -200, -200)]
    spec = compile_fence(SITUATION, zones, [], FenceOptions(max_points=20))
    assert spec.shapes.item_count <= 20
    report = by_name(spec)["star"]
    assert report.original_vertices == 80 and report.pushed_vertices == 16  # type: ignore[attr-defined]
    assert report.area_change_m2 > 0 and report.area_change_pct > 0  # type: ignore[attr-defined]
    assert by_name(spec)["sq"].pushed_vertices == 4  # type: ignore[attr-defined]
    assert exclusion_union(spec).covers(zones[0].geometry)


def test_when_triangles_do_not_fit_the_farthest_zones_go_to_the_monitor() -> None:
    zones = [square(f"z{i:02d}", 60 + 25 * i, 0, 10) for i in range(8)]
    spec = compile_fence(SITUATION, zones, [], FenceOptions(max_points=18))
    kept = [z.name for z in spec.zones if z.role == "exclusion"]
    left = [z.name for z in spec.monitor_only]
    assert kept == [f"z{i:02d}" for i in range(6)] and left == ["z06", "z07"]
    assert all("fence budget is full" in z.reason for z in spec.monitor_only)
    assert spec.shapes.item_count == 18


def test_a_multipolygon_becomes_its_hull_when_its_parts_do_not_fit() -> None:
    parts = [xy_polygon([(x, 0), (x + 5, 0), (x + 5, 5), (x, 5)]) for x in range(100, 400, 20)]
    zone = Zone("islands", Restriction.PROHIBITED, MultiPolygon(parts))
    roomy = compile_fence(SITUATION, [zone], [], FenceOptions())
    assert len(roomy.shapes.polygons) == 15
    tight = compile_fence(SITUATION, [zone], [], FenceOptions(max_points=10))
    assert len(tight.shapes.polygons) == 1 and tight.shapes.item_count <= 10
    assert "convex hull" in by_name(tight)["islands"].reason  # type: ignore[attr-defined]
    assert exclusion_union(tight).covers(zone.geometry)


def test_far_reaching_zones_are_clipped_to_the_box_around_the_fence_circle() -> None:
    big = square("airport", 300, -20_000, 40_000)  # 40 km square whose west edge is 300 m east
    spec = compile_fence(SITUATION, [big], [], FenceOptions())
    (polygon,) = spec.shapes.polygons
    pushed = vertices_polygon(list(polygon.vertices))
    assert len(polygon.vertices) == 4
    assert pushed.covers(big.geometry.intersection(BOX))
    x0, y0, x1, y1 = FRAME.project(pushed).bounds
    assert x0 == pytest.approx(300, abs=0.1) and x1 == pytest.approx(HALF_BOX_M, abs=0.1)
    assert (y0, y1) == (pytest.approx(-HALF_BOX_M, abs=0.1), pytest.approx(HALF_BOX_M, abs=0.1))


def test_circles_stay_circles_grown_and_rounded_up() -> None:
    spec = compile_fence(SITUATION, [circle("c", 0, -300, 50.0)], [], FenceOptions())
    (c,) = spec.shapes.circles
    assert not c.inclusion and np.float32(c.radius_m) >= np.float32(50.0 * 1.01)
    assert c.radius_m < 50.0 * 1.01 + 0.1
    lon, lat = FRAME.to_lonlat(0.0, -300.0)
    assert (c.lat_e7, c.lon_e7) == (round(float(lat) * 1e7), round(float(lon) * 1e7))


def test_the_inclusion_is_inside_the_area_and_its_holes_are_exclusions() -> None:
    outer = [(-600, -600), (600, -600), (600, 600), (-600, 600)]
    hole = [(200, 200), (300, 200), (300, 300), (200, 300)]
    lon_o, lat_o = FRAME.to_lonlat(*zip(*outer, strict=True))
    lon_h, lat_h = FRAME.to_lonlat(*zip(*hole, strict=True))
    area = Polygon(zip(lon_o, lat_o, strict=True), [list(zip(lon_h, lat_h, strict=True))])
    spec = compile_fence(
        SITUATION, [Zone("area", Restriction.OPERATING_AREA, area)], [], FenceOptions()
    )
    inclusion, hole_fence = spec.shapes.polygons
    assert inclusion.inclusion and not hole_fence.inclusion
    assert Polygon(area.exterior).covers(vertices_polygon(list(inclusion.vertices)))
    assert vertices_polygon(list(hole_fence.vertices)).covers(
        Polygon(zip(lon_h, lat_h, strict=True))
    )
    assert by_name(spec)["area"].area_change_m2 < 0  # type: ignore[attr-defined]


# ---------------------------------------------------------------------- property


@st.composite
def zone_sets(draw: st.DrawFn) -> list[Zone]:
    zones: list[Zone] = []
    for i in range(draw(st.integers(1, 6))):
        x, y = draw(st.floats(-1200, 1200)), draw(st.floats(-1200, 1200))
        assume(math.hypot(x, y) > 150)  # keep home clear
        kind = draw(st.sampled_from(["star", "circle", "multi", "holed"]))
        if kind == "star":
            zones.append(star(f"s{i}", x, y, draw(st.integers(3, 40)), draw(st.floats(10, 120))))
        elif kind == "circle":
            zones.append(circle(f"c{i}", x, y, draw(st.floats(5, 120))))
        elif kind == "multi":
            a, b = star("a", x, y, 8, 30).geometry, star("b", x + 80, y, 12, 30).geometry
            zones.append(Zone(f"m{i}", Restriction.PROHIBITED, MultiPolygon([a, b])))
        else:
            shell = star("o", x, y, 16, 100).geometry
            assert isinstance(shell, Polygon)
            inner = star("h", x, y, 6, 20).geometry
            assert isinstance(inner, Polygon)
            holed = Polygon(shell.exterior.coords, [inner.exterior.coords])
            zones.append(Zone(f"h{i}", Restriction.PROHIBITED, holed))
    return zones


@settings(max_examples=60, deadline=None)
@given(zones=zone_sets(), k=st.integers(3, 70))
def test_every_pushed_zone_is_covered_and_the_fence_fits(zones: list[Zone], k: int) -> None:
    spec = compile_fence(SITUATION, zones, [], FenceOptions(max_points=k))
    counts = [len(p.vertices) for p in spec.shapes.polygons]
    assert Budget.for_max_points(k).fits(counts, len(spec.shapes.circles))
    union = exclusion_union(spec)
    circles = list(spec.shapes.circles)
    for zone, report in zip(zones, spec.zones, strict=True):
        assert report.name == zone.name
        if report.role == "monitor":
            assert "budget" in report.reason
            continue
        if report.role == "left-out":
            assert report.reason == "beyond the 1000 m fence radius"
            assert (
                FRAME.project(zone.geometry).distance(Point(0, 0)) > 1000
                if not isinstance(zone.geometry, Circle)
                else True
            )
            continue
        assert report.role == "exclusion"
        if isinstance(zone.geometry, Circle):
            g = zone.geometry
            assert any(
                (c.lat_e7, c.lon_e7) == (round(g.lat_deg * 1e7), round(g.lon_deg * 1e7))
                and c.radius_m >= g.radius_m * 1.01
                for c in circles
            )
        else:  # what the fence circle lets the drone reach: the zone inside the box
            assert union.covers(zone.geometry.intersection(BOX))


# ---------------------------------------------------------------------- refusals


def place(what: str, x: float, y: float) -> Place:
    lon, lat = FRAME.to_lonlat(x, y)
    return Place(what, float(lat), float(lon))


def path_through(*xys: tuple[float, float]) -> FlightPath:
    points = []
    for i, (x, y) in enumerate(xys):
        lon, lat = FRAME.to_lonlat(x, y)
        points.append(
            PathPoint(float(lat), float(lon), 20.0, 10.0 * i, "home" if i == 0 else str(i))
        )
    return FlightPath(tuple(points), HOME_LAT, HOME_LON, 20.0)


def test_refusals_name_what_is_inside_and_which_leg_crosses() -> None:
    zones = [
        square("nfz", 100, -20),
        circle("c", -100, 0, 20),
        square("high", -300, -300, band=VerticalBand(floor_m=30.0)),
    ]
    spec = compile_fence(SITUATION, zones, [], FenceOptions())
    ok = [place("home", 0, 0)]
    assert refusals(spec, ok, None, monitored=True) == []
    monitor = refusals(spec, ok, None, monitored=False)
    assert len(monitor) == 1 and "'high': starts 30 m above home" in monitor[0]
    reasons = refusals(
        spec,
        [
            place("home", 0, 0),
            place("rally point 0", 110, 0),
            place("rally point 1", -100, 5),
            place("rally point 2", 1200, 0),
        ],
        path_through((0, 0), (0, 50), (120, 50), (120, -50)),
        monitored=True,
    )
    assert reasons == [
        "rally point 0 is inside an exclusion polygon",
        "rally point 1 is inside an exclusion circle",
        "rally point 2 is outside the 1000 m fence circle",
        "mission leg 2→3 crosses an exclusion polygon",
    ]
    # the boundary of the simplified (padded) polygon counts as inside
    edge = place("home", 100 - 0.04, 0)
    assert refusals(spec, [edge], None, monitored=True) == ["home is inside an exclusion polygon"]


def test_outside_the_inclusion_and_above_fence_alt_max_are_refused() -> None:
    area = square(
        "area",
        -100,
        -100,
        300,
        restriction=Restriction.OPERATING_AREA,
        band=VerticalBand(ceiling_m=15.0),
    )
    spec = compile_fence(SITUATION, [area], [], FenceOptions())
    assert spec.params["FENCE_ALT_MAX"] == 15.0
    reasons = refusals(
        spec, [place("rally point 0", 250, 0)], path_through((0, 0), (150, 0)), monitored=False
    )
    assert reasons == [
        "rally point 0 is outside the operating-area inclusion",
        "mission leg home→1 climbs to 20 m, above FENCE_ALT_MAX 15 m",
    ]
    outside = Situation("TH-01", HOME_LAT, HOME_LON, 20.0, 1000.0, T0, T0 + 3600, 120.0)
    far_area = square("far", 400, 400, 100, restriction=Restriction.OPERATING_AREA)
    spec = compile_fence(outside, [far_area], [], FenceOptions())
    assert refusals(spec, [], None, monitored=True) == [
        "home is outside every operating area active for the whole flight window"
    ]
