"""`uav fleet arm|disarm|takeoff|goto|mode|rtl|land` against emulated vehicles: each
confirmed by the drone, refusals with the drone's own words (exit 1), bad input, unknown
drones and dead links (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Invoke
from tests.fleet_support import HOME_LAT, HOME_LON, offset, register, said, write_parm
from tests.sim_plugin import VehicleFactory

SPEEDUP = 20.0


def status(uav: Invoke, name: str) -> dict[str, object]:
    r = uav("fleet", "status", name, "--json", "--timeout", "3")
    assert r.exit_code == 0, r.stderr
    (found,) = json.loads(r.stdout)
    assert found["answered"], found
    return dict(found)


@pytest.mark.sitl
def test_arm_before_the_ekf_is_ready_is_refused_with_the_drones_words(
    uav: Invoke, vehicles: VehicleFactory
) -> None:
    (v,) = vehicles(1, speedup=SPEEDUP)  # boots on the first connection: not ready yet
    register(uav, v)
    r = uav("fleet", "arm", "TH-01")
    assert r.exit_code == 1, r.stderr
    assert "refused: TH-01: ARM refused, result 4 (FAILED)" in said(r.stderr)
    assert "Arm:" in r.stderr  # e.g. "Arm: EKF attitude is bad", as ArduPilot says it
    assert status(uav, "TH-01")["armed"] is False


@pytest.mark.sitl
@pytest.mark.slow
def test_arm_disarm_takeoff_goto_rtl_land(
    uav: Invoke, vehicles: VehicleFactory, tmp_path: Path
) -> None:
    # DISARM_DELAY 0: the drone stays armed on the ground between two commands
    parm = write_parm(tmp_path / "nodelay.parm", DISARM_DELAY=0)
    (v,) = vehicles(1, speedup=SPEEDUP, params=[parm], ready=True)
    register(uav, v)
    steps = [
        (("mode", "TH-01", "GUIDED"), "TH-01: in GUIDED"),
        (("arm", "TH-01"), "TH-01: armed (GUIDED)"),
        (("disarm", "TH-01"), "TH-01: disarmed"),
        (("arm", "TH-01"), "TH-01: armed"),
        (("takeoff", "TH-01", "10"), "TH-01: took off"),
    ]
    for args, message in steps:
        r = uav("fleet", *args)
        assert r.exit_code == 0, (args, r.stderr)
        assert message in r.stderr
    up = status(uav, "TH-01")
    assert up["armed"] is True and up["mode"] == "GUIDED"
    assert up["alt_rel_m"] == pytest.approx(10.0, abs=1.5)
    lat, lon = offset(30.0, 0.0)
    r = uav("fleet", "goto", "TH-01", lat, lon, 12)
    assert r.exit_code == 0, r.stderr
    there = status(uav, "TH-01")
    assert there["lat_deg"] == pytest.approx(lat, abs=3e-5)  # ~3 m
    assert there["lon_deg"] == pytest.approx(lon, abs=3e-5)
    assert there["alt_rel_m"] == pytest.approx(12.0, abs=1.5)
    r = uav("fleet", "rtl", "TH-01")
    assert r.exit_code == 0 and "TH-01: returning to launch (RTL)" in r.stderr
    assert status(uav, "TH-01")["mode"] == "RTL"
    r = uav("fleet", "land", "TH-01", "--wait")
    assert r.exit_code == 0, r.stderr
    assert "TH-01: landed and disarmed" in r.stderr
    down = status(uav, "TH-01")
    assert down["armed"] is False and down["mode"] == "LAND"
    assert down["alt_rel_m"] == pytest.approx(0.0, abs=0.5)
    assert down["lat_deg"] != pytest.approx(HOME_LAT, abs=5e-5)  # landed on the way home
    assert down["lon_deg"] == pytest.approx(HOME_LON, abs=3e-5)


@pytest.mark.sitl
def test_refusals_before_sending_are_exit_1(uav: Invoke, vehicles: VehicleFactory) -> None:
    (v,) = vehicles(1, speedup=SPEEDUP)
    register(uav, v)
    r = uav("fleet", "takeoff", "TH-01", "10")
    assert r.exit_code == 1
    assert "refused: TH-01: NAV_TAKEOFF refused, not sent" in said(r.stderr)
    assert "in STABILIZE, not GUIDED" in said(r.stderr) and "not armed" in said(r.stderr)
    lat, lon = offset(10.0, 0.0)
    r = uav("fleet", "goto", "TH-01", lat, lon, 10)
    assert r.exit_code == 1 and "not armed" in r.stderr


def test_bad_input_is_exit_2_and_sends_nothing(uav: Invoke) -> None:
    # the drone's URL has no listener: had anything been sent, the error would be a link one
    assert uav("fleet", "add", "TH-01", "--connect", "tcp:127.0.0.1:9").exit_code == 0
    cases = [
        (("mode", "TH-01", "WARP"), "unknown ArduCopter mode 'WARP'"),
        (("takeoff", "TH-01", "--", "-5"), "take-off altitude -5.0 m must be above 0"),
        (("goto", "TH-01", "95", "113.3", "10"), "latitude 95.0 is out of range"),
        (("goto", "TH-01", "--", "-95", "113.3", "10"), "latitude -95.0 is out of range"),
        (("goto", "TH-01", "23.1", "200", "10"), "longitude 200.0 is out of range"),
        (("goto", "TH-01", "23.1", "113.3", "0"), "altitude 0.0 m above home"),
        (("arm", "TH-09"), "no drone named 'TH-09'"),
    ]
    for args, message in cases:
        r = uav("fleet", *args)
        assert r.exit_code == 2, (args, r.stderr)
        assert message in said(r.stderr) and "cannot connect" not in r.stderr, (args, r.stderr)
    assert uav("fleet", "takeoff", "TH-01").exit_code == 2  # usage: ALT missing


def test_a_dead_link_is_exit_2_naming_the_drone(uav: Invoke) -> None:
    assert uav("fleet", "add", "TH-01", "--connect", "tcp:127.0.0.1:9").exit_code == 0
    for args in (["arm"], ["disarm"], ["mode", "TH-01", "GUIDED"], ["rtl"], ["land"]):
        r = uav("fleet", *args, *([] if "TH-01" in args else ["TH-01"]))
        assert r.exit_code == 2, (args, r.stderr)
        assert "error: TH-01: tcp:127.0.0.1:9: cannot connect" in said(r.stderr)
