"""Which zones go into the fence, and why: window, grants, warning zones, vertical band,
radius, operating areas (:func:`uav.fence.select.select_zones`)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from shapely.geometry import Polygon

from uav.auth.model import Grant
from uav.errors import InputError
from uav.fence.flat import FlatFrame
from uav.fence.select import Role, Selection, Situation, select_zones
from uav.zones.model import AltitudeRef, Circle, Restriction, Schedule, VerticalBand, Zone

HOME_LAT, HOME_LON, HOME_AMSL = 23.1291, 113.3240, 20.0
FRAME = FlatFrame(HOME_LON, HOME_LAT)
T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)


def situation(**kw: float) -> Situation:
    base = {"radius_m": 1000.0, "max_alt_m": 120.0}
    base.update(kw)
    return Situation(
        "TH-01",
        HOME_LAT,
        HOME_LON,
        HOME_AMSL,
        base["radius_m"],
        T0.timestamp(),
        T1.timestamp(),
        base["max_alt_m"],
    )


def square(name: str, east_m: float, north_m: float, size_m: float = 50.0, **kw: object) -> Zone:
    """A square zone whose south-west corner is east_m/north_m from home."""
    xs = [east_m, east_m + size_m, east_m + size_m, east_m]
    ys = [north_m, north_m, north_m + size_m, north_m + size_m]
    lon, lat = FRAME.to_lonlat(xs, ys)
    restriction = kw.pop("restriction", Restriction.PROHIBITED)
    assert isinstance(restriction, Restriction)
    return Zone(name, restriction, Polygon(zip(lon, lat, strict=True)), **kw)  # type: ignore[arg-type]


def roles(sel: Selection) -> dict[str, tuple[Role, str]]:
    return {c.zone.name: (c.role, c.reason) for c in sel.choices}


def test_the_window_decides_and_part_time_zones_are_held_for_the_whole_flight() -> None:
    later = Schedule(start=T1 + timedelta(minutes=5))
    part = Schedule(start=T0 + timedelta(minutes=30))
    sel = select_zones(
        situation(),
        [
            square("later", 100, 100, schedule=later),
            square("part", 100, 100, schedule=part),
            square("always", 100, 100),
        ],
        [],
    )
    found = roles(sel)
    assert found["later"] == (Role.LEFT_OUT, "not active during the flight window")
    assert found["part"][0] is Role.EXCLUSION and "held for all of it" in found["part"][1]
    assert found["always"] == (Role.EXCLUSION, "prohibited from the ground")


def test_grants_lift_authorization_zones_only_for_the_whole_window() -> None:
    auth = square("auth", 100, 100, restriction=Restriction.AUTHORIZATION, id=7)
    half = square("half", 100, 100, restriction=Restriction.AUTHORIZATION, id=8)
    prohibited = square("nfz", 100, 100, id=9)
    grants = [
        Grant(7, "TH-01", T0 - timedelta(minutes=1), T1 + timedelta(minutes=1), "officer"),
        Grant(8, "TH-01", T0, T0 + timedelta(minutes=30), "officer"),
        Grant(9, "TH-01", T0, T1, "officer"),
        Grant(7, "TH-02", T0, T1, "officer"),
    ]
    found = roles(select_zones(situation(), [auth, half, prohibited], grants))
    assert found["auth"] == (Role.LEFT_OUT, "granted to TH-01 for the whole flight window")
    assert found["half"][0] is Role.EXCLUSION
    assert found["nfz"][0] is Role.EXCLUSION
    revoked = Grant(7, "TH-01", T0, T1, "officer", revoked_at=T0)
    assert roles(select_zones(situation(), [auth], [revoked]))["auth"][0] is Role.EXCLUSION


def test_warning_zones_are_never_in_the_fence() -> None:
    found = roles(
        select_zones(situation(), [square("w", 0, 0, restriction=Restriction.WARNING)], [])
    )
    assert found["w"] == (Role.LEFT_OUT, "warning zones are never in the fence")


def test_the_band_decides_exclusion_altitude_limit_or_monitor() -> None:
    everywhere = square("cap", -5000, -5000, 10_000, band=VerticalBand(floor_m=90.0))
    zones = [
        square("ground", 100, 100),
        square("high", 100, 100, band=VerticalBand(floor_m=30.0)),
        square("above", 100, 100, band=VerticalBand(floor_m=95.0)),
        square("amsl", 100, 100, band=VerticalBand(floor_m=20.0, floor_ref=AltitudeRef.AMSL)),
        square("amsl-high", 100, 100, band=VerticalBand(floor_m=60.0, floor_ref=AltitudeRef.AMSL)),
        square("under", 100, 100, band=VerticalBand(ceiling_m=15.0, ceiling_ref=AltitudeRef.AMSL)),
        everywhere,
    ]
    sel = select_zones(situation(), zones, [])
    found = roles(sel)
    assert sel.alt_max_m == 90.0 and sel.alt_max_why == "the floor of zone 'cap' (90 m)"
    assert found["cap"][0] is Role.ALTITUDE_LIMIT
    assert found["ground"][0] is Role.EXCLUSION
    assert found["amsl"][0] is Role.EXCLUSION  # 20 m AMSL is home's altitude: the ground
    assert found["high"][0] is Role.MONITOR and "starts 30 m above home" in found["high"][1]
    assert (
        found["amsl-high"][0] is Role.MONITOR and "starts 40 m above home" in found["amsl-high"][1]
    )
    assert found["above"] == (Role.ABOVE_CEILING, "starts at 95 m, at or above FENCE_ALT_MAX 90 m")
    assert found["under"] == (Role.LEFT_OUT, "entirely below home")


def test_the_global_ceiling_bounds_fence_alt_max() -> None:
    sel = select_zones(
        situation(max_alt_m=60.0), [square("high", 100, 100, band=VerticalBand(floor_m=80.0))], []
    )
    assert sel.alt_max_m == 60.0 and roles(sel)["high"][0] is Role.ABOVE_CEILING


def test_the_radius_with_its_margin_decides_reach() -> None:
    far = square("far", 1030, 0)  # beyond 1000 m * 1.01 + 10 m = 1020 m
    near = square("near", 1015, 0)
    lon, lat = FRAME.to_lonlat(1060.0, 0.0)
    ring = Zone("ring", Restriction.PROHIBITED, Circle(float(lon), float(lat), 50.0))
    found = roles(select_zones(situation(), [far, near, ring], []))
    assert found["far"] == (Role.LEFT_OUT, "beyond the 1000 m fence radius")
    assert found["near"][0] is Role.EXCLUSION and found["ring"][0] is Role.EXCLUSION
    with pytest.raises(InputError, match="FENCE_RADIUS"):
        select_zones(situation(radius_m=20_000.0), [], [])


def test_operating_areas_union_at_home_ceiling_and_refusal() -> None:
    area = square(
        "west",
        -400,
        -200,
        500,
        restriction=Restriction.OPERATING_AREA,
        band=VerticalBand(ceiling_m=80.0),
    )
    east = square("east", 50, -200, 500, restriction=Restriction.OPERATING_AREA)
    island = square("island", 3000, 0, 100, restriction=Restriction.OPERATING_AREA)
    sel = select_zones(situation(), [area, east, island], [])
    found = roles(sel)
    assert found["west"][0] is Role.INCLUSION and found["east"][0] is Role.INCLUSION
    assert found["island"] == (Role.LEFT_OUT, "operating area not connected to the one at home")
    assert sel.inclusion is not None
    assert sel.inclusion.area == pytest.approx(area.geometry.union(east.geometry).area)  # type: ignore[union-attr]
    assert sel.alt_max_m == 80.0 and "operating area 'west'" in sel.alt_max_why
    away = select_zones(situation(), [island], [])
    assert away.problems == [
        "home is outside every operating area active for the whole flight window"
    ]
    assert math.isinf(select_zones(situation(), [], []).alt_max_m) is False
