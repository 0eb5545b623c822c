"""Fixtures for the link tests: a scripted vehicle on a free localhost port and a link to it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.link.fakevehicle import FakeVehicle
from tests.link.traces import Entry
from uav.link.connection import DroneLink, LinkConfig
from uav.link.transport import mavlink

# Short bounds so that failures show in well under a second; a live vehicle needs the defaults.
FAST = LinkConfig(
    connect_timeout_s=2.0,
    heartbeat_timeout_s=3.0,
    reconnect_attempts=3,
    reconnect_delay_s=0.05,
)


OURS = ("mavlink-rx", "link-supervisor", "fake-vehicle", "status ")


@pytest.fixture(autouse=True)
def _no_threads_left() -> Iterator[None]:
    """Every reader, supervisor and fake vehicle a test starts has ended when it is over."""
    before = set(threading.enumerate())
    yield
    left = [t for t in threading.enumerate() if t not in before and t.name.startswith(OURS)]
    for thread in left:
        thread.join(3.0)
    alive = [t.name for t in left if t.is_alive()]
    assert not alive, f"threads still running after the test: {alive}"


@pytest.fixture
def fake() -> Iterator[FakeVehicle]:
    vehicle = FakeVehicle()
    yield vehicle
    vehicle.close()


@pytest.fixture
def link(fake: FakeVehicle) -> Iterator[DroneLink]:
    drone = DroneLink(fake.url, FAST, name="test")
    drone.open()
    yield drone
    drone.close()


def decode(entries: list[Entry]) -> list[Any]:
    """The pymavlink messages in recorded entries (console text dropped)."""
    parser = mavlink().MAVLink(None)
    parser.robust_parsing = True
    out: list[Any] = []
    for entry in entries:
        out.extend(m for m in parser.parse_buffer(entry.raw) or [] if m.get_type() != "BAD_DATA")
    return out
