"""``mavlink:URL`` against a simulated vehicle (emulator or SITL, see tests/sim_plugin.py)
playing the intruder recipes of sitl_configs/: simulated ADS-B traffic relayed as
ADSB_VEHICLE, and its own Remote ID as OPEN_DRONE_ID_*."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from uav.detect.model import AltFrame, Category, Detection, SensorKind
from uav.detect.sources import MavlinkSource, SourceStats
from uav.detect.sources.base import Backoff
from uav.link.transport import open_master

pytestmark = pytest.mark.sitl

PARAMS = Path(__file__).resolve().parents[1] / "sitl_configs" / "params"
RECIPE = [PARAMS / "streams.parm", PARAMS / "adsb-traffic.parm", PARAMS / "remoteid.parm"]
WAIT_S = 60.0  # wall-clock bound; generous for a loaded machine, the assertions stay exact
SERIAL = "UAV-SITL-INTR-04"


class Collector:
    def __init__(self) -> None:
        self.got: list[Detection] = []
        self._lock = threading.Lock()

    def __call__(self, batch: list[Detection]) -> None:
        with self._lock:
            self.got.extend(batch)

    def snapshot(self) -> list[Detection]:
        with self._lock:
            return list(self.got)

    def wait_for(self, condition: Callable[[list[Detection]], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT_S
        while not condition(self.snapshot()):
            assert time.monotonic() < deadline, f"no {what} within {WAIT_S:g} s"
            threading.Event().wait(0.05)


def adsb(ds: list[Detection]) -> list[Detection]:
    return [d for d in ds if d.sensor_kind == SensorKind.ADSB]


def rid(ds: list[Detection]) -> list[Detection]:
    return [d for d in ds if d.sensor_kind == SensorKind.REMOTE_ID]


def send_remote_id_content(url: str) -> None:
    """Act as the ground station filling in the vehicle's Remote ID (README scenario 6)."""
    master = open_master(url, connect_timeout_s=10.0, source_system=255, source_component=190)
    try:
        mav: Any = master.mav
        uas_id = list(SERIAL.encode().ljust(20, b"\0"))
        zero = [0] * 20
        mav.send(mav.open_drone_id_basic_id_encode(1, 1, zero, 1, 2, uas_id))
        mav.send(mav.open_drone_id_operator_id_encode(1, 1, zero, 0, b"CHN-OP-INTR-0004"))
        mav.send(mav.open_drone_id_self_id_encode(1, 1, zero, 0, b"intruder test"))
        mav.send(
            mav.open_drone_id_system_encode(
                1, 1, zero, 0, 1, 231280000, 1133230000, 1, 0, -1000.0, -1000.0, 1, 3, 21.0, 0
            )
        )
    finally:
        master.close()


def test_mavlink_source_sees_adsb_traffic_and_remote_id(vehicles: Any) -> None:
    (vehicle,) = vehicles(1, params=RECIPE)
    collector, stats, stop = Collector(), SourceStats(), threading.Event()
    source = MavlinkSource(vehicle.url, backoff=Backoff(0.2, 1.0))
    thread = threading.Thread(target=source.run, args=(collector, stop, stats), daemon=True)
    thread.start()
    try:
        collector.wait_for(lambda ds: len({d.icao_address for d in adsb(ds)}) >= 5, "5 aircraft")
        collector.wait_for(lambda ds: len(rid(ds)) >= 1, "Remote ID location")
        send_remote_id_content(vehicle.link_url(2))
        collector.wait_for(
            lambda ds: any(d.remote_id == SERIAL for d in rid(ds)), "Remote ID with its serial"
        )
    finally:
        stop.set()
        thread.join(WAIT_S)
    assert not thread.is_alive()

    got = collector.snapshot()
    traffic = adsb(got)
    assert all(d.icao_address and len(d.icao_address) == 6 for d in traffic)
    assert all(d.alt_frame == AltFrame.PRESSURE and d.alt_m is not None for d in traffic)
    assert all(d.mavlink_sysid is None for d in traffic)  # traffic is not the relay's own
    assert {d.extra["relayed_by_sysid"] for d in traffic} == {vehicle.sysid}
    assert all(d.category != Category.UNKNOWN for d in traffic)
    assert all(d.callsign == f"SIM{int(d.icao_address or '0', 16)}" for d in traffic)

    own = rid(got)
    home = vehicle.home
    for d in own:
        assert d.mavlink_sysid == vehicle.sysid
        assert d.lat_deg == pytest.approx(home.lat_deg, abs=1e-4)
        assert d.lon_deg == pytest.approx(home.lon_deg, abs=1e-4)
        assert d.alt_frame == AltFrame.AMSL and d.alt_m == pytest.approx(home.alt_amsl_m, abs=1)
        assert d.received_s is not None and -12.0 <= d.time_s - d.received_s <= 2.0
    named = [d for d in own if d.remote_id == SERIAL]
    assert named[-1].remote_id_type == 1 and named[-1].ua_type == 2
    assert stats.skipped == 0 and stats.parsed == len(got)


def test_fleet_source_listens_on_the_drones_own_link(vehicles: Any) -> None:
    from uav.detect.sources import FleetSource
    from uav.fleet.links import DroneTarget

    (vehicle,) = vehicles(1, params=RECIPE)
    target = DroneTarget("INTRUDER-X", vehicle.url, vehicle.sysid)
    collector, stats, stop = Collector(), SourceStats(), threading.Event()
    source = FleetSource(targets=[target])
    thread = threading.Thread(target=source.run, args=(collector, stop, stats), daemon=True)
    thread.start()
    try:
        collector.wait_for(lambda ds: len(adsb(ds)) >= 5 and len(rid(ds)) >= 2, "detections")
    finally:
        stop.set()
        thread.join(WAIT_S)
    assert not thread.is_alive()
    got = collector.snapshot()
    assert {d.sensor_id for d in got} == {"INTRUDER-X"}  # the drone that heard them
    assert {d.source for d in got} == {"fleet"}
    assert {d.mavlink_sysid for d in rid(got)} == {vehicle.sysid}  # its own Remote ID
    assert {d.mavlink_sysid for d in adsb(got)} == {None}  # traffic it relays
    assert stats.skipped == 0
