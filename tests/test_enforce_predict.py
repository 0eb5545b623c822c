"""The monitor's predictor on hand-made drone states (no link): straight-line prediction
through the plan check, bands, schedules that open mid-lookahead, a zone activating over a
drone, the operating-area edge, the ceiling, grants, and the clearance to the nearest zone.

Positions are laid out with pyproj's Geod, independent of the predictor's own arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pyproj import Geod
from shapely.geometry import Polygon

from uav.auth.model import Grant
from uav.check.index import ZoneIndex
from uav.check.report import ABOVE_CEILING, ENTERS_ZONE, OUTSIDE_OPERATING_AREA
from uav.enforce.predict import Assessment, Predictor
from uav.errors import InputError
from uav.link.state import Home, VehicleState
from uav.plans.model import FlightPath
from uav.zones.model import AltitudeRef, Circle, Restriction, Schedule, VerticalBand, Zone

GEOD = Geod(ellps="WGS84")
HOME = (113.3240, 23.1291)  # (lon, lat)
HOME_AMSL_M = 20.0
NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)


def at(east_m: float, north_m: float) -> tuple[float, float]:
    lon, lat, _ = GEOD.fwd(HOME[0], HOME[1], 90.0, east_m)
    lon, lat, _ = GEOD.fwd(lon, lat, 0.0, north_m)
    return lon, lat


def square(east_m: float, north_m: float, half_m: float) -> Polygon:
    return Polygon(
        [
            at(east_m - half_m, north_m - half_m),
            at(east_m + half_m, north_m - half_m),
            at(east_m + half_m, north_m + half_m),
            at(east_m - half_m, north_m + half_m),
        ]
    )


def zone(
    zone_id: int,
    geometry: Polygon | Circle,
    restriction: Restriction = Restriction.PROHIBITED,
    *,
    band: VerticalBand | None = None,
    schedule: Schedule | None = None,
) -> Zone:
    return Zone(
        name=f"Z{zone_id}",
        restriction=restriction,
        geometry=geometry,
        band=band or VerticalBand(),
        schedule=schedule or Schedule(),
        id=zone_id,
    )


def drone(
    east_m: float = 0.0,
    north_m: float = 0.0,
    alt_m: float = 30.0,
    *,
    vn: float = 0.0,
    ve: float = 0.0,
    vd: float = 0.0,
) -> VehicleState:
    lon, lat = at(east_m, north_m)
    return VehicleState(
        lat_deg=lat,
        lon_deg=lon,
        alt_rel_m=alt_m,
        alt_amsl_m=alt_m + HOME_AMSL_M,
        vn_mps=vn,
        ve_mps=ve,
        vd_mps=vd,
        home=Home(HOME[1], HOME[0], HOME_AMSL_M),
    )


def predictor(*zones: Zone, lookahead_s: float = 8.0, **kw: object) -> Predictor:
    opts: dict[str, object] = {"buffer_m": 20.0, "max_alt_m": 120.0, "time_margin_s": 0.0}
    opts.update(kw)
    return Predictor(ZoneIndex(zones), lookahead_s=lookahead_s, drone="TH-01", **opts)  # type: ignore[arg-type]


def assess(p: Predictor, state: VehicleState, now: datetime = NOW) -> Assessment:
    a = p.assess(state, now)
    assert a is not None
    return a


def test_straight_at_a_zone_predicts_the_entry_and_its_time() -> None:
    p = predictor(zone(1, square(0, 100, 20)))  # south edge 80 m north
    a = assess(p, drone(vn=10.0))
    assert a.breach is not None and a.breach.rule == ENTERS_ZONE and a.breach.zone_id == 1
    assert a.breach.time_to_breach_s == pytest.approx(8.0, abs=0.05)
    entry = a.breach.position
    _, _, north = GEOD.inv(HOME[0], HOME[1], HOME[0], entry.lat_deg)
    assert north == pytest.approx(80.0, abs=0.3) and entry.alt_m == pytest.approx(30.0)
    # farther than the lookahead, or flying away: nothing to act on
    assert assess(p, drone(north_m=-10, vn=10.0)).breach is None
    assert assess(p, drone(vn=-10.0)).breach is None
    assert assess(p, drone(ve=10.0)).breach is None
    # the lookahead is the horizon
    shorter = predictor(zone(1, square(0, 100, 20)), lookahead_s=7.9)
    assert assess(shorter, drone(vn=10)).breach is None


def test_clearance_to_the_nearest_zone_and_the_buffer() -> None:
    p = predictor(zone(1, square(0, 100, 20)), zone(2, Circle(*at(300, 0), 50.0)))
    a = assess(p, drone(north_m=50))
    assert a.breach is None and a.nearest is not None
    assert (a.nearest.zone_id, a.nearest.clearance_m) == (1, pytest.approx(30.0, abs=0.2))
    assert not a.within_buffer and not a.triggered
    a = assess(p, drone(north_m=65))
    assert a.nearest is not None and a.nearest.clearance_m == pytest.approx(15.0, abs=0.2)
    assert a.within_buffer and a.triggered
    a = assess(p, drone(east_m=240))  # the circle: 300 m east, radius 50
    assert a.nearest is not None and a.nearest.zone_id == 2
    assert a.nearest.clearance_m == pytest.approx(10.0, abs=0.2)
    assert assess(p, drone(east_m=-2000)).nearest is None  # none within a kilometre


def test_a_breach_can_leave_the_nearest_zone_for_after_the_action() -> None:
    p = predictor(zone(1, square(0, 100, 20)), zone(2, Circle(*at(60, 0), 30.0)))
    state = drone(vn=10.0)
    full = assess(p, state)
    deferred = p.assess(state, NOW, defer_nearest=True)
    assert deferred is not None and deferred.breach == full.breach
    assert deferred.nearest is None and not deferred.nearest_known
    assert p.complete(deferred, state, NOW) == full
    assert full.nearest is not None and full.nearest.zone_id == 2  # the circle, 30 m east
    # without a breach the nearest zone decides the buffer rule: never deferred
    calm = drone(north_m=65)
    assert p.assess(calm, NOW, defer_nearest=True) == assess(p, calm)


def test_floor_band_a_climb_through_the_floor_breaks_it_the_level_leg_below_does_not() -> None:
    band = VerticalBand(floor_m=40.0, ceiling_m=None)
    p = predictor(zone(1, square(0, 50, 45), band=band))  # from 5 m north, 40 m up
    level = assess(p, drone(alt_m=30.0, vn=5.0))
    assert level.breach is None
    assert level.nearest is None  # the zone does not hold the drone's altitude
    climbing = assess(p, drone(alt_m=30.0, vn=5.0, vd=-2.5))
    assert climbing.breach is not None and climbing.breach.rule == ENTERS_ZONE
    assert climbing.breach.time_to_breach_s == pytest.approx(4.0, abs=0.05)
    assert climbing.breach.position.alt_m == pytest.approx(40.0, abs=0.01)


def test_amsl_band_uses_home_altitude() -> None:
    # 50 m AMSL floor = 30 m above a home at 20 m AMSL
    band = VerticalBand(floor_m=50.0, floor_ref=AltitudeRef.AMSL)
    p = predictor(zone(1, square(0, 0, 100), band=band))
    assert assess(p, drone(alt_m=25.0)).breach is None
    inside = assess(p, drone(alt_m=31.0))
    assert inside.breach is not None and inside.breach.time_to_breach_s == 0.0


def test_a_window_opening_mid_lookahead_is_the_breach_time() -> None:
    opens = NOW + timedelta(seconds=5)
    schedule = Schedule(start=opens, end=opens + timedelta(hours=1))
    p = predictor(zone(1, square(0, 30, 20), schedule=schedule))
    a = assess(p, drone(vn=3.0))  # reaches the zone at 10/3 s, it opens at 5 s: still inside
    assert a.breach is not None
    assert a.breach.time_to_breach_s == pytest.approx(5.0, abs=0.01)
    # judged on the clock given: 10 s earlier it opens beyond the lookahead
    assert assess(p, drone(vn=3.0), NOW - timedelta(seconds=10)).breach is None


def test_a_zone_activating_over_a_hovering_drone_is_a_breach_at_once() -> None:
    opens = NOW + timedelta(seconds=1)
    p = predictor(zone(1, Circle(*HOME, 100.0), schedule=Schedule(start=opens)))
    before = assess(p, drone(), NOW - timedelta(seconds=30))
    assert before.breach is None and before.nearest is None
    after = assess(p, drone(), opens)
    assert after.breach is not None and after.breach.time_to_breach_s == 0.0
    assert after.nearest is not None and after.nearest.inside and after.within_buffer
    # the time margin widens the window: acted on that much earlier
    later = zone(1, Circle(*HOME, 100.0), schedule=Schedule(start=opens))
    early = predictor(later, time_margin_s=10)
    assert assess(early, drone(), NOW - timedelta(seconds=8)).breach is not None
    # within the look-ahead, the breach is when it opens: the drone is inside then
    soon = assess(predictor(later), drone(), opens - timedelta(seconds=5))
    assert soon.breach is not None and soon.breach.time_to_breach_s == pytest.approx(5.0)
    assert soon.nearest is None  # not active yet: no clearance to it
    assert assess(predictor(later), drone(), opens - timedelta(seconds=8.5)).breach is None


def test_operating_area_edge_is_a_breach() -> None:
    area = zone(9, square(0, 0, 100), Restriction.OPERATING_AREA)
    p = predictor(area)
    a = assess(p, drone(north_m=50, vn=10.0))  # edge 100 m north: 5 s
    assert a.breach is not None and a.breach.rule == OUTSIDE_OPERATING_AREA
    assert a.breach.time_to_breach_s == pytest.approx(5.0, abs=0.05)
    assert assess(p, drone(north_m=50, ve=5.0)).breach is None  # 40 m in 8 s: stays inside


def test_ceiling_is_a_breach() -> None:
    p = predictor(max_alt_m=60.0)
    a = assess(p, drone(alt_m=50.0, vd=-2.5))
    assert a.breach is not None and a.breach.rule == ABOVE_CEILING
    assert a.breach.time_to_breach_s == pytest.approx(4.0, abs=0.05)
    assert assess(p, drone(alt_m=50.0, vd=2.5)).breach is None


def test_authorization_zone_needs_a_grant_for_this_drone() -> None:
    auth = zone(1, square(0, 50, 20), Restriction.AUTHORIZATION)
    assert assess(predictor(auth), drone(vn=10)).breach is not None
    grant = Grant(1, "TH-01", NOW - timedelta(hours=1), NOW + timedelta(hours=1), "Officer")
    p = predictor(auth).for_drone("TH-01", [grant])
    a = assess(p, drone(vn=10))
    assert a.breach is None and a.nearest is None
    other = predictor(auth).for_drone("TH-02", [grant])
    assert assess(other, drone(vn=10)).breach is not None


def test_warning_zones_are_shown_not_breaches() -> None:
    p = predictor(zone(1, square(0, 50, 20), Restriction.WARNING))
    a = assess(p, drone(vn=10))
    assert a.breach is None and not a.triggered
    assert [w.zone_id for w in a.warnings] == [1]


def test_stopping_path_at_a_deceleration() -> None:
    p = predictor(zone(1, square(0, 50, 20)))  # south edge 30 m north
    # 10 m/s: 20 m at 2.5 m/s^2 stops short; 1.25 m/s^2 needs 40 m
    assert p.assess_stop(drone(vn=10.0), NOW, 2.5) is None
    late = p.assess_stop(drone(vn=10.0), NOW, 1.25)
    assert late is not None and late.zone_id == 1
    assert p.assess_stop(drone(north_m=29.0), NOW, 7.5) is None  # hovering outside


def test_unknown_position_or_velocity_is_no_assessment() -> None:
    p = predictor(zone(1, square(0, 50, 20)))
    assert p.assess(VehicleState(), NOW) is None
    moving = drone(vn=1.0)
    from dataclasses import replace

    assert p.assess(replace(moving, vn_mps=None), NOW) is None


def test_bad_options_are_input_errors() -> None:
    with pytest.raises(InputError, match="lookahead"):
        predictor(lookahead_s=-1)
    with pytest.raises(InputError, match="buffer"):
        predictor(buffer_m=float("nan"))


def test_the_prefilter_never_changes_an_answer() -> None:
    zones = [
        zone(1, square(0, 100, 20)),
        zone(2, Circle(*at(-150, 40), 30.0)),
        zone(3, square(200, -200, 50), band=VerticalBand(floor_m=40.0)),
        zone(4, square(-300, -300, 60), Restriction.WARNING),
    ]
    fast, full = predictor(*zones, max_alt_m=60.0), predictor(*zones, max_alt_m=60.0)
    full.prefilter = False
    skipped = 0
    for east in range(-400, 401, 50):
        for north in range(-400, 401, 50):
            for vn, ve, vd in ((10.0, 0.0, 0.0), (-7.0, 7.0, -2.5), (0.0, 0.0, 0.0)):
                state = drone(east, north, 35.0, vn=vn, ve=ve, vd=vd)
                got, want = assess(fast, state), assess(full, state)
                assert (got.breach, got.warnings) == (want.breach, want.warnings), (east, north)
                skipped += fast._nothing_near(_path_of(state)) if got.breach is None else 0
    assert skipped > 100  # and it did skip the check for most of them


def _path_of(state: VehicleState) -> FlightPath:
    from uav.enforce.predict import _here, _straight_path, _velocity

    here = _here(state, NOW, None)
    motion = _velocity(state)
    assert here is not None and motion is not None
    return _straight_path(here, motion, 8.0)
