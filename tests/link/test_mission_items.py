"""FlightPlan <-> MISSION_ITEM_INT conversions and the download normalisation, on the plan
fixtures and on the items ArduCopter sent back in the mission recording."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.conftest import DATA
from tests.link.conftest import decode
from tests.link.traces import exchange, rx, tx
from uav.errors import PlanError
from uav.link.mission_items import (
    FENCE,
    MISSION,
    MissionItemInt,
    difference,
    mission_items_to_plan_json,
    on_vehicle,
    plan_to_mission_items,
    shortest_float32,
)
from uav.link.state import Home
from uav.plans.model import AltFrame, FlightPlan, MissionItem
from uav.plans.readers import read_plan


def test_plan_items_start_with_a_home_placeholder() -> None:
    plan = read_plan(DATA / "plans" / "canton-tower.plan")
    items = plan_to_mission_items(plan)
    home = items[0]
    assert (home.seq, home.command, home.frame) == (0, 16, 0)
    assert (home.x, home.y) == (round(plan.home_lat_deg * 1e7), round(plan.home_lon_deg * 1e7))
    assert home.z == plan.home_amsl_m
    assert [i.seq for i in items] == list(range(len(plan.items) + 1))
    assert [i.command for i in items[1:]] == [i.command for i in plan.items]
    assert {i.mission_type for i in items} == {MISSION}
    takeoff = items[1]
    assert (takeoff.command, takeoff.frame, takeoff.z) == (22, 3, 30.0)
    assert math.isnan(takeoff.param4)  # QGroundControl's null stays "unused"


def test_altitude_frames_map_to_mav_frames() -> None:
    def item(seq: int, command: int, frame: AltFrame | None) -> MissionItem:
        return MissionItem(seq, command, frame, 23.13 if frame else math.nan, 113.32, 30.0)

    plan = FlightPlan(
        source=Path("x.plan"),
        format="qgc",
        home_lat_deg=23.1291,
        home_lon_deg=113.324,
        home_amsl_m=None,
        items=(
            item(1, 16, AltFrame.ABOVE_HOME),
            item(2, 16, AltFrame.AMSL),
            item(3, 16, AltFrame.ABOVE_TERRAIN),
            item(4, 178, None),
            item(5, 20, None),
        ),
    )
    items = plan_to_mission_items(plan)
    assert [i.frame for i in items] == [0, 3, 0, 10, 2, 2]
    assert items[0].z == 0.0  # no AMSL home altitude in the plan
    assert (items[4].x, items[4].y) == (0, 1133200000)  # NaN latitude -> 0


def test_plan_items_must_be_numbered_in_order() -> None:
    plan = read_plan(DATA / "plans" / "canton-tower.plan")
    shuffled = FlightPlan(
        plan.source, plan.format, plan.home_lat_deg, plan.home_lon_deg, None, plan.items[::-1]
    )
    with pytest.raises(PlanError, match="numbered 1, 2"):
        plan_to_mission_items(shuffled)


def test_recorded_download_becomes_a_plan_that_reads_back(tmp_path: Path) -> None:
    """Case H of the mission recording: uploaded after home was set, then downloaded."""
    entries = exchange("mission", "H:", None, start="MISSION_COUNT")
    downloaded = [MissionItemInt.from_message(m) for m in decode(rx(entries, "MISSION_ITEM_INT"))]
    uploaded = {e.fields["seq"]: e.fields for e in tx(entries, "MISSION_ITEM_INT")}
    home = Home(downloaded[0].lat_deg, downloaded[0].lon_deg, downloaded[0].z)
    path = tmp_path / "mission.plan"
    path.write_text(json.dumps(mission_items_to_plan_json(downloaded, home)))
    plan = read_plan(path)
    assert (plan.home_lat_deg, plan.home_lon_deg, plan.home_amsl_m) == (23.1290999, 113.324, 20.1)
    assert len(plan.items) == 6
    frames = {0: AltFrame.AMSL, 2: None, 3: AltFrame.ABOVE_HOME}
    for item in plan.items:
        sent = uploaded[item.seq]
        assert item.command == sent["command"]
        assert item.frame == frames[sent["frame"]]  # the uploaded frame 2 is back
        if sent["x"]:
            assert (item.lat_deg, item.lon_deg) == (sent["x"] / 1e7, sent["y"] / 1e7)
        assert item.alt_m == pytest.approx(sent["z"])
        assert (item.param1, item.param2, item.param3) == (
            sent["param1"],
            sent["param2"],
            sent["param3"],
        )


def test_plan_json_has_the_qgroundcontrol_shape() -> None:
    items = [
        MissionItemInt(0, 16, 0, 1, 2, 3.0),
        MissionItemInt(1, 16, 3, 231291000, 1133240000, 30.0, param4=math.nan),
    ]
    doc = mission_items_to_plan_json(items, Home(23.1291, 113.324, 20.0))
    assert doc["fileType"] == "Plan"
    assert doc["mission"]["plannedHomePosition"] == [23.1291, 113.324, 20.0]
    (item,) = doc["mission"]["items"]
    assert item == {
        "type": "SimpleItem",
        "autoContinue": True,
        "command": 16,
        "doJumpId": 1,
        "frame": 3,
        "params": [0.0, 0.0, 0.0, None, 23.1291, 113.324, 30.0],
    }
    json.dumps(doc, allow_nan=False)  # valid JSON: no NaN


def test_on_vehicle_normalisation() -> None:
    speed = MissionItemInt(3, 178, 2, 0, 0, 0.0, 1.0, 8.0, -1.0)
    assert on_vehicle(speed).frame == 0
    assert on_vehicle(MissionItemInt(1, 16, 3, 1, 2, 20.0)).frame == 3
    vertex = MissionItemInt(0, 5001, 0, 1, 2, 7.0, 4.0, autocontinue=1, mission_type=FENCE)
    fenced = on_vehicle(vertex)
    assert (fenced.frame, fenced.autocontinue, fenced.z) == (0, 0, 0.0)


def test_difference_compares_as_float32_and_ignores_unused_params() -> None:
    a = MissionItemInt(1, 16, 3, 231291000, 1133240000, 20.1, param4=math.nan)
    b = MissionItemInt(1, 16, 3, 231291000, 1133240000, shortest_float32(20.100000381469727), 0.0)
    assert difference(a, b) is None
    assert difference(a, MissionItemInt(1, 16, 3, 231291001, 1133240000, 20.1)) == (
        "item 1: x 231291001 where 231291000 was uploaded"
    )
    assert difference(a, MissionItemInt(1, 16, 3, 231291000, 1133240000, 20.2)) is not None


def test_shortest_float32() -> None:
    assert shortest_float32(20.100000381469727) == 20.1
    assert shortest_float32(0.0) == 0.0
    assert math.isnan(shortest_float32(math.nan))


def test_legacy_float_mission_item_converts_to_int() -> None:
    entries = exchange("mission", "B2:", "C:", start="MISSION_REQUEST")
    (legacy,) = decode(rx(entries, "MISSION_ITEM"))
    item = MissionItemInt.from_message(legacy)
    assert item.seq == 1 and item.command == 22
    assert (item.x, item.y, item.z) == (0, 0, 20.0)
