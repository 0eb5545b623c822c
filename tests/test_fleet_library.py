"""uav.fleet without a vehicle (the mission for a flight, bounds, the home check, how link
errors become drone errors, writing a .plan) and a refused upload against the emulator."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest

from tests.fleet_support import HOME_LAT, HOME_LON, offset, write_plan
from tests.sim_plugin import VehicleFactory
from uav.errors import InputError, PlanError
from uav.fleet.errors import DroneLinkError, DroneRefused, HomeMismatch, about
from uav.fleet.fly import flight_bound_s, flight_items, positions, rtl_bound_s
from uav.fleet.links import DroneTarget, connect, link_config
from uav.fleet.missions import check_home, upload_mission
from uav.fleet.missions import write_plan as write_plan_doc
from uav.link import (
    CommandRefused,
    ConnectFailed,
    Home,
    LinkConfig,
    MissionRejected,
    SigningError,
    UnknownMode,
    VehicleState,
    plan_to_mission_items,
)
from uav.link.missions import MISSION, download
from uav.plans.readers import read_plan


def test_a_plan_ending_with_rtl_is_flown_as_it_is(tmp_path: Path) -> None:
    plan = read_plan(write_plan(tmp_path / "p.plan", [(20.0, 0.0, 10.0)]))
    items, notes = flight_items(plan)
    assert items == plan_to_mission_items(plan) and notes == ()
    assert positions(plan) == {2: pytest.approx(offset(20.0, 0.0))}


def test_a_plan_without_rtl_gets_one(tmp_path: Path) -> None:
    plan = read_plan(write_plan(tmp_path / "p.plan", [(20.0, 0.0, 10.0)], rtl=False))
    items, notes = flight_items(plan)
    assert [i.command for i in items] == [16, 22, 16, 20]
    assert [i.seq for i in items] == [0, 1, 2, 3] and items[-1].frame == 2
    assert notes and "item 3 RTL added" in notes[0]


def test_a_plan_that_loiters_forever_cannot_be_flown(tmp_path: Path) -> None:
    plan = read_plan(write_plan(tmp_path / "p.plan", [(20.0, 0.0, 10.0)], rtl=False))
    loiter = replace(plan.items[-1], command=17)
    with pytest.raises(PlanError, match="item 2 loiters forever"):
        flight_items(replace(plan, items=(*plan.items[:-1], loiter)))


def test_bounds_are_generous_and_grow_with_the_flight() -> None:
    assert flight_bound_s(10.0) == 70.0 and flight_bound_s(600.0) == 900.0
    near = VehicleState(lat_deg=HOME_LAT, lon_deg=HOME_LON, alt_rel_m=5.0)
    far = replace(near, lat_deg=offset(300.0, 0.0)[0], alt_rel_m=40.0)
    home = Home(HOME_LAT, HOME_LON, 20.0)
    assert rtl_bound_s(replace(near, home=home)) == pytest.approx(90.0)
    assert rtl_bound_s(replace(far, home=home)) == pytest.approx(60 + 100 + 80, abs=0.5)


def test_the_drones_home_must_be_near_the_plans(tmp_path: Path) -> None:
    plan = read_plan(write_plan(tmp_path / "p.plan", [(20.0, 0.0, 10.0)]))
    assert check_home("TH-01", plan, None, 25.0) is None
    near = Home(*offset(10.0, 0.0), 20.0)
    assert check_home("TH-01", plan, near, 25.0) == pytest.approx(10.0, abs=0.1)
    far = Home(*offset(0.0, 40.0), 20.0)
    with pytest.raises(HomeMismatch, match=r"TH-01: its home .* is 40 m from the plan.s home"):
        check_home("TH-01", plan, far, 25.0)


def test_link_errors_become_drone_errors() -> None:
    refused = CommandRefused("ARM", 4, ("Arm: Fence requires position",))
    with pytest.raises(DroneRefused) as caught, about("TH-01"):
        raise refused
    assert caught.value.texts == refused.texts and str(caught.value).startswith("TH-01: ARM")
    with pytest.raises(DroneRefused, match="TH-01: mission upload refused"), about("TH-01"):
        raise MissionRejected(0, 4, ("Only 650 items are supported",))
    with pytest.raises(DroneRefused, match="Won't setup signing"), about("TH-01"):
        raise SigningError("the vehicle refused: ERROR: Won't setup signing when armed")
    with pytest.raises(DroneLinkError, match="TH-01: no signed packet"), about("TH-01"):
        raise SigningError("no signed packet from the vehicle within 3 s")
    with pytest.raises(DroneLinkError, match="TH-01: tcp:h:1: no HEARTBEAT"), about("TH-01"):
        raise ConnectFailed("tcp:h:1", "no HEARTBEAT")
    with pytest.raises(UnknownMode), about("TH-01"):  # bad input stays bad input
        raise UnknownMode("unknown ArduCopter mode 'X'")
    assert issubclass(UnknownMode, InputError)


def test_link_settings_carry_the_sysid_and_key_and_never_show_the_key() -> None:
    key = bytes(range(32))
    t = DroneTarget("TH-01", "tcp:127.0.0.1:5760", 7, key, True)
    cfg = link_config(t, LinkConfig(connect_timeout_s=1.0))
    assert cfg.target_system == 7 and cfg.signing_key == key and cfg.connect_timeout_s == 1.0
    assert t.signing == "on" and key.hex() not in repr(t) and "key" not in repr(cfg)
    assert replace(t, signing_key=None).signing == "requested"


def test_write_plan_reads_back_and_refuses_what_it_cannot_write(tmp_path: Path) -> None:
    doc = {"fileType": "Plan", "mission": {"items": [], "plannedHomePosition": [1.0, 2.0, 3.0]}}
    out = tmp_path / "out.plan"
    write_plan_doc(doc, out)
    assert out.read_text().startswith("{") and list(tmp_path.iterdir()) == [out]
    with pytest.raises(PlanError, match="cannot write"):
        write_plan_doc(doc, tmp_path / "no-such-dir" / "x.plan")
    with pytest.raises(PlanError, match="cannot write"):
        write_plan_doc({"x": math.nan}, tmp_path / "nan.plan")
    assert list(tmp_path.iterdir()) == [out]


@pytest.mark.sitl
def test_a_refused_upload_leaves_no_partial_mission(
    vehicles: VehicleFactory, tmp_path: Path
) -> None:
    (v,) = vehicles(1, speedup=20.0)
    plan = read_plan(write_plan(tmp_path / "p.plan", [(20.0, 0.0, 10.0), (30.0, 0.0, 10.0)]))
    good = plan_to_mission_items(plan)
    bad = [*good[:2], replace(good[2], x=950_000_000), *good[3:]]  # latitude 95: refused
    with connect(DroneTarget("TH-01", v.url, v.sysid)) as link:
        upload_mission(link, "TH-01", good)
        assert len(download(link, MISSION)) == len(good)
        with pytest.raises(DroneRefused) as caught:
            upload_mission(link, "TH-01", bad)
        assert "INVALID_PARAM5_X" in str(caught.value)
        assert "mission was cleared so that a partial one cannot be flown" in str(caught.value)
        assert download(link, MISSION) == []
