"""check_path with a LocalScope (zones projected once around a point) answers as without it."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import Polygon, box

from tests.test_check_properties import SETTINGS, flight, star_polygons, to_lonlat
from uav.check import CheckReport, ZoneIndex, check_path
from uav.check.report import Finding
from uav.check.scope import LocalScope
from uav.enforce.clearance import Here, nearest_zone
from uav.enforce.predict import Predictor
from uav.errors import InputError
from uav.link.state import VehicleState
from uav.zones.model import (
    AltitudeRef,
    Circle,
    Restriction,
    Schedule,
    VerticalBand,
    Zone,
)

START = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
CENTRE = to_lonlat(0.0, 0.0)
RESTRICTIONS = [Restriction.PROHIBITED, Restriction.AUTHORIZATION, Restriction.WARNING]


def polygon_in_lonlat(poly: Polygon) -> Polygon:
    return Polygon([to_lonlat(x, y) for x, y in poly.exterior.coords])


@st.composite
def zone_sets(draw: st.DrawFn) -> list[Zone]:
    """Polygons, circles, bands, a schedule, sometimes an operating area and a zone much
    larger than any scope (so the scope's clipping is exercised)."""
    zones: list[Zone] = []
    for k in range(draw(st.integers(1, 5))):
        floor = draw(st.sampled_from([0.0, 0.0, 30.0, 60.0]))
        band = VerticalBand(
            floor, AltitudeRef.AGL, floor + draw(st.floats(20.0, 200.0)), AltitudeRef.AGL
        )
        zones.append(
            Zone(
                f"polygon {k}",
                draw(st.sampled_from(RESTRICTIONS)),
                polygon_in_lonlat(draw(star_polygons())),
                band=band,
                id=len(zones) + 1,
            )
        )
    for k in range(draw(st.integers(0, 3))):
        x, y = draw(st.floats(-800.0, 800.0)), draw(st.floats(-800.0, 800.0))
        lon, lat = to_lonlat(x, y)
        zones.append(
            Zone(
                f"circle {k}",
                draw(st.sampled_from(RESTRICTIONS)),
                Circle(lon, lat, draw(st.floats(30.0, 400.0))),
                id=len(zones) + 1,
            )
        )
    if draw(st.booleans()):
        opens = START + timedelta(seconds=draw(st.floats(0.0, 300.0)))
        schedule = Schedule(start=opens, end=opens + timedelta(minutes=20))
        zones.append(
            Zone(
                "event",
                Restriction.PROHIBITED,
                polygon_in_lonlat(draw(star_polygons())),
                schedule=schedule,
                id=len(zones) + 1,
            )
        )
    if draw(st.booleans()):
        half = draw(st.floats(5_000.0, 40_000.0))
        huge = Polygon([to_lonlat(x, y) for x, y in box(-half, -half, half, 600.0).exterior.coords])
        zones.append(Zone("huge", Restriction.WARNING, huge, id=len(zones) + 1))
    if draw(st.booleans()):
        area = polygon_in_lonlat(box(-1200.0, -1200.0, 1200.0, 1200.0))
        zones.append(Zone("area", Restriction.OPERATING_AREA, area, id=len(zones) + 1))
    return zones


points_xy = st.tuples(st.floats(-1500.0, 1500.0), st.floats(-1500.0, 1500.0))


def same(a: CheckReport, b: CheckReport, tolerance_m: float = 0.05) -> None:
    """The same findings, entries within ``tolerance_m``."""
    assert _keys(a.violations) == _keys(b.violations)
    assert _keys(a.warnings) == _keys(b.warnings)
    for x, y in zip([*a.violations, *a.warnings], [*b.violations, *b.warnings], strict=True):
        ex, ey = x.entry, y.entry
        dy_m = (ex["lat_deg"] - ey["lat_deg"]) * 110_574.0
        dx_m = (ex["lon_deg"] - ey["lon_deg"]) * 111_320.0 * math.cos(math.radians(ex["lat_deg"]))
        assert math.hypot(dx_m, dy_m) < tolerance_m, (x.message, y.message)
        assert abs(ex["alt_m"] - ey["alt_m"]) < 0.05
        if x.clearance_m is not None:
            assert y.clearance_m is not None and abs(x.clearance_m - y.clearance_m) < tolerance_m


def _keys(findings: list[Finding]) -> list[tuple[str, int | None, int]]:
    return [(f.rule, f.zone_id, f.leg_index) for f in findings]


@SETTINGS
@given(
    zone_sets(),
    st.lists(points_xy, min_size=2, max_size=6),
    st.lists(st.floats(0.0, 150.0), min_size=6, max_size=6),
    st.floats(500.0, 4000.0),
)
def test_a_scope_changes_no_answer(
    zones: list[Zone], xy: list[tuple[float, float]], alts: list[float], radius_m: float
) -> None:
    """Paths inside the scope use it, paths reaching beyond it are projected as usual: the
    findings are the same as without a scope either way. The scope is centred where the
    check centres its own frame, so the frames are the same and the answers must agree to a
    few centimetres (clipping, candidates and reuse of the projection are what is tested;
    long edges clipped at another box are densified at other points: ~1 cm)."""
    index = ZoneIndex(zones)
    path = flight(xy, alts[: len(xy)])
    lons = [p.lon_deg for p in path.points]
    lats = [p.lat_deg for p in path.points]
    centre = ((min(lons) + max(lons)) / 2.0, (min(lats) + max(lats)) / 2.0)
    scope = LocalScope(index, *centre, radius_m)
    plain = check_path(path, index, start=START, buffer_m=20.0, drone="TH-01")
    scoped = check_path(path, index, start=START, buffer_m=20.0, drone="TH-01", scope=scope)
    same(plain, scoped)
    assert scoped.zones_considered == plain.zones_considered


def test_a_scope_centred_elsewhere_moves_entries_by_millimetres() -> None:
    """The monitor's scopes are centred where a drone was, up to ~1.5 km from its path: the
    frames' difference moves a steep crossing's entry by far less than a centimetre."""
    square = polygon_in_lonlat(box(-100.0, 200.0, 100.0, 400.0))
    index = ZoneIndex([Zone("square", Restriction.PROHIBITED, square, id=1)])
    path = flight([(-50.0, 0.0), (30.0, 600.0)], [30.0, 30.0])
    scope = LocalScope(index, *to_lonlat(-400.0, -300.0), 2500.0)
    plain = check_path(path, index, start=START, buffer_m=20.0)
    scoped = check_path(path, index, start=START, buffer_m=20.0, scope=scope)
    assert [f.rule for f in plain.violations] == ["enters-zone"]
    same(plain, scoped, tolerance_m=0.01)


def test_a_scope_covers_only_its_square() -> None:
    index = ZoneIndex([Zone("c", Restriction.PROHIBITED, Circle(*CENTRE, 50.0), id=1)])
    scope = LocalScope(index, *CENTRE, 2000.0)
    assert scope.holds(*CENTRE, 1900.0)
    assert not scope.holds(*CENTRE, 2100.0)
    east = to_lonlat(1500.0, 0.0)
    assert scope.holds(*east, 400.0)
    assert not scope.holds(*east, 600.0)


def test_a_scope_of_another_index_is_refused() -> None:
    zone = Zone("c", Restriction.PROHIBITED, Circle(*CENTRE, 50.0), id=1)
    scope = LocalScope(ZoneIndex([zone]), *CENTRE, 2000.0)
    path = flight([(0.0, 0.0), (100.0, 0.0)], [30.0, 30.0])
    with pytest.raises(InputError, match="another zone index"):
        check_path(path, ZoneIndex([zone]), start=START, scope=scope)


def test_bad_scopes_are_refused() -> None:
    index = ZoneIndex([])
    with pytest.raises(InputError, match="radius"):
        LocalScope(index, *CENTRE, 0.0)
    with pytest.raises(InputError, match="lat/lon"):
        LocalScope(index, 200.0, 23.0, 1000.0)


def test_without_ground_rules_home_in_zone_is_left_out() -> None:
    """A path starting inside a no-fly zone: home-in-zone only with the ground rules; the
    enters-zone finding either way."""
    zone = Zone("c", Restriction.PROHIBITED, Circle(*CENTRE, 200.0), id=1)
    index = ZoneIndex([zone])
    path = flight([(0.0, 0.0), (500.0, 0.0)], [0.0, 40.0])
    rules = {f.rule for f in check_path(path, index, start=START).violations}
    assert rules == {"home-in-zone", "enters-zone"}
    air = check_path(path, index, start=START, ground_rules=False)
    assert {f.rule for f in air.violations} == {"enters-zone"}


def test_a_predictor_prepares_a_scope_and_keeps_it_until_the_drone_moves_away() -> None:
    zone = Zone("c", Restriction.PROHIBITED, Circle(*CENTRE, 200.0), id=1)
    other = Zone("far", Restriction.PROHIBITED, Circle(*to_lonlat(20_100.0, 0.0), 50.0), id=2)
    index = ZoneIndex([zone, other])
    predictor = Predictor(
        index, lookahead_s=8.0, buffer_m=20.0, max_alt_m=120.0, time_margin_s=5.0
    ).for_drone("TH-01", [])

    def state(x_m: float, y_m: float) -> VehicleState:
        lon, lat = to_lonlat(x_m, y_m)
        return replace(
            VehicleState(),
            lat_deg=lat,
            lon_deg=lon,
            alt_rel_m=30.0,
            alt_amsl_m=40.0,
            vn_mps=0.0,
            ve_mps=10.0,
            vd_mps=0.0,
        )

    near = state(-250.0, 0.0)
    first = predictor.assess(near, START)
    assert first is not None and first.breach is not None  # 8 s at 10 m/s reaches the circle
    assert predictor.scope is None  # built after the decision, not before it
    predictor.prepare(near, START)
    scope = predictor.scope
    assert scope is not None and scope.holds(*to_lonlat(-250.0, 0.0), 1000.0)
    again = predictor.assess(state(-240.0, 10.0), START)
    assert again is not None and again.breach is not None and again.breach.zone_id == 1
    predictor.prepare(state(-240.0, 10.0), START)
    assert predictor.scope is scope
    far = state(20_000.0, 0.0)
    found = predictor.assess(far, START)  # beyond the scope: projected as usual
    assert found is not None and found.breach is not None and found.breach.zone_id == 2
    predictor.prepare(far, START)
    assert predictor.scope is not scope and predictor.scope is not None
    assert predictor.scope.holds(*to_lonlat(20_000.0, 0.0), 1000.0)


@SETTINGS
@given(zone_sets(), points_xy, st.floats(0.0, 150.0), st.floats(1200.0, 4000.0))
def test_the_nearest_zone_is_the_same_from_a_scope(
    zones: list[Zone], xy: tuple[float, float], alt_m: float, radius_m: float
) -> None:
    """The monitor's clearance taken from the scope's projected zones equals the one from
    the zones themselves (the frames differ: a few centimetres at most)."""
    index = ZoneIndex(zones)
    lon, lat = to_lonlat(*xy)
    here = Here(lat, lon, alt_m, 10.0, START.timestamp(), "TH-01")
    scope = LocalScope(index, *CENTRE, radius_m)
    plain = nearest_zone(index.restricted, here, search_m=1000.0, margin_s=5.0)
    scoped = nearest_zone(index.restricted, here, search_m=1000.0, margin_s=5.0, scope=scope)
    if plain is None or scoped is None:
        assert plain is None and scoped is None
        return
    assert abs(plain.clearance_m - scoped.clearance_m) < 0.05  # (another zone only in a tie)
