"""Flight-plan readers: QGC .plan, Mission Planner .waypoints, GeoJSON and KML lines."""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path

import pytest

from uav.errors import PlanError
from uav.plans.model import AltFrame, MavCmd
from uav.plans.path import build_path, profile_for
from uav.plans.readers import detect_plan_format, read_plan

DATA = Path(__file__).parent / "data" / "plans"
BAD = Path(__file__).parent / "bad"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _qgc(plan_items: list[dict[str, object]], **mission: object) -> str:
    body: dict[str, object] = {
        "firmwareType": 3,
        "vehicleType": 2,
        "plannedHomePosition": [23.115, 113.324, 8.2],
        "items": plan_items,
        "version": 2,
    }
    body.update(mission)
    return json.dumps({"fileType": "Plan", "version": 1, "mission": body})


def _simple(cmd: int, frame: int, params: list[object], jump_id: int) -> dict[str, object]:
    return {
        "type": "SimpleItem",
        "command": cmd,
        "frame": frame,
        "params": params,
        "doJumpId": jump_id,
        "autoContinue": True,
    }


# ---------------------------------------------------------------- QGC


def test_qgc_plan_items_home_and_speed() -> None:
    plan = read_plan(DATA / "canton-tower.plan")
    assert plan.format == "qgc"
    assert (plan.home_lat_deg, plan.home_lon_deg, plan.home_amsl_m) == (23.115, 113.324, 8.2)
    assert plan.cruise_speed_mps == 8.0  # hoverSpeed: the plan is for a multirotor
    assert [i.seq for i in plan.items] == [1, 2, 3, 4, 5, 6]
    commands = [i.command for i in plan.items]
    assert commands == [22, 16, 178, 19, 16, 20]
    takeoff, wp, speed, loiter, _, rtl = plan.items
    assert takeoff.frame == AltFrame.ABOVE_HOME and takeoff.alt_m == 30
    assert math.isnan(takeoff.param4)  # null in the file
    assert (wp.lat_deg, wp.lon_deg, wp.alt_m) == (23.1105, 113.3212, 40)
    assert speed.frame is None  # DO_CHANGE_SPEED (frame 2) kept, not positional
    assert (speed.param1, speed.param2) == (1, 5)
    assert loiter.param1 == 20
    assert rtl.command == MavCmd.NAV_RETURN_TO_LAUNCH


def test_qgc_fixed_wing_plan_uses_cruise_speed(tmp_path: Path) -> None:
    items = [_simple(16, 3, [0, 0, 0, None, 23.11, 113.32, 50], 1)]
    path = _write(tmp_path, "a.plan", _qgc(items, vehicleType=1, cruiseSpeed=16, hoverSpeed=5))
    assert read_plan(path).cruise_speed_mps == 16


def test_qgc_survey_uses_the_expanded_items() -> None:
    plan = read_plan(DATA / "zhujiang-survey.plan")
    raw = json.loads((DATA / "zhujiang-survey.plan").read_text())
    expanded = raw["mission"]["items"][1]["TransectStyleComplexItem"]["Items"]
    assert len(plan.items) == 1 + len(expanded) + 1
    assert [i.seq for i in plan.items] == list(range(1, len(plan.items) + 1))
    flown = [(i.lat_deg, i.lon_deg) for i in plan.items if i.command == MavCmd.NAV_WAYPOINT]
    expected = [(e["params"][4], e["params"][5]) for e in expanded if e["command"] == 16]
    assert flown == expected
    assert plan.items[-1].command == MavCmd.NAV_RETURN_TO_LAUNCH


def test_qgc_do_jump_target_is_the_doJumpId_not_the_position(tmp_path: Path) -> None:
    items = [
        _simple(22, 3, [0, 0, 0, None, 23.115, 113.324, 30], 10),
        _simple(16, 3, [0, 0, 0, None, 23.1105, 113.3212, 40], 20),
        _simple(16, 3, [0, 0, 0, None, 23.1122, 113.3291, 40], 30),
        _simple(177, 2, [20, 2, 0, 0, 0, 0, 0], 40),
    ]
    plan = read_plan(_write(tmp_path, "jump.plan", _qgc(items)))
    jump = plan.items[3]
    assert jump.param1 == 2  # doJumpId 20 is the second item
    assert jump.param2 == 2


def test_qgc_do_jump_to_unknown_id(tmp_path: Path) -> None:
    items = [
        _simple(16, 3, [0, 0, 0, None, 23.1105, 113.3212, 40], 1),
        _simple(177, 2, [7, 1, 0, 0, 0, 0, 0], 2),
    ]
    with pytest.raises(PlanError, match="no item has doJumpId 7"):
        read_plan(_write(tmp_path, "jump.plan", _qgc(items)))


def test_qgc_older_form_with_coordinate_key(tmp_path: Path) -> None:
    item = {"type": "SimpleItem", "command": 16, "frame": 3, "params": [0, 0, 0, 0]}
    item["coordinate"] = [23.1178, 113.3268, 50]
    plan = read_plan(_write(tmp_path, "old.plan", _qgc([item])))
    assert (plan.items[0].lat_deg, plan.items[0].lon_deg, plan.items[0].alt_m) == (
        23.1178,
        113.3268,
        50,
    )


def test_qgc_malformed_json_names_the_line(tmp_path: Path) -> None:
    text = '{\n  "fileType": "Plan",\n  "mission": {\n    "items": [,]\n  }\n}\n'
    with pytest.raises(PlanError, match="line 4"):
        read_plan(_write(tmp_path, "broken.plan", text))


@pytest.mark.parametrize(
    ("mission", "message"),
    [
        ({"plannedHomePosition": None}, "no home"),
        ({"plannedHomePosition": [0, 0, 0]}, "no home position"),
        ({"plannedHomePosition": [113.324, 23.115, 8]}, "look swapped"),
        ({"items": []}, "no mission items"),
        ({"hoverSpeed": 0}, "not a positive speed"),
    ],
)
def test_qgc_plan_level_errors(tmp_path: Path, mission: dict[str, object], message: str) -> None:
    items = [_simple(16, 3, [0, 0, 0, None, 23.11, 113.32, 50], 1)]
    with pytest.raises(PlanError, match=message):
        read_plan(_write(tmp_path, "p.plan", _qgc(items, **mission)))


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (_simple(16, 1, [0, 0, 0, None, 23.11, 113.32, 50], 1), "unknown altitude frame 1"),
        (_simple(16, 3, [0, 0, 0, None, None, None, 50], 1), "no position"),
        (_simple(19, 3, [10, 0, 0, None, 23.11, 113.32, None], 1), "no altitude"),
        (_simple(16, 3, [0, 0, 0, None, 23.11, 200.5, 50], 1), "longitude 200.5"),
        (_simple(16, 3, [0, 0, 0], 1), "7 values"),
        (_simple(16, 3, [0, 0, 0, None, "23.11", 113.32, 50], 1), "must be a number"),
        ({"type": "Fence"}, "unknown type"),
        ({"type": "ComplexItem", "complexItemType": "survey"}, "no expanded items"),
    ],
)
def test_qgc_item_errors_name_the_item(
    tmp_path: Path, item: dict[str, object], message: str
) -> None:
    with pytest.raises(PlanError, match=message) as info:
        read_plan(_write(tmp_path, "p.plan", _qgc([item])))
    assert "mission.items[0]" in str(info.value)
    assert "p.plan" in str(info.value)


def test_qgc_land_and_rtl_without_position_are_kept(tmp_path: Path) -> None:
    items = [
        _simple(22, 3, [0, 0, 0, None, None, None, 20], 1),
        _simple(21, 3, [0, 0, 0, None, None, None, 0], 2),
    ]
    plan = read_plan(_write(tmp_path, "p.plan", _qgc(items)))
    assert all(math.isnan(i.lat_deg) for i in plan.items)


# ---------------------------------------------------------------- Mission Planner


def test_waypoints_file_home_items_and_lines() -> None:
    plan = read_plan(DATA / "tianhe-patrol.waypoints")
    assert plan.format == "waypoints"
    assert (plan.home_lat_deg, plan.home_lon_deg, plan.home_amsl_m) == (23.1375, 113.327, 12.3)
    assert [i.seq for i in plan.items] == [1, 2, 3, 4, 5, 6, 7]
    assert [i.line for i in plan.items] == [3, 4, 5, 6, 7, 8, 9]
    assert plan.items[1].param1 == 5  # hold seconds
    jump = plan.items[4]
    assert (jump.command, jump.param1, jump.param2) == (MavCmd.DO_JUMP, 2, 1)
    assert plan.items[5].frame == AltFrame.AMSL and plan.items[5].alt_m == 52.3
    assert plan.items[6].command == MavCmd.NAV_LAND


def test_waypoints_home_not_amsl_gives_no_home_altitude(tmp_path: Path) -> None:
    text = (DATA / "tianhe-patrol.waypoints").read_text()
    lines = text.splitlines()
    lines[1] = lines[1].replace("0\t1\t0\t16", "0\t1\t3\t16", 1)
    plan = read_plan(_write(tmp_path, "h.waypoints", "\n".join(lines) + "\n"))
    assert plan.home_amsl_m is None


@pytest.mark.parametrize(
    ("line_no", "replacement", "message"),
    [
        (1, "QGC WPL 100", "line 1"),
        (4, "3\t0\t3\t16\t0\t0\t0\t0\t23.1392\t113.3251\t40\t1", "line 4: seq 3 where 2"),
        (5, "3\t0\t3\t16\t0\t0\t0\t0\t23.1392\t113.329\t40", "line 5: 11 columns"),
        (5, "3\t0\t3\t16\t0\t0\t0\t0\t23.1392\tE113.329\t40\t1", "line 5: column 10 \\(lon\\)"),
        (5, "3\t0\t3\t16.5\t0\t0\t0\t0\t23.1392\t113.329\t40\t1", "line 5: column 4"),
        (5, "3\t0\t3\t16\t0\t0\t0\t0\t95.1392\t113.329\t40\t1", "line 5: .*latitude 95.1392"),
        (5, "3\t0\t3\t16\t0\t0\t0\t0\t113.329\t23.1392\t40\t1", "line 5: .*look swapped"),
        (5, "3\t0\t3\t16\t0\t0\t0\t0\tnan\tnan\t40\t1", "line 5: .*no position"),
    ],
)
def test_waypoints_errors_name_the_line(
    tmp_path: Path, line_no: int, replacement: str, message: str
) -> None:
    lines = (DATA / "tianhe-patrol.waypoints").read_text().splitlines()
    lines[line_no - 1] = replacement
    with pytest.raises(PlanError, match=message):
        read_plan(_write(tmp_path, "bad.waypoints", "\n".join(lines) + "\n"))


def test_waypoints_with_spaces_and_a_trailing_blank_line(tmp_path: Path) -> None:
    text = (DATA / "tianhe-patrol.waypoints").read_text().replace("\t", "  ") + "\n\n"
    plan = read_plan(_write(tmp_path, "spaced.waypoints", text))
    assert len(plan.items) == 7


def test_waypoints_home_only_has_no_items(tmp_path: Path) -> None:
    lines = (DATA / "tianhe-patrol.waypoints").read_text().splitlines()[:2]
    with pytest.raises(PlanError, match="no mission items"):
        read_plan(_write(tmp_path, "home.waypoints", "\n".join(lines) + "\n"))


# ---------------------------------------------------------------- GeoJSON


def test_geojson_line() -> None:
    plan = read_plan(DATA / "zhujiang-route.geojson")
    assert plan.format == "geojson"
    assert (plan.home_lat_deg, plan.home_lon_deg, plan.home_amsl_m) == (23.119, 113.321, 9.5)
    assert [i.command for i in plan.items] == [MavCmd.NAV_WAYPOINT] * 4
    assert all(i.frame == AltFrame.AMSL for i in plan.items)
    assert (plan.items[2].lat_deg, plan.items[2].lon_deg, plan.items[2].alt_m) == (
        23.116,
        113.3245,
        49.5,
    )


def _line(coords: list[list[float]], **props: object) -> str:
    feature = {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "LineString", "coordinates": coords},
    }
    return json.dumps(feature)


def test_geojson_defaults_to_above_home(tmp_path: Path) -> None:
    text = _line([[113.324, 23.115, 30], [113.3232, 23.112, 40]])
    plan = read_plan(_write(tmp_path, "l.geojson", text))
    assert all(i.frame == AltFrame.ABOVE_HOME for i in plan.items)
    assert plan.home_amsl_m is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_line([[113.324, 23.115, 30], [113.3232, 23.112]]), "coordinate 1 has no altitude"),
        (_line([[23.115, 113.324, 30], [23.112, 113.3232, 40]]), "look swapped"),
        (_line([[113.324, 23.115, 30]]), "at least 2"),
        (_line([[113.324, 23.115, 30], [113.3, 23.1, 9]], altitude_ref="agl"), "altitude_ref"),
        (_line([[113.324, 23.115, 30], [113.3, 23.1, 9]], home_amsl_m="8"), "home_amsl_m"),
        (json.dumps({"type": "Feature", "geometry": {"type": "Point"}}), "Point, not a Line"),
        (json.dumps({"type": "FeatureCollection", "features": []}), "not 0 features"),
        (json.dumps({"type": "LineString", "coordinates": []}), "Feature or a FeatureCollection"),
    ],
)
def test_geojson_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        read_plan(_write(tmp_path, "l.geojson", text))


def test_geojson_error_names_the_feature(tmp_path: Path) -> None:
    text = _line([[113.324, 23.115, 30], [113.3232, 23.112]], name="Canton Tower approach")
    with pytest.raises(PlanError, match="feature 0 \\('Canton Tower approach'\\)"):
        read_plan(_write(tmp_path, "l.geojson", text))


# ---------------------------------------------------------------- KML


def test_kml_line_frames_and_lines() -> None:
    plan = read_plan(DATA / "haixinsha-loop.kml")
    assert plan.format == "kml"
    assert (plan.home_lat_deg, plan.home_lon_deg, plan.home_amsl_m) == (23.115, 113.324, None)
    assert all(i.frame == AltFrame.ABOVE_TERRAIN for i in plan.items)
    assert [i.alt_m for i in plan.items] == [30, 35, 35, 30]
    assert [i.line for i in plan.items] == [10, 11, 12, 13]


def _kml(coords: str, mode: str | None = "absolute") -> str:
    mode_el = f"<altitudeMode>{mode}</altitudeMode>" if mode else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<kml xmlns="http://www.opengis.net/kml/2.2">\n'
        "<Placemark><name>Canton Tower loop</name>\n"
        f"<LineString>{mode_el}\n"
        f"<coordinates>\n{coords}\n</coordinates>\n"
        "</LineString></Placemark></kml>\n"
    )


def test_kml_absolute_is_amsl(tmp_path: Path) -> None:
    plan = read_plan(_write(tmp_path, "a.kml", _kml("113.3245,23.1066,60 113.3232,23.112,70")))
    assert [i.frame for i in plan.items] == [AltFrame.AMSL, AltFrame.AMSL]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_kml("113.3245,23.1066,60 113.3232,23.112,70", None), "line 4.*clampToGround"),
        (_kml("113.3245,23.1066,60 113.3232,23.112,70", "relativeToSeaFloor"), "SeaFloor"),
        (_kml("113.3245,23.1066,60\n113.3232,23.112", "absolute"), "line 7.*no altitude"),
        (_kml("113.3245,23.1066,60\n23.112,113.3232,70", "absolute"), "line 7.*look swapped"),
        (_kml("113.3245,23.1066,60\n113.3232,23.1x2,70", "absolute"), "line 7.*lon,lat,alt"),
        (_kml("113.3245,23.1066,60", "absolute"), "at least 2"),
        ("<kml><Placemark>\n<LineString>\n</Placemark></kml>", "line 3: malformed XML"),
        ("<kml><Placemark><Point/></Placemark></kml>", "not 0"),
    ],
)
def test_kml_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        read_plan(_write(tmp_path, "bad.kml", text))


def test_kmz(tmp_path: Path) -> None:
    path = tmp_path / "loop.kmz"
    with zipfile.ZipFile(path, "w") as kmz:
        kmz.writestr("doc.kml", (DATA / "haixinsha-loop.kml").read_text())
    plan = read_plan(path)
    assert len(plan.items) == 4 and plan.format == "kml"


# ---------------------------------------------------------------- detection, bad corpus


def test_detect_by_content(tmp_path: Path) -> None:
    qgc = _write(tmp_path, "mission.json", (DATA / "canton-tower.plan").read_text())
    geo = _write(tmp_path, "route.json", (DATA / "zhujiang-route.geojson").read_text())
    wpl = _write(tmp_path, "mission.txt", (DATA / "tianhe-patrol.waypoints").read_text())
    kml = _write(tmp_path, "line.xml", (DATA / "haixinsha-loop.kml").read_text())
    assert [detect_plan_format(p.read_bytes(), p) for p in (qgc, geo, wpl, kml)] == [
        "qgc",
        "geojson",
        "waypoints",
        "kml",
    ]
    assert read_plan(wpl).format == "waypoints"


def test_detect_unknown_and_explicit_format(tmp_path: Path) -> None:
    odd = _write(tmp_path, "notes.txt", "take off at Haixinsha, fly to the tower\n")
    with pytest.raises(PlanError, match="cannot tell the plan format"):
        read_plan(odd)
    with pytest.raises(PlanError, match="unknown plan format"):
        read_plan(DATA / "canton-tower.plan", fmt="mavlink")
    wpl = _write(tmp_path, "mission.dat", (DATA / "tianhe-patrol.waypoints").read_text())
    assert read_plan(wpl, fmt="waypoints").format == "waypoints"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="cannot read"):
        read_plan(tmp_path / "nothing.plan")


BAD_PLANS = sorted(p for p in BAD.glob("plan-*") if p.suffix != ".expect")


@pytest.mark.parametrize("path", BAD_PLANS, ids=[p.name for p in BAD_PLANS])
def test_bad_corpus(path: Path) -> None:
    expected = Path(f"{path}.expect").read_text(encoding="utf-8").strip()
    with pytest.raises(PlanError) as info:
        plan = read_plan(path)
        build_path(plan, profile_for(plan))
    assert expected in str(info.value)
    assert path.name in str(info.value)


def test_bad_corpus_is_there() -> None:
    assert len(BAD_PLANS) >= 6
