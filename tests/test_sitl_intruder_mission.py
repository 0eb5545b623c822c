"""An intruder that flies: the config's ``mission`` key, and `uav sitl up` uploading, arming
and starting it (issue 5).

The config tests read files only. The live tests (marker ``sitl``) start the shipped
INTRUDER-RID on a free instance with `uav sitl up --emulator --speedup 20`, follow it over
its own link into the Canton Tower no-fly zone, and listen to its own Remote ID with
`uav detect listen`; each takes a few seconds of wall time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import Point, shape

from uav.errors import InputError
from uav.link import DroneLink, LinkConfig, VehicleState, wait_until
from uav.link.missions import MISSION, download
from uav.link.modes import mode_number
from uav.sitl.binary import emulator_available
from uav.sitl.config import load_config, load_configs, select_configs
from uav.sitl.errors import SitlError
from uav.sitl.ports import connect_url
from uav.sitl.tracking import MissionRecord, ProcessRecord, ProcessTable, sitl_state_dir

from .conftest import Invoke

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "sitl_configs"
SHIPPED = CONFIGS / "intruder-rid.toml"
ZONES = ROOT / "geofences" / "guangzhou-tianhe.geojson"
SPEEDUP = 20
HOME_AMSL_M = 10.0  # intruder-rid.toml's home
SERIAL = "SITL-INTR-0004"  # intruder-rid.toml's serial, broadcast as its Remote ID
FLIGHT_TIMEOUT_S = 240.0  # vehicle seconds from `up` to being inside the zone (about 40)
LISTEN_MAX = 150  # own Remote ID LOCATIONs (1 Hz, vehicle clock): past the zone crossing

INTRUDER = """
name = "INTR-M"
instance = 7
sysid = 1
role = "{role}"
serial = "SN-INTR-M"
mission = "{mission}"

[home]
lat_deg = 23.1030
lon_deg = 113.3245
alt_amsl_m = 10
"""
WPL_HEADER = "QGC WPL 110\n0\t1\t0\t16\t0\t0\t0\t0\t23.1030\t113.3245\t10\t1\n"


def canton_tower() -> Any:
    doc = json.loads(ZONES.read_text())
    (feature,) = [f for f in doc["features"] if f["properties"]["name"] == "Canton Tower"]
    return shape(feature["geometry"])


def waypoints_file(path: Path, rows: list[tuple[int, float, float, float]]) -> Path:
    """A Mission Planner .waypoints file: home, then (command, lat, lon, alt above home)."""
    lines = [
        f"{seq}\t0\t3\t{cmd}\t0\t0\t0\t0\t{lat}\t{lon}\t{alt}\t1"
        for seq, (cmd, lat, lon, alt) in enumerate(rows, start=1)
    ]
    path.write_text(WPL_HEADER + "\n".join(lines) + "\n")
    return path


def intruder_config(folder: Path, mission: str, role: str = "intruder") -> Path:
    path = folder / "intr-m.toml"
    path.write_text(INTRUDER.format(role=role, mission=mission))
    return path


@pytest.fixture
def plan(tmp_path: Path) -> Path:
    return waypoints_file(
        tmp_path / "track.waypoints",
        [(22, 0.0, 0.0, 60.0), (16, 23.1060, 113.3245, 60.0), (20, 0.0, 0.0, 0.0)],
    )


# --------------------------------------------------------------------------- config


def test_the_shipped_intruder_flies_through_the_canton_tower_zone() -> None:
    cfg = load_config(SHIPPED)
    assert cfg.is_intruder and cfg.mission == CONFIGS / "missions" / "intruder-rid-tower.plan"
    items = cfg.mission_items
    assert [i.seq for i in items] == list(range(len(items)))  # seq 0 = home placeholder
    assert items[1].command == 22 and items[1].z == 60.0  # take off to 60 m above home
    zone = canton_tower()
    home = Point(cfg.home.lon_deg, cfg.home.lat_deg)
    assert not zone.contains(home) and 150 < home.distance(zone) * 111_000 < 190  # ~170 m S
    waypoints = [i for i in items[1:] if i.command == 16]
    inside = [w for w in waypoints if zone.contains(Point(w.lon_deg, w.lat_deg))]
    north = [w for w in waypoints if w.lat_deg > zone.bounds[3]]  # through, beyond it
    assert inside and north and all(w.z == 60.0 and w.frame == 3 for w in waypoints)
    (jump,) = [i for i in items if i.command == 177]  # DO_JUMP back into the zone
    assert items[int(jump.param1)] == waypoints[0] and jump.param2 >= 1
    assert items[-1].command == 20  # then home


def test_a_mission_in_another_format_is_read_and_checked(tmp_path: Path, plan: Path) -> None:
    cfg = load_config(intruder_config(tmp_path, plan.name))
    assert cfg.mission == plan
    assert [(i.seq, i.command) for i in cfg.mission_items] == [(0, 16), (1, 22), (2, 16), (3, 20)]
    assert (cfg.mission_items[2].x, cfg.mission_items[2].y) == (231060000, 1133245000)


@pytest.mark.parametrize(
    ("mission", "role", "message"),
    [
        ("missing.plan", "intruder", r"mission file missing\.plan not found"),
        ("", "intruder", "mission must be a plan file name"),
    ],
)
def test_bad_mission_keys_are_refused_naming_the_config(
    tmp_path: Path, plan: Path, mission: str, role: str, message: str
) -> None:
    config = intruder_config(tmp_path, mission, role)
    with pytest.raises(InputError, match=message) as caught:
        load_config(config)
    assert str(caught.value).startswith(str(config))


def test_a_mission_on_a_drone_of_the_unit_is_refused(tmp_path: Path, plan: Path) -> None:
    config = intruder_config(tmp_path, plan.name)
    config.write_text(config.read_text().replace('role = "intruder"\n', ""))
    with pytest.raises(InputError, match=r"only an intruder .* flies a mission") as caught:
        load_config(config)
    assert str(caught.value).startswith(str(config)) and "uav fly" in str(caught.value)


def test_a_bad_plan_is_refused_naming_the_config_and_the_plan(tmp_path: Path) -> None:
    (tmp_path / "broken.plan").write_text('{"fileType": "Plan", "mission": ')
    config = intruder_config(tmp_path, "broken.plan")
    with pytest.raises(InputError) as caught:
        load_config(config)
    text = str(caught.value)
    assert text.startswith(f"{config}: mission broken.plan: ") and "broken.plan" in text


def test_a_mission_that_does_not_start_with_a_takeoff_is_refused(tmp_path: Path) -> None:
    waypoints_file(tmp_path / "no-takeoff.waypoints", [(16, 23.1060, 113.3245, 60.0)])
    config = intruder_config(tmp_path, "no-takeoff.waypoints")
    with pytest.raises(InputError, match=r"first NAV command \(item 1, MAV_CMD 16\)"):
        load_config(config)


def test_a_mission_planned_from_another_home_is_refused(tmp_path: Path, plan: Path) -> None:
    plan.write_text(plan.read_text().replace("23.1030\t113.3245", "23.1130\t113.3245", 1))
    with pytest.raises(InputError, match=r"is 1112 m from the config's \[home\]"):
        load_config(intruder_config(tmp_path, plan.name))


def test_one_bad_mission_refuses_the_whole_folder(tmp_path: Path, plan: Path) -> None:
    good = intruder_config(tmp_path, plan.name)
    good.rename(tmp_path / "good.toml")
    assert [c.name for c in load_configs(tmp_path)] == ["INTR-M"]
    bad = INTRUDER.format(role="intruder", mission="missing.plan")
    (tmp_path / "bad.toml").write_text(bad.replace("INTR-M", "INTR-B").replace("= 7", "= 8"))
    with pytest.raises(InputError, match=r"bad\.toml: mission file missing\.plan"):
        load_configs(tmp_path)
    with pytest.raises(InputError, match=r"missing\.plan"):
        select_configs(tmp_path, ["INTR-M"])  # naming a good one still reads the folder


def test_the_mission_outcome_is_kept_with_its_process(tmp_path: Path) -> None:
    table = ProcessTable(tmp_path)
    record = ProcessRecord(
        "INTR-M", 7, 4242, "emulator", ("python", "-m", "uav.sim"), "2026-11-24T08:00:00+00:00",
        "/w", "/w/sitl.log", 4, 20.0, role="intruder",
    )  # fmt: skip
    table.add(record)
    flown = replace(record, mission=MissionRecord("/m/track.plan", 6, "2026-11-24T08:00:03"))
    table.update(flown)
    (back,) = ProcessTable(tmp_path).records()  # read again from the state file
    assert back == flown and back.mission is not None and back.mission.error is None
    failed = replace(flown, mission=MissionRecord("/m/track.plan", 6, error="refused"))
    table.update(failed)
    assert table.records() == [failed]
    with pytest.raises(SitlError, match="no longer tracked"):
        table.update(replace(record, pid=4343))
    table.remove(record)  # the record as started, before its mission: the same process
    assert table.records() == []


# --------------------------------------------------------------------------- live


@dataclass
class Started:
    url: str
    up_stderr: str
    state: Path
    sysid: int


def start_intruder(
    uav: Invoke, tmp_path: Path, instance: int, mission: Path | None = None
) -> tuple[int, str, Path]:
    """The shipped INTRUDER-RID moved to ``instance`` (its files by absolute path), started
    by `uav sitl up --emulator`; returns the exit code, stderr and the state dir."""
    if not emulator_available():
        pytest.skip("uav.sim is not importable")
    text = SHIPPED.read_text().replace("instance = 3 ", f"instance = {instance} ")
    text = text.replace('"params/', f'"{CONFIGS}/params/')
    plan = mission or CONFIGS / "missions" / "intruder-rid-tower.plan"
    text = text.replace('"missions/intruder-rid-tower.plan"', f'"{plan}"')
    config = tmp_path / "intruder-rid.toml"
    config.write_text(text)
    assert load_config(config).instance == instance
    state = tmp_path / "state"
    up = uav("sitl", "up", config, "--emulator", "--speedup", SPEEDUP, "--state-dir", state)
    return up.exit_code, up.stderr, state


@pytest.fixture
def intruder(uav: Invoke, tmp_path: Path, free_instance: int) -> Iterator[Started]:
    """INTRUDER-RID flying its mission; always stopped again by `uav sitl down`."""
    state = tmp_path / "state"
    try:
        code, stderr, state = start_intruder(uav, tmp_path, free_instance)
        assert code == 0, stderr
        said = " ".join(stderr.split())  # rich wraps long lines
        yield Started(connect_url(free_instance), said, state, load_config(SHIPPED).sysid)
    finally:
        down = uav("sitl", "down", "--state-dir", state)
        assert down.exit_code == 0, down.output


def tracked(uav: Invoke, state: Path) -> dict[str, Any]:
    r = uav("sitl", "status", "--json", "--state-dir", state)
    assert r.exit_code == 0, r.stderr
    (record,) = json.loads(r.stdout)
    return dict(record)


@pytest.mark.sitl
def test_up_uploads_arms_and_starts_the_intruders_mission(intruder: Started, uav: Invoke) -> None:
    cfg = load_config(SHIPPED)
    real_items = len(cfg.mission_items) - 1
    assert f"INTRUDER-RID: mission of {real_items} items started" in intruder.up_stderr
    assert "not registered in the fleet" in intruder.up_stderr
    assert json.loads(uav("fleet", "list", "--json").stdout) == []  # never registered
    record = tracked(uav, intruder.state)
    assert record["alive"] and record["mission"]["items"] == real_items
    assert record["mission"]["started_at"] and record["mission"]["error"] is None

    zone = canton_tower()
    auto = mode_number("AUTO")

    def running(s: VehicleState) -> VehicleState | None:
        ok = s.armed and s.custom_mode == auto and s.lat_deg is not None
        return s if ok and s.mission_state == 3 and (s.mission_seq or 0) >= 1 else None  # ACTIVE

    def in_the_zone(s: VehicleState) -> VehicleState | None:
        flying = s.armed and s.custom_mode == auto and (s.mission_seq or 0) >= 2
        there = (
            s.lat_deg is not None
            and s.lon_deg is not None
            and zone.contains(Point(s.lon_deg, s.lat_deg))
        )
        return s if flying and there and (s.alt_rel_m or 0.0) > 50.0 else None

    link = DroneLink(intruder.url, LinkConfig(target_system=intruder.sysid), name="INTRUDER-RID")
    try:
        link.open()
        on_board = download(link, MISSION)
        assert [(i.seq, i.command) for i in on_board[1:]] == [
            (i.seq, i.command) for i in cfg.mission_items[1:]
        ]
        start = wait_until(link, running, timeout_s=10.0, what="the mission running")
        inside = wait_until(link, in_the_zone, timeout_s=FLIGHT_TIMEOUT_S, what="in the zone")
    finally:
        link.close()
    assert start.lat_deg is not None and inside.lat_deg is not None
    assert inside.lat_deg > start.lat_deg  # it went north, into the zone
    assert (inside.mission_seq or 0) >= (start.mission_seq or 0)


@pytest.mark.sitl
def test_listen_judges_the_intruders_own_remote_id_high_in_the_zone(
    intruder: Started, uav: Invoke
) -> None:
    loaded = uav("zones", "load", ZONES)
    assert loaded.exit_code == 0, loaded.output
    zones = {z["name"]: z["id"] for z in json.loads(uav("zones", "list", "--json").stdout)}
    heard = uav(
        "detect", "listen", f"mavlink:{intruder.url}", "--max", LISTEN_MAX,
        "--duration", "90s", "--json",
    )  # fmt: skip
    assert heard.exit_code == 0, heard.output
    summary = json.loads(heard.stdout)
    assert summary["stopped"] == "max", summary
    track = f"rid:{SERIAL}"
    assert any(i.startswith(f"{track}@") for i in summary["high_incidents"]), summary
    listed = uav("detect", "list", "--json", "--track", track)
    assert listed.exit_code == 0, listed.output
    own = json.loads(listed.stdout)
    high = [d for d in own if d["severity"] == "high"]
    assert high and {d["zone_id"] for d in high} == {zones["Canton Tower"]}
    assert all(d["category"] == "drone" and not d["authorised"] for d in own)
    sighted = [d["detection"] for d in own]
    assert all(d["sensor_kind"] == "remote-id" and d["remote_id_type"] == 1 for d in sighted)
    assert all(d["mavlink_sysid"] == intruder.sysid for d in sighted)  # its own, not relayed
    assert {round(d["alt_m"] - HOME_AMSL_M) for d in high} == {60}  # at the mission's 60 m


@pytest.mark.sitl
def test_a_mission_the_vehicle_refuses_leaves_the_simulator_running(
    uav: Invoke, tmp_path: Path, free_instance: int
) -> None:
    too_long = waypoints_file(  # ArduCopter stores at most 650 items (NO_SPACE)
        tmp_path / "too-long.waypoints",
        [(22, 0.0, 0.0, 30.0)] + [(16, 23.1031 + k * 1e-6, 113.3245, 30.0) for k in range(700)],
    )
    state = tmp_path / "state"
    try:
        code, stderr, state = start_intruder(uav, tmp_path, free_instance, too_long)
        stderr = " ".join(stderr.split())  # rich wraps long lines
        assert code == 1, stderr  # the vehicle refused
        assert "error:" in stderr and "INTRUDER-RID: mission not started" in stderr
        assert "left running" in stderr and "mission of" not in stderr
        record = tracked(uav, state)
        assert record["alive"] and record["mission"]["started_at"] is None
        assert "650" in record["mission"]["error"]
    finally:
        down = uav("sitl", "down", "--state-dir", state)
        assert down.exit_code == 0, down.output
    assert ProcessTable(sitl_state_dir(state)).records() == []
