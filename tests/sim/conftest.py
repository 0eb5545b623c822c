"""Fixtures for the emulator tests: free ports, started vehicles, ground stations, traces."""

from __future__ import annotations

import json
import os
import random
import socket
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.sim.gcs import Gcs
from uav.sim import EmulatedVehicle, EmulatorError, serial_ports
from uav.sim.parts import PartFactories

FAST = 50.0  # the speed-up most tests run at
SHARED = Path(__file__).resolve().parents[2].parent / "shared"  # beside the checkout
TRACES = Path(os.environ.get("UAV_SITL_TRACES", SHARED / "sitl-traces"))


def ports_free(ports: tuple[int, ...]) -> bool:
    sockets: list[socket.socket] = []
    try:
        for port in ports:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.bind(("127.0.0.1", port))
            sock.listen(1)
        return True
    except OSError:
        return False
    finally:
        for sock in sockets:
            sock.close()


# Linux hands out ports from 32768 up to outgoing connections (ip_local_port_range): an
# instance with a port there can lose it to any client socket between the check and the
# bind. Instances up to this one keep their ports (5763 + 10 N at most) below that.
LAST_FREE_INSTANCE = (32_768 - 5_763 - 1) // 10


def free_instance(avoid: Collection[int] = ()) -> int:
    """An instance number whose three ports are free now (random, so parallel runs differ),
    not one of ``avoid`` (picked but not bound yet)."""
    for _ in range(200):
        instance = random.randint(600, LAST_FREE_INSTANCE)
        if instance not in avoid and ports_free(serial_ports(instance)):
            return instance
    raise RuntimeError("no free instance found in 200 tries")


VehicleFactory = Callable[..., EmulatedVehicle]


def start_vehicle(
    speedup: float = FAST, parts: PartFactories | None = None, **kw: Any
) -> EmulatedVehicle:
    """A started vehicle on a free instance (the caller stops it)."""
    for _ in range(20):
        vehicle = EmulatedVehicle(
            free_instance(), speedup=speedup, parts=parts or PartFactories.none(), **kw
        )
        try:
            vehicle.start()
        except EmulatorError:
            continue  # the port was taken in between: try another instance
        return vehicle
    raise RuntimeError("could not start a vehicle on a free instance")


@contextmanager
def running_vehicle(**kw: Any) -> Iterator[EmulatedVehicle]:
    """A started vehicle, stopped on exit; fails if the emulator raised inside."""
    vehicle = start_vehicle(**kw)
    try:
        yield vehicle
    finally:
        errors = vehicle.errors
        vehicle.stop()
    assert not errors, "\n".join(errors)


@pytest.fixture
def make_vehicle() -> Iterator[VehicleFactory]:
    """Start emulated vehicles (default: 50x, no mission/fence/traffic parts); all are stopped
    afterwards, and the test fails if any raised inside the emulator."""
    created: list[EmulatedVehicle] = []

    def make(**kw: Any) -> EmulatedVehicle:
        vehicle = start_vehicle(**kw)
        created.append(vehicle)
        return vehicle

    yield make
    errors: list[str] = []
    for vehicle in created:
        errors += vehicle.errors
        vehicle.stop()
    assert not errors, "\n".join(errors)


GcsFactory = Callable[..., Gcs]


@pytest.fixture
def connect() -> Iterator[GcsFactory]:
    """Connect ground stations to a vehicle's link (0: SERIAL0); closed afterwards."""
    clients: list[Gcs] = []

    def make(vehicle: EmulatedVehicle, link: int = 0, **kw: Any) -> Gcs:
        port = vehicle.ports[link]
        assert port is not None
        client = Gcs(port, vehicle.clock.speedup, **kw)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def vehicle(make_vehicle: VehicleFactory) -> EmulatedVehicle:
    return make_vehicle()


@pytest.fixture
def gcs(vehicle: EmulatedVehicle, connect: GcsFactory) -> Gcs:
    """A ground station on SERIAL0 of a fresh vehicle (which boots on this connection)."""
    return connect(vehicle)


# ---- the recorded traces ----
def trace_path(name: str) -> Path:
    path = TRACES / name
    if not path.exists():
        pytest.skip(f"SITL trace {path} not available (set UAV_SITL_TRACES)")
    return path


def load_trace(scenario: str) -> list[dict[str, Any]]:
    """The messages of ``<scenario>.jsonl``, in order."""
    with trace_path(f"{scenario}.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def load_facts(scenario: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(trace_path(f"{scenario}.facts.json").read_text("utf-8"))
    return data


@pytest.fixture(scope="session")
def boot_trace() -> list[dict[str, Any]]:
    return load_trace("boot")


@pytest.fixture(scope="session")
def flight_trace() -> list[dict[str, Any]]:
    return load_trace("flight")
