"""Several vehicles in one process, port conflicts, parts loading, and the cost of 20."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from tests.sim.conftest import free_instance, start_vehicle
from tests.sim.gcs import Gcs
from tests.sim.test_entry_points import read_until, spawn, stop
from uav.sim import EmulatedVehicle, EmulatorError, EmulatorServer
from uav.sim import parts as parts_module
from uav.sim.parts import PartFactories, load_part


def test_one_server_runs_several_vehicles_and_drops_one() -> None:
    server = EmulatorServer()
    instances: list[int] = []
    for _ in range(3):  # three distinct ones: none is bound before server.add
        instances.append(free_instance(avoid=instances))
    vehicles = [
        EmulatedVehicle(n, speedup=50, sysid=10 + k, parts=PartFactories.none())
        for k, n in enumerate(instances)
    ]
    clients: list[Gcs] = []
    try:
        for vehicle in vehicles:
            server.add(vehicle)
        server.start()
        clients = [Gcs(v.ports[0] or 0, 50) for v in vehicles]
        beats = [c.wait_for("HEARTBEAT", timeout_s=5) for c in clients]
        assert [b.get_srcSystem() for b in beats] == [10, 11, 12]
        server.remove(vehicles[1])
        assert server.vehicles == [vehicles[0], vehicles[2]]
        with pytest.raises(ConnectionError):
            clients[1].run_for(2)
        clients[0].wait_for("HEARTBEAT", timeout_s=2)
        clients[2].wait_for("HEARTBEAT", timeout_s=2)
        assert server.errors == []
    finally:
        for client in clients:
            client.close()
        server.stop()


def test_port_in_use_is_an_error() -> None:
    vehicle = start_vehicle()
    try:
        clash = EmulatedVehicle(vehicle.instance, parts=PartFactories.none())
        with pytest.raises(EmulatorError, match="cannot listen"):
            clash.start()
    finally:
        vehicle.stop()


def test_serial0_listens_at_once_and_the_vehicle_waits_for_a_client() -> None:
    started = time.monotonic()
    vehicle = start_vehicle(speedup=1)
    try:
        listening_after = time.monotonic() - started
        assert listening_after < 0.5
        assert not vehicle.booted
        with socket.create_connection(("127.0.0.1", vehicle.ports[0] or 0), timeout=2):
            deadline = time.monotonic() + 2
            while not vehicle.booted and time.monotonic() < deadline:
                time.sleep(0.01)
            assert vehicle.booted
    finally:
        vehicle.stop()


def test_missing_parts_are_left_out_but_broken_ones_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_part("no_such_part_module", "Anything") is None

    def broken(name: str) -> Any:
        raise ModuleNotFoundError("No module named 'shapely'", name="shapely")

    monkeypatch.setattr(parts_module.importlib, "import_module", broken)
    with pytest.raises(ModuleNotFoundError, match="shapely"):
        load_part("fence", "FenceMonitor")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_twenty_vehicles_at_10_hz_in_one_process_cheaply() -> None:
    """20 vehicles, each streaming everything at 10 Hz to its own ground station."""
    count = 20
    first = free_instance()
    while not all(_free(first + k) for k in range(count)):
        first = free_instance()
    proc = spawn(
        "-c",
        "from uav.cli.sim import app; app(prog_name='uav sim')",
        "run",
        "-n",
        str(count),
        "--first-instance",
        str(first),
    )
    clients: list[Gcs] = []
    try:
        read_until(proc, rf"instance {first + count - 1} ")
        clients = [Gcs(5760 + 10 * (first + k), 1.0, target_system=1 + k) for k in range(count)]
        for client in clients:
            client.request_streams(10)
        _pump_all(clients, 1.0)  # let the streams start (wall time: speed-up 1)
        cpu_before, wall_before = _cpu_seconds(proc.pid), time.monotonic()
        marks = [c.mark() for c in clients]
        _pump_all(clients, 4.0)
        wall = time.monotonic() - wall_before
        cpu = _cpu_seconds(proc.pid) - cpu_before
        for client, mark in zip(clients, marks, strict=True):
            positions = [r for r in client.received[mark:] if r.type == "GLOBAL_POSITION_INT"]
            assert len(positions) / wall == pytest.approx(10.0, abs=1.5)
        print(f"20 vehicles at 10 Hz: {cpu / wall:.0%} of a core")
        assert cpu / wall < 0.6, f"the emulator used {cpu / wall:.0%} of a core"
    finally:
        for client in clients:
            client.close()
        code, err = stop(proc)
        proc.stdout and proc.stdout.close()
    assert code == 0, err


def _pump_all(clients: list[Gcs], seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for client in clients:
            client.pump(0.0)
        time.sleep(0.005)


def _free(instance: int) -> bool:
    from tests.sim.conftest import ports_free
    from uav.sim import serial_ports

    return ports_free(serial_ports(instance))
