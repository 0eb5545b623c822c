"""Intruders wired in at launch: ``EmulatedVehicle(intruders=...)`` and
``python -m uav.sim --intruders FILE``, seen by a ground station on SERIAL0."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.sim.conftest import FAST, VehicleFactory, free_instance
from tests.sim.gcs import Gcs
from tests.sim.test_entry_points import read_until, spawn, stop
from uav.errors import InputError
from uav.sim import EmulatedVehicle
from uav.sim.parts import PartFactories
from uav.sim.traffic_intruders import Intruder, load_intruders

INTRUDERS = """
[[intruders]]
icao = "0x7801A1"
callsign = "UAVX01"
speed_mps = 10.0
waypoints = [[23.1300, 113.3230, 80.0], [23.1320, 113.3230, 80.0]]
broadcasts = ["adsb", "remote_id"]
uas_id = "WIRED-0001"
"""
ADSB_RECEIVER = "ADSB_TYPE 1\nMAV1_ADSB 5\n"


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    intruders = tmp_path / "intruders.toml"
    intruders.write_text(INTRUDERS)
    parm = tmp_path / "adsb.parm"
    parm.write_text(ADSB_RECEIVER)
    return intruders, parm


def heard(gcs: Gcs, icao: int, serial: str) -> tuple[Any, Any]:
    """The intruder's ADSB_VEHICLE and its relayed BASIC_ID (bounded waits)."""
    adsb = gcs.wait_for("ADSB_VEHICLE", lambda m: m.ICAO_address == icao, timeout_s=30.0)
    basic = gcs.wait_for(
        "OPEN_DRONE_ID_BASIC_ID",
        lambda m: bytes(m.uas_id).rstrip(b"\0") == serial.encode(),
        timeout_s=5.0,
    )
    return adsb, basic


def test_vehicle_built_with_intruders_reports_them(
    make_vehicle: VehicleFactory, files: tuple[Path, Path]
) -> None:
    intruders, parm = files
    vehicle = make_vehicle(
        parts=PartFactories.default(), defaults=[parm], intruders=load_intruders(intruders)
    )
    gcs = Gcs(vehicle.ports[0] or 0, FAST)
    try:
        adsb, basic = heard(gcs, 0x7801A1, "WIRED-0001")
    finally:
        gcs.close()
    assert adsb.callsign == "UAVX01" and adsb.emitter_type == 14
    assert basic.id_type == 1 and list(basic.id_or_mac[:6]) == [2, 0, 0x78, 0x01, 0xA1, 0]
    assert vehicle.parts is not None and vehicle.parts.traffic is not None
    assert [i.callsign for i in vehicle.parts.traffic.intruders] == ["UAVX01"]


def test_intruders_without_the_traffic_part_or_with_one_icao_twice_are_refused() -> None:
    intruder = Intruder(icao=1, callsign="X", waypoints=((23.0, 113.0, 50.0),))
    with pytest.raises(InputError, match="traffic part"):
        EmulatedVehicle(free_instance(), parts=PartFactories.none(), intruders=[intruder])
    with pytest.raises(InputError, match="ICAO 000001 is used twice"):
        EmulatedVehicle(free_instance(), intruders=[intruder, intruder])


def test_module_entry_point_takes_an_intruder_file(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    intruders, parm = files
    instance = free_instance()
    args = ["-m", "uav.sim", "--speedup", str(FAST), "--defaults", str(parm), "-I", str(instance)]
    proc = spawn(*args, "--intruders", str(intruders))
    try:
        read_until(proc, r"Waiting for connection")
        gcs = Gcs(5760 + 10 * instance, FAST)
        try:
            adsb, _ = heard(gcs, 0x7801A1, "WIRED-0001")
        finally:
            gcs.close()
        assert adsb.callsign == "UAVX01"
        code, _ = stop(proc)
        assert code == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)

    bad = tmp_path / "bad.toml"
    bad.write_text('[[intruders]]\nicao = "0x7801A1"\ncallsign = "UAVX01"\n')
    refused = spawn(*args, "--intruders", str(bad))
    _, err = refused.communicate(timeout=30)
    assert refused.returncode == 2
    assert "bad.toml" in err and "waypoints" in err
