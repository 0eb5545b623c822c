"""query_status: many drones at once, each bounded; a silent one never holds up the others."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.link.fakevehicle import FakeVehicle
from tests.link.test_connection import free_port
from tests.link.traces import load, rx
from uav.link.errors import ConnectFailed
from uav.link.state import VehicleState
from uav.link.status import query_status


def last_recorded(types: list[str]) -> list[bytes]:
    """The boot recording's last message of each type (the vehicle ready to fly), in the
    order given."""
    latest = {e.type: e.raw for e in rx(load("boot")) if e.type in types}
    return [latest[t] for t in types]


@pytest.fixture
def fleet() -> Iterator[dict[str, FakeVehicle]]:
    ready, quiet, silent = FakeVehicle(), FakeVehicle(), FakeVehicle()
    telemetry = last_recorded(  # home first: query_status returns once the rest is in
        ["HOME_POSITION", "GLOBAL_POSITION_INT", "SYS_STATUS", "GPS_RAW_INT", "EKF_STATUS_REPORT"]
    )
    ready.on("REQUEST_DATA_STREAM", lambda m: telemetry)
    silent.answer_heartbeats = False
    yield {"ready": ready, "quiet": quiet, "silent": silent}
    for vehicle in (ready, quiet, silent):
        vehicle.close()


def test_each_drone_answers_or_fails_within_the_bound(fleet: dict[str, FakeVehicle]) -> None:
    urls = {name: vehicle.url for name, vehicle in fleet.items()}
    urls["gone"] = f"tcp:127.0.0.1:{free_port()}"
    start = time.monotonic()
    results = query_status(urls, timeout_s=1.0)
    elapsed = time.monotonic() - start
    assert elapsed < 2.0
    assert list(results) == ["ready", "quiet", "silent", "gone"]

    ready = results["ready"]
    assert isinstance(ready, VehicleState)
    assert (ready.gps_fix_type, ready.satellites, ready.ekf_flags) == (6, 10, 0x33F)
    assert ready.home is not None and ready.position_ok and ready.voltage_v == pytest.approx(12.6)

    quiet = results["quiet"]  # answers HEARTBEATs but sends no telemetry: partial state
    assert isinstance(quiet, VehicleState)
    assert quiet.mode_name == "STABILIZE" and quiet.gps_fix_type is None

    silent = results["silent"]
    assert isinstance(silent, ConnectFailed) and "no HEARTBEAT" in silent.detail
    gone = results["gone"]
    assert isinstance(gone, ConnectFailed) and "cannot connect" in gone.detail


def test_a_ready_drone_returns_as_soon_as_its_telemetry_is_in(
    fleet: dict[str, FakeVehicle],
) -> None:
    start = time.monotonic()
    results = query_status({"ready": fleet["ready"].url}, timeout_s=5.0)
    assert time.monotonic() - start < 1.0
    assert isinstance(results["ready"], VehicleState)
