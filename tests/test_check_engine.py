"""The 3-D + time check engine on hand-built Guangzhou scenarios.

Positions are laid out with pyproj's Geod (independent of the engine's local frame), and
the expected crossings are computed from that geometry, not copied from a run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from pyproj import Geod
from shapely.geometry import MultiPolygon, Polygon

from uav.auth.model import Grant
from uav.check import CheckReport, ZoneIndex, check_path
from uav.errors import CheckUncertain, InputError, PlanError
from uav.plans.model import FlightPath, PathPoint
from uav.zones.model import AltitudeRef, Circle, Restriction, Schedule, VerticalBand, Zone

GEOD = Geod(ellps="WGS84")
START = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)  # 14:00 in Guangzhou
CANTON_TOWER = (113.3245, 23.1066)  # (lon, lat)
HAIXINSHA = (113.3240, 23.1150)
TIANHE_SPORTS = (113.3270, 23.1375)
ZHUJIANG_NEW_TOWN = (113.3210, 23.1190)
BAIYUN_AIRPORT = (113.2990, 23.3920)


def offset(origin: tuple[float, float], east_m: float, north_m: float) -> tuple[float, float]:
    """The (lon, lat) ``east_m`` east and ``north_m`` north of ``origin`` (two geodesic steps)."""
    lon, lat, _ = GEOD.fwd(origin[0], origin[1], 90.0, east_m)
    lon, lat, _ = GEOD.fwd(lon, lat, 0.0, north_m)
    return (lon, lat)


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(GEOD.inv(a[0], a[1], b[0], b[1])[2])


def square(centre: tuple[float, float], half_m: float) -> Polygon:
    """A square ``2 * half_m`` across, corners found geodesically from the centre."""
    return Polygon(
        [
            offset(centre, -half_m, -half_m),
            offset(centre, half_m, -half_m),
            offset(centre, half_m, half_m),
            offset(centre, -half_m, half_m),
        ]
    )


def zone(
    name: str,
    geometry: Polygon | MultiPolygon | Circle,
    restriction: Restriction = Restriction.PROHIBITED,
    *,
    band: VerticalBand | None = None,
    schedule: Schedule | None = None,
    zone_id: int = 1,
) -> Zone:
    return Zone(
        name=name,
        restriction=restriction,
        geometry=geometry,
        band=band or VerticalBand(),
        schedule=schedule or Schedule(),
        id=zone_id,
    )


LonLat = tuple[float, float]
Waypoint = tuple[LonLat, float, float] | tuple[LonLat, float, float, float]


def path(
    waypoints: Sequence[Waypoint],
    home_amsl_m: float | None = 10.0,
) -> FlightPath:
    """Points from ((lon, lat), alt_m above home, t_s[, hold_s]); the first is labelled home."""
    points = []
    for i, wp in enumerate(waypoints):
        (lon, lat), alt_m, t_s = wp[0], wp[1], wp[2]
        hold_s = wp[3] if len(wp) == 4 else 0.0
        label = "home" if i == 0 else str(i)
        points.append(PathPoint(lat, lon, alt_m, t_s, label, hold_s))
    first = points[0]
    return FlightPath(tuple(points), first.lat_deg, first.lon_deg, home_amsl_m)


def crossing(
    a: tuple[float, float], b: tuple[float, float], t0: float, t1: float, alt: float = 60.0
) -> FlightPath:
    """Take off at ``a``, climb, fly to ``b`` from ``t0`` to ``t1``, land at ``b``."""
    return path([(a, 0.0, 0.0), (a, alt, t0), (b, alt, t1), (b, 0.0, t1 + 40.0)])


def check(p: FlightPath, zones: Sequence[Zone], **options: object) -> CheckReport:
    return check_path(p, ZoneIndex(zones), start=START, **options)  # type: ignore[arg-type]


def entry_lonlat(report: CheckReport, k: int = 0) -> tuple[float, float]:
    e = report.violations[k].entry
    return (e["lon_deg"], e["lat_deg"])


# --- crossing a prohibited polygon -------------------------------------------------------


def test_leg_through_prohibited_polygon_enters_at_its_edge() -> None:
    tower = zone("Canton Tower", square(CANTON_TOWER, 300.0))
    west, east = offset(CANTON_TOWER, -1000.0, 0.0), offset(CANTON_TOWER, 1000.0, 0.0)
    report = check(crossing(west, east, 30.0, 230.0), [tower])

    assert not report.clear
    [v] = report.violations
    assert (v.rule, v.zone, v.zone_id, v.restriction) == (
        "enters-zone",
        "Canton Tower",
        1,
        "prohibited",
    )
    assert (v.leg, v.leg_index) == ("1→2", 1)
    # The west edge runs from (-300, -300) to (-300, +300) m: the leg crosses it at (-300, 0).
    west_edge = offset(CANTON_TOWER, -300.0, 0.0)
    assert distance_m(entry_lonlat(report), west_edge) < 1.0
    assert v.entry["alt_m"] == pytest.approx(60.0)
    assert v.entry["alt_amsl_m"] == pytest.approx(70.0)
    # 700 m of 2000 m flown from t=30 s to t=230 s: at 100 s.
    expected = START + timedelta(seconds=30.0 + 200.0 * 700.0 / 2000.0)
    assert datetime.fromisoformat(v.entry["time"]) == pytest.approx(
        expected, abs=timedelta(seconds=0.2)
    )
    assert "Canton Tower" in v.message and "1→2" in v.message


def test_leg_beside_the_polygon_is_clear() -> None:
    tower = zone("Canton Tower", square(CANTON_TOWER, 300.0))
    west, east = offset(CANTON_TOWER, -1000.0, 400.0), offset(CANTON_TOWER, 1000.0, 400.0)
    report = check(crossing(west, east, 30.0, 230.0), [tower])
    assert report.clear
    assert report.violations == [] and report.warnings == []


def test_circle_crossing_enters_at_the_radius() -> None:
    island = zone("Haixinsha", Circle(HAIXINSHA[0], HAIXINSHA[1], 250.0))
    south, north = offset(HAIXINSHA, 0.0, -800.0), offset(HAIXINSHA, 0.0, 800.0)
    report = check(crossing(south, north, 20.0, 180.0), [island])
    [v] = report.violations
    assert v.rule == "enters-zone" and v.leg == "1→2"
    entry = entry_lonlat(report)
    assert distance_m(entry, HAIXINSHA) == pytest.approx(250.0, abs=1.0)
    assert entry[1] < HAIXINSHA[1]  # the south side, where the drone comes from


def test_circle_near_airport_missed_by_a_wide_margin_is_clear() -> None:
    airport = zone("Baiyun airport", Circle(BAIYUN_AIRPORT[0], BAIYUN_AIRPORT[1], 5000.0))
    a, b = offset(BAIYUN_AIRPORT, -8000.0, -5100.0), offset(BAIYUN_AIRPORT, 8000.0, -5100.0)
    assert check(crossing(a, b, 20.0, 1620.0), [airport]).clear


def test_multipolygon_entry_is_at_the_part_the_leg_crosses() -> None:
    north_part = square(offset(TIANHE_SPORTS, 0.0, 400.0), 100.0)
    south_part = square(offset(TIANHE_SPORTS, 0.0, -400.0), 100.0)
    stadium = zone("Tianhe sports centre", MultiPolygon([north_part, south_part]))
    a = offset(TIANHE_SPORTS, -600.0, -400.0)
    b = offset(TIANHE_SPORTS, 600.0, -400.0)
    report = check(crossing(a, b, 10.0, 130.0), [stadium])
    assert [v.leg for v in report.violations] == ["1→2"]
    assert distance_m(entry_lonlat(report), offset(TIANHE_SPORTS, -100.0, -400.0)) < 1.0
    # The same leg moved to the gap between the parts is clear.
    a_gap, b_gap = offset(TIANHE_SPORTS, -600.0, 0.0), offset(TIANHE_SPORTS, 600.0, 0.0)
    assert check(crossing(a_gap, b_gap, 10.0, 130.0), [stadium]).clear


# --- altitude bands ---------------------------------------------------------------------


def test_leg_under_the_floor_is_clear_and_climbing_through_it_is_not() -> None:
    high = zone(
        "Zhujiang high band", square(ZHUJIANG_NEW_TOWN, 400.0), band=VerticalBand(floor_m=150.0)
    )
    west, east = offset(ZHUJIANG_NEW_TOWN, -1000.0, 0.0), offset(ZHUJIANG_NEW_TOWN, 1000.0, 0.0)
    under = path([(west, 0.0, 0.0), (west, 100.0, 40.0), (east, 100.0, 240.0), (east, 0.0, 310.0)])
    assert check(under, [high]).clear

    # From 100 m to 200 m over 2000 m: 150 m is reached at the middle, inside the zone.
    climb = path([(west, 0.0, 0.0), (west, 100.0, 40.0), (east, 200.0, 240.0), (east, 0.0, 380.0)])
    report = check(climb, [high], max_alt_m=250.0)
    [v] = report.violations
    assert v.entry["alt_m"] == pytest.approx(150.0, abs=0.01)
    assert distance_m(entry_lonlat(report), ZHUJIANG_NEW_TOWN) < 1.0


def test_amsl_ceiling_uses_the_home_altitude() -> None:
    low_amsl = zone(
        "AMSL ceiling",
        square(CANTON_TOWER, 300.0),
        band=VerticalBand(0.0, AltitudeRef.AGL, 100.0, AltitudeRef.AMSL),
    )
    west, east = offset(CANTON_TOWER, -1000.0, 0.0), offset(CANTON_TOWER, 1000.0, 0.0)
    # Home at 20 m AMSL: 50 m above home is 70 m AMSL (inside), 90 m is 110 m AMSL (above).
    inside = path([(west, 0.0, 0.0), (west, 50.0, 20.0), (east, 50.0, 220.0)], 20.0)
    above = path([(west, 0.0, 0.0), (west, 90.0, 36.0), (east, 90.0, 236.0)], 20.0)
    [v] = check(inside, [low_amsl]).violations
    assert v.entry["alt_amsl_m"] == pytest.approx(70.0)
    assert check(above, [low_amsl]).clear
    # Without home's AMSL altitude the check cannot tell, and says which zone it needed.
    unknown = path([(west, 0.0, 0.0), (west, 90.0, 36.0), (east, 90.0, 236.0)], None)
    with pytest.raises(CheckUncertain, match="AMSL ceiling"):
        check(unknown, [low_amsl])


# --- schedules --------------------------------------------------------------------------


def _timed_tower(start_s: float, end_s: float) -> Zone:
    when = Schedule(start=START + timedelta(seconds=start_s), end=START + timedelta(seconds=end_s))
    return zone("Canton Tower event", square(CANTON_TOWER, 300.0), schedule=when)


def test_zone_active_during_the_leg_is_a_violation() -> None:
    west, east = offset(CANTON_TOWER, -1000.0, 0.0), offset(CANTON_TOWER, 1000.0, 0.0)
    # The drone is inside from t=100 s to t=160 s.
    report = check(crossing(west, east, 30.0, 230.0), [_timed_tower(120.0, 3600.0)])
    assert [v.leg for v in report.violations] == ["1→2"]
    # Active (widened by the 60 s margin) from 60 s: the whole stay counts, entry at the edge.
    assert distance_m(entry_lonlat(report), offset(CANTON_TOWER, -300.0, 0.0)) < 1.0


def test_zone_active_only_before_the_flight_is_clear() -> None:
    west, east = offset(CANTON_TOWER, -1000.0, 0.0), offset(CANTON_TOWER, 1000.0, 0.0)
    assert check(crossing(west, east, 30.0, 230.0), [_timed_tower(-7200.0, -3600.0)]).clear


def test_time_margin_catches_a_zone_that_ended_shortly_before() -> None:
    west, east = offset(CANTON_TOWER, -1000.0, 0.0), offset(CANTON_TOWER, 1000.0, 0.0)
    ended = _timed_tower(-600.0, 70.0)  # ends 30 s before the drone enters at 100 s
    assert not check(crossing(west, east, 30.0, 230.0), [ended]).clear
    assert check(crossing(west, east, 30.0, 230.0), [ended], time_margin_s=0.0).clear


def test_zone_switching_on_while_holding_is_caught() -> None:
    inside = offset(CANTON_TOWER, 0.0, 0.0)
    west, east = offset(CANTON_TOWER, -1000.0, 0.0), offset(CANTON_TOWER, 1000.0, 0.0)
    event = _timed_tower(400.0, 420.0)  # widened: 340 s to 480 s
    # In the zone from ~170 s to ~230 s and ~600 s to ~630 s, holding at its centre till 600 s.
    holding = path(
        [(west, 0.0, 0.0), (west, 60.0, 30.0), (inside, 60.0, 200.0, 400.0), (east, 60.0, 700.0)]
    )
    report = check(holding, [event])
    [v] = report.violations
    assert (v.rule, v.leg, v.leg_index) == ("enters-zone", "2→2", 2)
    assert datetime.fromisoformat(v.entry["time"]) == START + timedelta(seconds=340.0)
    assert distance_m(entry_lonlat(report), inside) < 1.0
    passing = path(
        [(west, 0.0, 0.0), (west, 60.0, 30.0), (inside, 60.0, 200.0), (east, 60.0, 300.0)]
    )
    assert check(passing, [event]).clear


# --- authorization zones and grants -----------------------------------------------------


def _grant(drone: str, start_s: float, end_s: float, zone_id: int = 7) -> Grant:
    return Grant(
        zone_id=zone_id,
        drone=drone,
        start=START + timedelta(seconds=start_s),
        end=START + timedelta(seconds=end_s),
        granted_by="Insp. Chen",
    )


def _auth_report(*grants: Grant, drone: str | None = "GZ-PD-03") -> CheckReport:
    stadium = zone(
        "Tianhe sports centre", square(TIANHE_SPORTS, 300.0), Restriction.AUTHORIZATION, zone_id=7
    )
    west, east = offset(TIANHE_SPORTS, -1000.0, 0.0), offset(TIANHE_SPORTS, 1000.0, 0.0)
    # Inside from 100 s to 160 s; with the margin a grant must cover 40 s to 220 s.
    return check(crossing(west, east, 30.0, 230.0), [stadium], drone=drone, grants=grants)


def test_authorization_zone_with_a_covering_grant_is_clear() -> None:
    assert _auth_report(_grant("GZ-PD-03", -600.0, 3600.0)).clear


def test_authorization_zone_with_a_grant_ending_too_early_is_a_violation() -> None:
    report = _auth_report(_grant("GZ-PD-03", -600.0, 150.0))
    [v] = report.violations
    assert v.rule == "enters-zone" and v.restriction == "authorization"
    assert "grant" in v.message


def test_authorization_zone_with_a_grant_for_another_drone_is_a_violation() -> None:
    assert not _auth_report(_grant("GZ-PD-11", -600.0, 3600.0)).clear


def test_authorization_zone_without_a_drone_is_a_violation() -> None:
    assert not _auth_report(_grant("GZ-PD-03", -600.0, 3600.0), drone=None).clear


def test_grant_for_another_zone_does_not_help() -> None:
    assert not _auth_report(_grant("GZ-PD-03", -600.0, 3600.0, zone_id=8)).clear


# --- ceiling, operating area, home --------------------------------------------------------


def test_climbing_above_the_ceiling_enters_where_it_crosses_it() -> None:
    a, b = offset(HAIXINSHA, -2000.0, 0.0), offset(HAIXINSHA, 2000.0, 0.0)
    climb = path([(a, 0.0, 0.0), (a, 60.0, 30.0), (b, 180.0, 430.0), (b, 0.0, 550.0)])
    report = check(climb, [])
    # The climb crosses 120 m and the landing starts above it: one stay over two legs.
    [v] = report.violations
    assert (v.rule, v.leg, v.zone, v.zone_id) == ("above-ceiling", "1→2", None, None)
    assert "through leg 2→3" in v.message
    assert v.entry["alt_m"] == pytest.approx(120.0)
    # 120 m is half way from 60 m to 180 m.
    assert distance_m(entry_lonlat(report), HAIXINSHA) < 1.0
    assert check(climb, [], max_alt_m=200.0).clear


def test_leaving_the_operating_area_is_a_violation_and_staying_inside_is_clear() -> None:
    area = zone(
        "Zhujiang patrol area",
        square(ZHUJIANG_NEW_TOWN, 1500.0),
        Restriction.OPERATING_AREA,
        zone_id=20,
    )
    inside_a = offset(ZHUJIANG_NEW_TOWN, -1000.0, 0.0)
    inside_b = offset(ZHUJIANG_NEW_TOWN, 1000.0, 0.0)
    assert check(crossing(inside_a, inside_b, 30.0, 230.0), [area]).clear

    outside = offset(ZHUJIANG_NEW_TOWN, 2500.0, 0.0)
    report = check(crossing(inside_a, outside, 30.0, 380.0), [area])
    # Out on the way there, and still out when landing there: one stay over two legs.
    [v] = report.violations
    assert (v.rule, v.leg) == ("outside-operating-area", "1→2")
    assert "through leg 2→3" in v.message
    assert distance_m(entry_lonlat(report), offset(ZHUJIANG_NEW_TOWN, 1500.0, 0.0)) < 1.0


def test_flying_just_inside_the_operating_area_edge_warns() -> None:
    area = zone(
        "Zhujiang patrol area",
        square(ZHUJIANG_NEW_TOWN, 1500.0),
        Restriction.OPERATING_AREA,
        zone_id=20,
    )
    a, b = offset(ZHUJIANG_NEW_TOWN, -1000.0, 1490.0), offset(ZHUJIANG_NEW_TOWN, 1000.0, 1490.0)
    report = check(path([(a, 0.0, 0.0), (a, 60.0, 30.0), (b, 60.0, 230.0)]), [area])
    assert report.clear
    assert {w.rule for w in report.warnings} == {"within-buffer"}
    edge = [w for w in report.warnings if w.leg == "1→2"]
    assert edge[0].zone == "Zhujiang patrol area"
    assert edge[0].clearance_m == pytest.approx(10.0, abs=0.5)


def test_operating_area_not_yet_active_is_a_violation_from_take_off() -> None:
    later = Schedule(start=START + timedelta(hours=1))
    area = zone(
        "Night patrol area",
        square(ZHUJIANG_NEW_TOWN, 1500.0),
        Restriction.OPERATING_AREA,
        schedule=later,
        zone_id=21,
    )
    a, b = offset(ZHUJIANG_NEW_TOWN, -1000.0, 0.0), offset(ZHUJIANG_NEW_TOWN, 1000.0, 0.0)
    report = check(crossing(a, b, 30.0, 230.0), [area])
    assert report.violations[0].rule == "outside-operating-area"
    assert report.violations[0].leg_index == 0


def test_home_inside_a_prohibited_zone() -> None:
    tower = zone("Canton Tower", square(CANTON_TOWER, 300.0))
    home = offset(CANTON_TOWER, 100.0, 0.0)
    away = offset(CANTON_TOWER, 1500.0, 0.0)
    report = check(crossing(home, away, 30.0, 170.0), [tower])
    rules = {(v.rule, v.leg) for v in report.violations}
    assert ("home-in-zone", "home→1") in rules
    assert ("enters-zone", "home→1") in rules  # the take-off climb itself is inside
    high = zone("Canton Tower upper", square(CANTON_TOWER, 300.0), band=VerticalBand(floor_m=100.0))
    assert check(crossing(home, away, 30.0, 170.0), [high]).clear


# --- buffer -------------------------------------------------------------------------------


def test_passing_close_gives_a_buffer_warning_with_the_true_clearance() -> None:
    tower = zone("Canton Tower", square(CANTON_TOWER, 300.0))
    a, b = offset(CANTON_TOWER, -1000.0, 312.0), offset(CANTON_TOWER, 1000.0, 312.0)
    report = check(crossing(a, b, 30.0, 230.0), [tower])
    assert report.clear
    [w] = report.warnings
    assert (w.rule, w.zone, w.leg) == ("within-buffer", "Canton Tower", "1→2")
    assert w.clearance_m == pytest.approx(12.0, abs=0.5)
    far_a, far_b = offset(CANTON_TOWER, -1000.0, 330.0), offset(CANTON_TOWER, 1000.0, 330.0)
    assert check(crossing(far_a, far_b, 30.0, 230.0), [tower]).warnings == []


def test_warning_zone_gives_a_warning_not_a_violation() -> None:
    island = zone(
        "Haixinsha events", Circle(HAIXINSHA[0], HAIXINSHA[1], 200.0), Restriction.WARNING
    )
    a, b = offset(HAIXINSHA, -700.0, 0.0), offset(HAIXINSHA, 700.0, 0.0)
    report = check(crossing(a, b, 10.0, 150.0), [island])
    assert report.clear
    assert [w.rule for w in report.warnings] == ["enters-warning-zone"]


# --- limits and the JSON shape ----------------------------------------------------------


def test_a_path_400_km_long_is_uncertain() -> None:
    far_east = offset(CANTON_TOWER, 400_000.0, 0.0)
    with pytest.raises(CheckUncertain, match="too long"):
        check(crossing(CANTON_TOWER, far_east, 10.0, 40_000.0), [])


def test_report_json_has_exactly_the_documented_keys() -> None:
    tower = zone("Canton Tower", square(CANTON_TOWER, 300.0))
    west, east = offset(CANTON_TOWER, -1000.0, 0.0), offset(CANTON_TOWER, 1000.0, 0.0)
    data = check(crossing(west, east, 30.0, 230.0), [tower]).to_json()
    assert set(data) == {
        "clear",
        "violations",
        "warnings",
        "notes",
        "start",
        "duration_s",
        "legs",
        "zones_considered",
    }
    assert data["clear"] is False and data["legs"] == 3 and data["zones_considered"] == 1
    assert data["duration_s"] == 270.0
    finding = data["violations"][0]
    assert set(finding) == {
        "rule",
        "zone_id",
        "zone",
        "restriction",
        "leg",
        "leg_index",
        "entry",
        "clearance_m",
        "message",
    }
    assert set(finding["entry"]) == {"lat_deg", "lon_deg", "alt_m", "alt_amsl_m", "time"}


def test_flying_above_the_operating_area_ceiling_is_outside_it() -> None:
    area = zone(
        "Zhujiang low patrol area",
        square(ZHUJIANG_NEW_TOWN, 1500.0),
        Restriction.OPERATING_AREA,
        band=VerticalBand(ceiling_m=100.0),
        zone_id=22,
    )
    a, b = offset(ZHUJIANG_NEW_TOWN, -1000.0, 0.0), offset(ZHUJIANG_NEW_TOWN, 1000.0, 0.0)
    assert check(crossing(a, b, 30.0, 230.0, alt=90.0), [area]).clear
    report = check(crossing(a, b, 30.0, 230.0, alt=110.0), [area])
    first = report.violations[0]
    assert (first.rule, first.leg) == ("outside-operating-area", "home→1")
    assert first.entry["alt_m"] == pytest.approx(100.0)  # the climb leaves it at its ceiling


def test_a_start_time_without_time_zone_is_refused() -> None:
    a, b = offset(CANTON_TOWER, -1000.0, 0.0), offset(CANTON_TOWER, 1000.0, 0.0)
    with pytest.raises(InputError, match="time zone"):
        check_path(crossing(a, b, 30.0, 230.0), ZoneIndex([]), start=datetime(2026, 11, 24, 14))


def test_a_path_whose_time_runs_backwards_is_refused() -> None:
    a, b = offset(CANTON_TOWER, -1000.0, 0.0), offset(CANTON_TOWER, 1000.0, 0.0)
    backwards = path([(a, 0.0, 0.0), (a, 60.0, 30.0, 60.0), (b, 60.0, 50.0)])
    with pytest.raises(PlanError, match="before the drone leaves"):
        check(backwards, [])


def test_separate_entries_into_one_zone_are_separate_findings() -> None:
    tower = zone("Canton Tower", square(CANTON_TOWER, 300.0))
    west, east = offset(CANTON_TOWER, -1000.0, 0.0), offset(CANTON_TOWER, 1000.0, 0.0)
    there_and_back = path(
        [
            (west, 0.0, 0.0),
            (west, 60.0, 30.0),
            (east, 60.0, 230.0),
            (west, 60.0, 430.0),
            (west, 0.0, 470.0),
        ]
    )
    report = check(there_and_back, [tower])
    assert [(v.rule, v.leg) for v in report.violations] == [
        ("enters-zone", "1→2"),
        ("enters-zone", "2→3"),
    ]
    # Coming back it enters at the east edge.
    assert distance_m(entry_lonlat(report, 1), offset(CANTON_TOWER, 300.0, 0.0)) < 1.0


def test_one_stay_over_several_legs_is_one_finding() -> None:
    tower = zone("Canton Tower", square(CANTON_TOWER, 300.0))
    west, east = offset(CANTON_TOWER, -1000.0, 0.0), offset(CANTON_TOWER, 1000.0, 0.0)
    inside_a, inside_b = offset(CANTON_TOWER, -100.0, 0.0), offset(CANTON_TOWER, 100.0, 50.0)
    through = path(
        [
            (west, 0.0, 0.0),
            (west, 60.0, 30.0),
            (inside_a, 60.0, 120.0, 30.0),
            (inside_b, 60.0, 170.0),
            (east, 60.0, 260.0),
        ]
    )
    [v] = check(through, [tower]).violations
    assert (v.leg, v.leg_index) == ("1→2", 1)
    assert "through leg 3→4" in v.message
