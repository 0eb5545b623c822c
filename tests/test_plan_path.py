"""The flown path: take-off, legs, loiters, landing, RTL, jumps, altitudes and times."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
from pyproj import Geod

from uav.errors import PlanError
from uav.geo.local import LocalFrame
from uav.plans.model import (
    AltFrame,
    FlightPath,
    FlightPlan,
    FlightProfile,
    MavCmd,
    MissionItem,
    PathPoint,
)
from uav.plans.path import build_path, profile_for
from uav.plans.readers import read_plan

GEOD = Geod(ellps="WGS84")
DATA = Path(__file__).parent / "data" / "plans"
HOME_LAT, HOME_LON = 23.1150, 113.3240  # Haixinsha island
NAN = math.nan
REL = AltFrame.ABOVE_HOME


def _plan(*items: MissionItem, home_amsl_m: float | None = 8.0) -> FlightPlan:
    return FlightPlan(Path("test.plan"), "qgc", HOME_LAT, HOME_LON, home_amsl_m, items)


def _item(
    seq: int,
    command: int,
    lat: float = NAN,
    lon: float = NAN,
    alt: float = NAN,
    frame: AltFrame | None = REL,
    p1: float = 0.0,
    p2: float = 0.0,
    p3: float = 0.0,
) -> MissionItem:
    return MissionItem(seq, command, frame, lat, lon, alt, p1, p2, p3, line=seq + 2)


def _takeoff(seq: int, alt: float) -> MissionItem:
    return _item(seq, MavCmd.NAV_TAKEOFF, alt=alt)


def _wp(seq: int, lat: float, lon: float, alt: float, hold_s: float = 0.0) -> MissionItem:
    return _item(seq, MavCmd.NAV_WAYPOINT, lat, lon, alt, p1=hold_s)


def _rtl(seq: int) -> MissionItem:
    return _item(seq, MavCmd.NAV_RETURN_TO_LAUNCH, frame=None)


def _away(dist_m: float, azimuth_deg: float = 0.0) -> tuple[float, float]:
    """(lat, lon) ``dist_m`` from home along ``azimuth_deg``."""
    lon, lat, _ = GEOD.fwd(HOME_LON, HOME_LAT, azimuth_deg, dist_m)
    return lat, lon


def _dist_m(a: PathPoint, lat: float, lon: float) -> float:
    return float(GEOD.inv(a.lon_deg, a.lat_deg, lon, lat)[2])


def _labels(path: FlightPath) -> list[str]:
    return [p.label for p in path.points]


# ---------------------------------------------------------------- take-off, legs, times


def test_starts_on_the_ground_and_takeoff_climbs_vertically() -> None:
    path = build_path(_plan(_takeoff(1, 30), _rtl(2)))
    home, top = path.points[0], path.points[1]
    assert (home.lat_deg, home.lon_deg, home.alt_m, home.t_s, home.label) == (
        HOME_LAT,
        HOME_LON,
        0.0,
        0.0,
        "home",
    )
    assert (top.lat_deg, top.lon_deg, top.alt_m, top.label) == (HOME_LAT, HOME_LON, 30.0, "1")
    assert top.t_s == pytest.approx(30 / 2.5)


def test_takeoff_ignores_its_lat_lon() -> None:
    lat, lon = _away(300)
    takeoff = _item(1, MavCmd.NAV_TAKEOFF, lat, lon, 25)
    path = build_path(_plan(takeoff, _rtl(2)))
    assert (path.points[1].lat_deg, path.points[1].lon_deg) == (HOME_LAT, HOME_LON)


def test_leg_time_is_distance_over_speed_plus_holds() -> None:
    north = _away(1000.0, 0.0)
    east = _away(600.0, 90.0)
    plan = _plan(_takeoff(1, 20), _wp(2, *north, 20, hold_s=30), _wp(3, *east, 20), _rtl(4))
    path = build_path(plan)
    wp2, wp3 = path.points[2], path.points[3]
    assert wp2.t_s == pytest.approx(20 / 2.5 + 100.0, abs=1e-6)
    assert wp2.hold_s == 30
    leg_m = _dist_m(wp2, *east)
    assert wp3.t_s == pytest.approx(wp2.t_s + 30 + leg_m / 10.0)


def test_profile_speed_changes_times() -> None:
    north = _away(1000.0)
    plan = _plan(_takeoff(1, 20), _wp(2, *north, 20), _rtl(3))
    slow = build_path(plan, FlightProfile(speed_mps=5.0))
    assert slow.points[2].t_s - slow.points[1].t_s == pytest.approx(200.0)


def test_a_steep_leg_takes_the_climb_time() -> None:
    north = _away(100.0)
    path = build_path(_plan(_takeoff(1, 10), _wp(2, *north, 60), _rtl(3)))
    assert path.points[2].t_s - path.points[1].t_s == pytest.approx(50 / 2.5)


def test_profile_for_prefers_explicit_then_plan_speed() -> None:
    plan = _plan(_takeoff(1, 10))
    cruising = FlightPlan(plan.source, "qgc", HOME_LAT, HOME_LON, 8.0, plan.items, 6.0)
    assert profile_for(cruising, 12.0).speed_mps == 12.0
    assert profile_for(cruising, None).speed_mps == 6.0
    assert profile_for(plan, None) == FlightProfile()
    with pytest.raises(PlanError, match="positive"):
        profile_for(plan, 0.0)


def test_do_change_speed_slows_the_next_legs_but_not_the_rtl() -> None:
    north = _away(1000.0)
    change = _item(3, 178, frame=None, p1=1, p2=5)
    path = build_path(_plan(_takeoff(1, 20), change, _wp(4, *north, 20), _rtl(5)))
    assert path.points[2].t_s - path.points[1].t_s == pytest.approx(200.0)
    over_home = path.points[3]
    assert over_home.label == "rtl"
    assert over_home.t_s - path.points[2].t_s == pytest.approx(100.0)


def test_nav_delay_holds_and_a_time_of_day_delay_is_refused() -> None:
    north = _away(500.0)
    delay = _item(3, MavCmd.NAV_DELAY, frame=None, p1=45)
    path = build_path(_plan(_takeoff(1, 20), _wp(2, *north, 20), delay, _rtl(4)))
    assert path.points[2].hold_s == 45
    until = _item(3, MavCmd.NAV_DELAY, frame=None, p1=-1)
    with pytest.raises(PlanError, match="time of day"):
        build_path(_plan(_takeoff(1, 20), until, _rtl(4)))


# ---------------------------------------------------------------- RTL and LAND


def test_rtl_climbs_to_rtl_alt_returns_and_lands() -> None:
    lat, lon = _away(500.0, 45.0)
    path = build_path(_plan(_takeoff(1, 10), _wp(2, lat, lon, 10), _rtl(3)))
    assert _labels(path) == ["home", "1", "2", "rtl", "rtl", "rtl"]
    wp, climb, over, landed = path.points[2:]
    assert (climb.lat_deg, climb.lon_deg, climb.alt_m) == (lat, lon, 15.0)
    assert climb.t_s - wp.t_s == pytest.approx(5 / 2.5)
    assert (over.lat_deg, over.lon_deg, over.alt_m) == (HOME_LAT, HOME_LON, 15.0)
    assert over.t_s - climb.t_s == pytest.approx(500 / 10.0, rel=1e-6)
    assert (landed.lat_deg, landed.lon_deg, landed.alt_m) == (HOME_LAT, HOME_LON, 0.0)
    # 5 m at WPNAV_SPEED_DN, the last 10 m at LAND_SPEED, after the hover over home
    assert landed.t_s - over.t_s == pytest.approx(over.hold_s + 5 / 1.5 + 10 / 0.5)
    assert path.duration_s == landed.t_s


def test_rtl_above_rtl_alt_keeps_its_altitude() -> None:
    lat, lon = _away(400.0)
    path = build_path(_plan(_takeoff(1, 40), _wp(2, lat, lon, 40), _rtl(3)))
    assert [p.alt_m for p in path.points if p.label == "rtl"] == [40.0, 0.0]


def test_rtl_alt_comes_from_the_profile() -> None:
    path = build_path(_plan(_takeoff(1, 10), _rtl(2)), FlightProfile(rtl_alt_m=30.0))
    assert max(p.alt_m for p in path.points) == 30.0


def test_missing_rtl_is_added_with_a_note() -> None:
    lat, lon = _away(300.0)
    path = build_path(_plan(_takeoff(1, 20), _wp(2, lat, lon, 20)))
    assert path.points[-1].label == "rtl"
    assert (path.points[-1].lat_deg, path.points[-1].alt_m) == (HOME_LAT, 0.0)
    assert any("no RTL/LAND at the end" in n for n in path.notes)


def test_land_here_descends_where_it_is() -> None:
    lat, lon = _away(300.0)
    land = _item(3, MavCmd.NAV_LAND, frame=None)
    path = build_path(_plan(_takeoff(1, 20), _wp(2, lat, lon, 20), land))
    last = path.points[-1]
    assert (last.lat_deg, last.lon_deg, last.alt_m, last.label) == (lat, lon, 0.0, "land")
    assert last.t_s - path.points[-2].t_s == pytest.approx(10 / 1.5 + 10 / 0.5)
    assert not any(p.label == "rtl" for p in path.points)


def test_land_at_a_place_flies_there_at_the_current_altitude() -> None:
    lat, lon = _away(300.0)
    land = _item(2, MavCmd.NAV_LAND, lat, lon, 0)
    path = build_path(_plan(_takeoff(1, 25), land, _wp(3, HOME_LAT, HOME_LON, 30)))
    assert _labels(path) == ["home", "1", "2", "land"]
    assert path.points[2].alt_m == 25.0 and path.points[3].alt_m == 0.0
    assert any("items after item 2 are not flown" in n for n in path.notes)


def test_nothing_after_the_rtl_is_run() -> None:
    forever = _item(3, MavCmd.DO_JUMP, frame=None, p1=1, p2=-1)
    path = build_path(_plan(_takeoff(1, 20), _rtl(2), forever))
    assert path.points[-1].label == "rtl" and path.points[-1].alt_m == 0.0
    assert path.notes == ()  # a DO item after the RTL is never reached: nothing to say


# ---------------------------------------------------------------- altitudes


def test_amsl_altitudes_become_above_home() -> None:
    lat, lon = _away(300.0)
    amsl = _item(2, MavCmd.NAV_WAYPOINT, lat, lon, 58.0, frame=AltFrame.AMSL)
    path = build_path(_plan(_takeoff(1, 20), amsl, _rtl(3), home_amsl_m=8.0))
    assert path.points[2].alt_m == pytest.approx(50.0)


def test_amsl_without_home_altitude_is_refused_with_its_line() -> None:
    amsl = _item(2, MavCmd.NAV_WAYPOINT, *_away(300.0), 58.0, frame=AltFrame.AMSL)
    with pytest.raises(PlanError, match=r"line 4: item 2 .*no home altitude"):
        build_path(_plan(_takeoff(1, 20), amsl, _rtl(3), home_amsl_m=None))


def test_terrain_altitudes_are_taken_above_home_with_a_note() -> None:
    terr = _item(2, MavCmd.NAV_WAYPOINT, *_away(300.0), 35.0, frame=AltFrame.ABOVE_TERRAIN)
    path = build_path(_plan(_takeoff(1, 20), terr, _rtl(3)))
    assert path.points[2].alt_m == 35.0
    assert "terrain assumed level with home for items 2" in path.notes


def test_zero_altitude_and_zero_position_mean_as_now() -> None:
    lat, lon = _away(300.0)
    keep_alt = _wp(2, lat, lon, 0.0)
    here = _item(3, MavCmd.NAV_LOITER_TIME, 0.0, 0.0, 45.0, p1=10)
    path = build_path(_plan(_takeoff(1, 30), keep_alt, here, _rtl(4)))
    assert path.points[2].alt_m == 30.0
    assert (path.points[3].lat_deg, path.points[3].lon_deg, path.points[3].alt_m) == (
        lat,
        lon,
        45.0,
    )
    assert path.points[3].hold_s == 10
    assert any("altitude 0" in n for n in path.notes)


# ---------------------------------------------------------------- DO_JUMP


def test_do_jump_is_unrolled() -> None:
    a, b, c = _away(200.0, 0.0), _away(200.0, 90.0), _away(200.0, 180.0)
    jump = _item(4, MavCmd.DO_JUMP, frame=None, p1=2, p2=2)
    plan = _plan(_takeoff(1, 20), _wp(2, *a, 20), _wp(3, *b, 20), jump, _wp(5, *c, 20), _rtl(6))
    path = build_path(plan)
    # at 20 m, above RTL_ALT: no climb before the return
    expected = ["home", "1", "2", "3", "2", "3", "2", "3", "5", "rtl", "rtl"]
    assert _labels(path) == expected
    assert all(q.t_s > p.t_s for p, q in itertools.pairwise(path.points))


def test_nested_jump_counts_are_not_reset() -> None:
    """As ArduPilot: each DO_JUMP counts its jumps over the whole mission."""
    a, b, c = _away(200.0, 0.0), _away(200.0, 90.0), _away(200.0, 180.0)
    inner = _item(4, MavCmd.DO_JUMP, frame=None, p1=2, p2=1)
    outer = _item(6, MavCmd.DO_JUMP, frame=None, p1=2, p2=1)
    plan = _plan(
        _takeoff(1, 20), _wp(2, *a, 20), _wp(3, *b, 20), inner, _wp(5, *c, 20), outer, _rtl(7)
    )
    labels = [x for x in _labels(build_path(plan)) if x not in ("home", "rtl")]
    # the inner loop ran its one repeat the first time round, so not again
    assert labels == ["1", "2", "3", "2", "3", "5", "2", "3", "5"]


@pytest.mark.parametrize(
    ("p1", "p2", "message"),
    [
        (2, -1, "repeats forever"),
        (2, 20_000, "more than 10000 items"),
        (9, 1, "DO_JUMP to item 9"),
        (2, 1.5, "not a whole number"),
    ],
)
def test_unbounded_or_broken_jumps_are_refused(p1: float, p2: float, message: str) -> None:
    jump = _item(3, MavCmd.DO_JUMP, frame=None, p1=p1, p2=p2)
    plan = _plan(_takeoff(1, 20), _wp(2, *_away(100.0), 20), jump, _rtl(4))
    with pytest.raises(PlanError, match=message):
        build_path(plan)


# ---------------------------------------------------------------- loiters


def _circle(turns: float, radius_m: float) -> tuple[FlightPath, float, float]:
    lat, lon = _away(400.0, 30.0)
    loiter = _item(2, MavCmd.NAV_LOITER_TURNS, lat, lon, 40, p1=turns, p3=radius_m)
    return build_path(_plan(_takeoff(1, 40), loiter, _rtl(3))), lat, lon


def _azimuth_swept_deg(points: list[PathPoint], lat: float, lon: float) -> float:
    az = [float(GEOD.inv(lon, lat, p.lon_deg, p.lat_deg)[0]) for p in points]
    return sum((b - a + 180.0) % 360.0 - 180.0 for a, b in itertools.pairwise(az))


def test_loiter_turns_circumscribes_the_circle() -> None:
    radius_m = 80.0
    path, lat, lon = _circle(2, radius_m)
    ring = [p for p in path.points if p.label == "2"][1:]  # after the centre
    assert path.points[2].lat_deg == lat and path.points[2].lon_deg == lon
    distances = [_dist_m(p, lat, lon) for p in ring]
    assert min(distances) >= radius_m
    assert max(distances) < radius_m * 1.05
    frame = LocalFrame(lon, lat)  # azimuthal equidistant: distances from the centre exact
    xs, ys = frame.to_xy([p.lon_deg for p in ring], [p.lat_deg for p in ring])
    mids = [
        math.hypot((x0 + x1) / 2, (y0 + y1) / 2)
        for x0, x1, y0, y1 in zip(xs, xs[1:], ys, ys[1:], strict=False)
    ]
    assert min(mids) >= radius_m  # the edges too lie outside the circle
    distinct = {(round(p.lat_deg, 7), round(p.lon_deg, 7)) for p in ring}
    assert len(distinct) >= 16
    assert _azimuth_swept_deg(ring, lat, lon) >= 2 * 360 - 1e-6
    assert all(p.alt_m == 40 for p in ring)


def test_negative_radius_circles_counter_clockwise() -> None:
    path, lat, lon = _circle(1, -50.0)
    ring = [p for p in path.points if p.label == "2"][1:]
    assert _azimuth_swept_deg(ring, lat, lon) <= -360 + 1e-6
    assert min(_dist_m(p, lat, lon) for p in ring) >= 50.0


def test_loiter_turns_without_radius_uses_circle_radius() -> None:
    path, lat, lon = _circle(1, 0.0)
    ring = [p for p in path.points if p.label == "2"][1:]
    assert min(_dist_m(p, lat, lon) for p in ring) >= 10.0
    assert any("CIRCLE_RADIUS" in n for n in path.notes)


def test_loiter_time_holds_at_the_point() -> None:
    lat, lon = _away(300.0)
    loiter = _item(2, MavCmd.NAV_LOITER_TIME, lat, lon, 40, p1=20)
    path = build_path(_plan(_takeoff(1, 40), loiter, _rtl(3)))
    assert path.points[2].hold_s == 20
    over_home = path.points[3]  # at 40 m, above RTL_ALT: straight home
    assert over_home.t_s == pytest.approx(path.points[2].t_s + 20 + 300 / 10.0, rel=1e-6)


def test_loiter_unlimited_ends_the_path_with_a_note() -> None:
    lat, lon = _away(300.0)
    forever = _item(3, MavCmd.NAV_LOITER_UNLIM, lat, lon, 40)
    path = build_path(_plan(_takeoff(1, 40), _wp(2, *_away(100.0), 40), forever, _rtl(4)))
    assert path.points[-1].label == "3"
    assert (path.points[-1].lat_deg, path.points[-1].lon_deg) == (lat, lon)
    assert any(
        n == "loiter forever at item 3: the path ends there; the return is not checked"
        for n in path.notes
    )


# ---------------------------------------------------------------- what is not flown


def test_do_and_condition_items_add_no_points() -> None:
    lat, lon = _away(300.0)
    camera = _item(3, 206, frame=None, p1=25)
    yaw = _item(4, 115, frame=None, p1=90)
    path = build_path(_plan(_takeoff(1, 10), _wp(2, lat, lon, 10), camera, yaw, _rtl(5)))
    assert _labels(path) == ["home", "1", "2", "rtl", "rtl", "rtl"]


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (_item(2, 31, *_away(100.0), 40), "command 31.*not supported"),
        (_item(2, 179, frame=None, p1=1), "DO_SET_HOME"),
        (_item(2, MavCmd.NAV_WAYPOINT, *_away(100.0), 40, frame=None), "no altitude frame"),
        (_item(2, MavCmd.NAV_WAYPOINT, NAN, NAN, 40), "no position"),
        (_takeoff(2, 0.0), "not a climb"),
    ],
)
def test_what_cannot_be_flown_is_refused(item: MissionItem, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        build_path(_plan(_takeoff(1, 20), item, _rtl(3)))


def test_bad_profile_is_refused() -> None:
    with pytest.raises(PlanError, match="climb_mps"):
        build_path(_plan(_takeoff(1, 20)), FlightProfile(climb_mps=0.0))


def test_path_of_the_canton_tower_plan() -> None:
    plan = read_plan(DATA / "canton-tower.plan")
    path = build_path(plan, profile_for(plan, None))
    assert _labels(path) == ["home", "1", "2", "4", "5", "rtl", "rtl"]
    assert path.notes == ()
    wp2, loiter = path.points[2], path.points[3]
    assert loiter.hold_s == 20
    # DO_CHANGE_SPEED (item 3) set 5 m/s for the leg to the loiter point
    leg_m = _dist_m(wp2, loiter.lat_deg, loiter.lon_deg)
    assert loiter.t_s - wp2.t_s == pytest.approx(leg_m / 5.0)
    assert path.points[-1].alt_m == 0.0
