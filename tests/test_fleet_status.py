"""`uav fleet status` against emulated vehicles: every drone asked at once, a silent one
shown as not answering within the bound, and the status shapes without a vehicle."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import Invoke
from tests.fleet_support import HOME_AMSL, HOME_LAT, HOME_LON, silent_listener
from tests.sim_plugin import VehicleFactory
from uav.fleet.links import DroneTarget
from uav.fleet.status import DroneStatus, status_of
from uav.link import ConnectFailed, VehicleState
from uav.link.state import Home

SPEEDUP = 20.0


@pytest.mark.sitl
def test_two_drones_and_a_silent_one(uav: Invoke, vehicles: VehicleFactory) -> None:
    a, b = vehicles(2, speedup=SPEEDUP, ready=True)
    with silent_listener() as ghost_url:
        for name, url, sysid in (("TH-01", a.url, a.sysid), ("TH-02", b.url, b.sysid)):
            assert uav("fleet", "add", name, "--connect", url, "--sysid", sysid).exit_code == 0
        assert uav("fleet", "add", "GHOST", "--connect", ghost_url).exit_code == 0
        started = time.monotonic()
        r = uav("fleet", "status", "--timeout", "1.5", "--json")
        took_s = time.monotonic() - started
    assert r.exit_code == 0, r.stderr
    assert took_s < 1.5 + 1.5, f"status took {took_s:.1f} s with a bound of 1.5 s"
    found = {s["name"]: s for s in json.loads(r.stdout)}
    assert list(found) == ["GHOST", "TH-01", "TH-02"]
    ghost = found.pop("GHOST")
    assert ghost["answered"] is False and ghost["link"] == "no answer"
    assert "1.5" in ghost["detail"] or "HEARTBEAT" in ghost["detail"]
    assert ghost["mode"] is None and ghost["last_heard"] is None
    for s in found.values():
        assert s["answered"] is True and s["link"] == "ok", s
        assert s["mode"] == "STABILIZE" and s["armed"] is False
        assert s["gps_fix_type"] >= 3 and s["satellites"] >= 6 and s["gps_fix"]
        assert s["lat_deg"] == pytest.approx(HOME_LAT, abs=1e-5)
        assert s["lon_deg"] == pytest.approx(HOME_LON, abs=1e-5)
        assert s["alt_rel_m"] == pytest.approx(0.0, abs=0.5)
        assert s["alt_amsl_m"] == pytest.approx(HOME_AMSL, abs=0.5)
        assert s["groundspeed_mps"] == pytest.approx(0.0, abs=0.2)
        assert s["heading_deg"] is not None and s["battery_pct"] == 100
        assert s["fence"] == "off" and s["last_heard"] is not None
    assert "GHOST: no answer" in r.stderr and "2 of 3 drone(s) answered" in r.stderr


@pytest.mark.sitl
def test_the_table_and_one_drone_by_name(uav: Invoke, vehicles: VehicleFactory) -> None:
    (v,) = vehicles(1, speedup=SPEEDUP)
    assert uav("fleet", "add", "TH-01", "--connect", v.url).exit_code == 0
    assert uav("fleet", "add", "DEAD", "--connect", "tcp:127.0.0.1:9").exit_code == 0
    r = uav("fleet", "status", "TH-01", "DEAD", "--timeout", "2")
    assert r.exit_code == 0, r.stderr
    rows = r.stdout.splitlines()
    assert rows[0].split()[:3] == ["drone", "link", "mode"]
    assert any(row.startswith("TH-01") and "STABILIZE" in row for row in rows)
    assert any(row.startswith("DEAD") and " no" in row for row in rows)
    assert "DEAD: no answer: tcp:127.0.0.1:9: cannot connect" in r.stderr


def test_unknown_drone_and_bad_timeout_are_exit_2(uav: Invoke) -> None:
    assert uav("fleet", "add", "TH-01", "--connect", "tcp:127.0.0.1:9").exit_code == 0
    r = uav("fleet", "status", "TH-01", "TH-09")
    assert r.exit_code == 2 and "no drone named 'TH-09'" in r.stderr and r.stdout == ""
    r = uav("fleet", "status", "--timeout", "0")
    assert r.exit_code == 2 and "--timeout" in r.stderr


def test_empty_fleet_status(uav: Invoke) -> None:
    r = uav("fleet", "status", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout) == []


TARGET = DroneTarget("TH-01", "tcp:127.0.0.1:5760", 1)


def test_status_of_a_full_state() -> None:
    state = VehicleState(
        mode_name="AUTO",
        armed=True,
        gps_fix_type=3,
        satellites=9,
        lat_deg=23.1,
        lon_deg=113.3,
        alt_rel_m=30.0,
        alt_amsl_m=50.1,
        groundspeed_mps=5.0,
        heading_deg=90.0,
        battery_pct=80,
        voltage_v=12.6,
        ekf_flags=0x33F,
        fence_enabled=True,
        fence_breached=True,
        home=Home(23.1, 113.3, 20.1),
        last_heard_wall_s=1_790_000_000.0,
    )
    s = status_of(TARGET, state, 5.0)
    assert s.answered and s.link == "ok" and s.fence == "breached" and s.gps_fix == "3D"
    data = s.to_json()
    assert data["last_heard"] == "2026-09-21T14:13:20+00:00"
    assert data["alt_rel_m"] == 30.0 and data["alt_amsl_m"] == 50.1
    assert "signing_key" not in json.dumps(data)


def test_status_of_partial_telemetry_and_of_errors() -> None:
    partial = status_of(TARGET, VehicleState(mode_name="STABILIZE", armed=False), 2.0)
    assert partial.answered and partial.link == "partial" and "2 s" in partial.detail
    failed = status_of(TARGET, ConnectFailed(TARGET.url, "no HEARTBEAT within 1 s"), 2.0)
    assert not failed.answered and "no HEARTBEAT" in failed.detail
    late = status_of(TARGET, None, 2.0)
    assert late == DroneStatus("TH-01", TARGET.url, "off", "no answer", "no answer within 2 s")
    assert DroneStatus("x", "u", "off", "ok", fence_enabled=False).fence == "off"
    assert DroneStatus("x", "u", "off", "ok").fence is None
