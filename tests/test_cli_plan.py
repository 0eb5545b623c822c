"""`uav plan check` end to end through CliRunner: real zones in a real SQLite file, real plan
files, the exit codes and the JSON report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import DATA, Invoke

ROOT = Path(__file__).resolve().parent.parent
PLANS = ROOT / "examples" / "plans"
GZ = DATA / "geojson" / "guangzhou.geojson"
MATCH = "2026-12-05T19:30+08:00"
QUIET_DAY = "2026-12-07T10:00+08:00"  # a Monday morning: no event, Haixinsha show off


@pytest.fixture
def zones(uav: Invoke) -> dict[str, int]:
    r = uav("zones", "load", GZ, "--json")
    assert r.exit_code == 0, r.stderr
    return {z["name"]: z["id"] for z in json.loads(r.stdout)}


def check(uav: Invoke, plan: Path, *args: object) -> tuple[int, dict[str, Any]]:
    r = uav("plan", "check", plan, "--json", *args)
    assert r.exit_code in (0, 1), f"exit {r.exit_code}: {r.stderr}"
    report = json.loads(r.stdout)
    assert report["clear"] is (r.exit_code == 0)
    return r.exit_code, report


def line_plan(
    tmp_path: Path, name: str, coords: list[tuple[float, float, float]], **props: object
) -> Path:
    p = tmp_path / f"{name}.geojson"
    p.write_text(
        json.dumps(
            {
                "type": "Feature",
                "properties": {"name": name, **props},
                "geometry": {"type": "LineString", "coordinates": [list(c) for c in coords]},
            }
        )
    )
    return p


def test_clear_patrol_exits_0(uav: Invoke, zones: dict[str, int]) -> None:
    code, report = check(uav, PLANS / "tianhe-park-patrol.plan", "--at", MATCH)
    assert code == 0 and report["violations"] == []
    r = uav("plan", "check", PLANS / "tianhe-park-patrol.plan", "--at", MATCH)
    assert r.exit_code == 0 and "CLEAR" in r.stdout


def test_leg_between_two_outside_waypoints_through_a_no_fly_zone(
    uav: Invoke, zones: dict[str, int]
) -> None:
    code, report = check(uav, PLANS / "pearl-river-survey.plan", "--at", QUIET_DAY)
    assert code == 1
    tower = [v for v in report["violations"] if v["zone"] == "Canton Tower"]
    # the survey leg crosses it, and so does the return home from the last waypoint
    assert [v["leg"] for v in tower] == ["2→3", "3→rtl"]
    v = tower[0]
    assert v["rule"] == "enters-zone" and v["restriction"] == "prohibited"
    assert v["zone_id"] == zones["Canton Tower"] and v["leg"] == "2→3"
    # flying west along 23.1066 N at 60 m: enters at the tower zone's east edge, 113.3270 E
    assert v["entry"]["lon_deg"] == pytest.approx(113.3270, abs=2e-5)
    assert v["entry"]["lat_deg"] == pytest.approx(23.1066, abs=2e-5)
    assert v["entry"]["alt_m"] == pytest.approx(60, abs=0.5)
    assert v["entry"]["alt_amsl_m"] == pytest.approx(72, abs=0.5)  # home is 12 m AMSL
    r = uav("plan", "check", PLANS / "pearl-river-survey.plan", "--at", QUIET_DAY)
    assert r.exit_code == 1 and "NOT CLEAR" in r.stdout and "Canton Tower" in r.stdout


def test_event_zone_needs_a_grant_for_that_drone_and_time(
    uav: Invoke, zones: dict[str, int]
) -> None:
    plan = PLANS / "stadium-overwatch.plan"
    code, report = check(uav, plan, "--drone", "TH-01", "--at", MATCH)
    assert code == 1
    assert {(v["zone"], v["rule"]) for v in report["violations"]} == {
        ("Tianhe Sports Center match day", "enters-zone")
    }
    # outside the match window the zone is not active
    assert check(uav, plan, "--drone", "TH-01", "--at", QUIET_DAY)[0] == 0
    zid = zones["Tianhe Sports Center match day"]
    grant = ["auth", "grant", "--zone", zid, "--drone", "TH-01", "--by", "Officer Chen"]
    # a grant ending before the drone leaves does not cover the flight
    r = uav(*grant, "--start", "2026-12-05T17:00+08:00", "--end", "2026-12-05T19:35+08:00")
    assert r.exit_code == 0
    assert check(uav, plan, "--drone", "TH-01", "--at", MATCH)[0] == 1
    r = uav(*grant, "--start", "2026-12-05T17:00+08:00", "--end", "2026-12-05T23:00+08:00")
    assert r.exit_code == 0
    assert check(uav, plan, "--drone", "TH-01", "--at", MATCH)[0] == 0
    assert check(uav, plan, "--drone", "TH-02", "--at", MATCH)[0] == 1
    assert check(uav, plan, "--at", MATCH)[0] == 1  # no drone named: no grant applies


def test_altitude_band_floor(uav: Invoke, zones: dict[str, int], tmp_path: Path) -> None:
    # across Zhujiang New Town (limit: nothing above 60 m), east to west at 23.1200 N
    low = line_plan(
        tmp_path, "low", [(113.3400, 23.1200, 0), (113.3350, 23.1200, 50), (113.3100, 23.1200, 50)]
    )
    high = line_plan(
        tmp_path, "high", [(113.3400, 23.1200, 0), (113.3350, 23.1200, 50), (113.3100, 23.1200, 90)]
    )
    assert check(uav, low, "--at", QUIET_DAY)[0] == 0
    code, report = check(uav, high, "--at", QUIET_DAY)
    assert code == 1
    v = next(v for v in report["violations"] if v["zone"] == "Zhujiang New Town height limit")
    # climbing from 50 m to 90 m: it enters where the leg crosses the 60 m floor
    assert v["rule"] == "enters-zone" and v["leg"] == "2→3"
    assert v["entry"]["alt_m"] == pytest.approx(60, abs=0.5)


def test_daily_window_zone_is_a_warning_only_in_its_window(
    uav: Invoke, zones: dict[str, int], tmp_path: Path
) -> None:
    # over Haixinsha at 40 m (below the Zhujiang limit, clear of the tower)
    plan = line_plan(
        tmp_path,
        "haixinsha",
        [(113.3350, 23.1150, 0), (113.3300, 23.1150, 40), (113.3180, 23.1150, 40)],
    )
    code, report = check(uav, plan, "--at", "2026-12-07T20:00+08:00")
    assert code == 0
    assert any(
        w["rule"] == "enters-warning-zone" and w["zone"] == "Haixinsha evening light show"
        for w in report["warnings"]
    )
    code, report = check(uav, plan, "--at", "2026-12-07T10:00+08:00")
    assert not any(w["zone"] == "Haixinsha evening light show" for w in report["warnings"])


def test_global_ceiling(uav: Invoke, zones: dict[str, int]) -> None:
    code, report = check(uav, PLANS / "tianhe-park-patrol.plan", "--at", MATCH, "--max-alt", "75")
    assert code == 1
    assert {v["rule"] for v in report["violations"]} == {"above-ceiling"}
    assert all(v["entry"]["alt_m"] == pytest.approx(75, abs=0.5) for v in report["violations"])


def test_leaving_the_operating_area(uav: Invoke, zones: dict[str, int], tmp_path: Path) -> None:
    # the operating area ends at 23.2000 N
    plan = line_plan(
        tmp_path,
        "north",
        [(113.3600, 23.1900, 0), (113.3600, 23.1900, 50), (113.3600, 23.2100, 50)],
    )
    code, report = check(uav, plan, "--at", QUIET_DAY)
    assert code == 1
    v = next(v for v in report["violations"] if v["rule"] == "outside-operating-area")
    assert v["entry"]["lat_deg"] == pytest.approx(23.2000, abs=2e-5)


def test_home_inside_a_no_fly_zone(uav: Invoke, zones: dict[str, int], tmp_path: Path) -> None:
    plan = line_plan(tmp_path, "tower", [(113.3245, 23.1066, 0), (113.3245, 23.1066, 30)])
    code, report = check(uav, plan, "--at", QUIET_DAY)
    assert code == 1
    assert "home-in-zone" in {v["rule"] for v in report["violations"]}


def test_buffer_warning_with_clearance(uav: Invoke, zones: dict[str, int], tmp_path: Path) -> None:
    # pass 10 m south of the tower zone's southern edge (23.1045 N), westwards
    lat = 23.1045 - 10 / 110_760
    plan = line_plan(
        tmp_path, "close", [(113.3300, lat, 0), (113.3290, lat, 30), (113.3200, lat, 30)]
    )
    code, report = check(uav, plan, "--at", QUIET_DAY)
    assert code == 0
    w = next(w for w in report["warnings"] if w["rule"] == "within-buffer")
    assert w["zone"] == "Canton Tower" and w["clearance_m"] == pytest.approx(10, abs=1)
    _, narrow = check(uav, plan, "--at", QUIET_DAY, "--buffer", "5")
    assert not any(w["rule"] == "within-buffer" for w in narrow["warnings"])


def test_amsl_zone_without_home_altitude_is_undecidable(uav: Invoke, tmp_path: Path) -> None:
    r = uav("zones", "load", GZ, "--json")
    assert r.exit_code == 0
    amsl = tmp_path / "amsl.geojson"
    amsl.write_text(
        json.dumps(
            {
                "type": "Feature",
                "properties": {
                    "name": "Tower top",
                    "restriction": "prohibited",
                    "floor_m": 400,
                    "altitude_ref": "amsl",
                    "radius_m": 200,
                },
                "geometry": {"type": "Point", "coordinates": [113.3600, 23.1300]},
            }
        )
    )
    assert uav("zones", "load", amsl).exit_code == 0
    plan = line_plan(tmp_path, "nohome", [(113.3550, 23.1300, 0), (113.3650, 23.1300, 50)])
    r = uav("plan", "check", plan, "--at", QUIET_DAY)
    assert r.exit_code == 2 and "Tower top" in r.stderr


def test_bad_options_exit_2(uav: Invoke, zones: dict[str, int]) -> None:
    r = uav("plan", "check", PLANS / "tianhe-park-patrol.plan", "--speed", "0")
    assert r.exit_code == 2 and "--speed" in r.stderr
    r = uav("plan", "check", PLANS / "tianhe-park-patrol.plan", "--at", "teatime")
    assert r.exit_code == 2 and "--at" in r.stderr
    r = uav("plan", "check", PLANS / "missing.plan")
    assert r.exit_code == 2 and "missing.plan" in r.stderr


def test_help_documents_exit_codes(uav: Invoke) -> None:
    r = uav("plan", "check", "--help")
    assert r.exit_code == 0 and "Exit codes" in r.stdout and "clear" in r.stdout
