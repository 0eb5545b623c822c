"""wait_until on a live link: the vehicle clock (SYSTEM_TIME sent by the scripted vehicle),
the hold time, the wall-clock bound and the typed timeout carrying the last state."""

from __future__ import annotations

import threading
import time

import pytest

from tests.link.fakevehicle import FakeVehicle
from uav.errors import InputError
from uav.link.connection import DroneLink
from uav.link.errors import LinkLost, WaitTimeout
from uav.link.state import LinkStatus, VehicleState
from uav.link.waits import wait_until


def in_guided(s: VehicleState) -> VehicleState | None:
    return s if s.mode_name == "GUIDED" else None


def test_returns_the_condition_value(fake: FakeVehicle, link: DroneLink) -> None:
    fake.send(fake.mav.heartbeat_encode(2, 3, 89, 4, 3, 3))
    state = wait_until(link, in_guided, timeout_s=5, what="GUIDED")
    assert state.custom_mode == 4
    assert wait_until(link, lambda s: s.custom_mode, timeout_s=1, what="mode number") == 4


def test_timeout_is_measured_on_the_vehicle_clock(fake: FakeVehicle, link: DroneLink) -> None:
    """30 vehicle seconds pass in a few wall milliseconds (a fast simulator)."""
    fake.send_time(10_000)
    wait_until(link, lambda s: s.vehicle_time_s == 10.0, timeout_s=5, what="clock")

    def vehicle_clock_runs() -> None:
        for ms in range(11_000, 45_000, 1_000):
            fake.send_time(ms)

    start = time.monotonic()
    threading.Thread(target=vehicle_clock_runs).start()
    with pytest.raises(WaitTimeout) as info:
        wait_until(link, in_guided, timeout_s=30, what="GUIDED")
    assert time.monotonic() - start < 2.0
    err = info.value
    assert err.clock == "vehicle"
    assert err.what == "GUIDED"
    assert err.last_value is None
    assert err.last_state is not None
    assert err.last_state.mode_name == "STABILIZE"
    assert err.last_state.vehicle_time_s is not None and err.last_state.vehicle_time_s >= 40.0
    assert "within 30 s (vehicle clock)" in str(err)


def test_hold_for_needs_the_condition_to_stay_true(fake: FakeVehicle, link: DroneLink) -> None:
    fake.send_time(1_000)
    fake.send(fake.mav.heartbeat_encode(2, 3, 89, 4, 3, 3))
    wait_until(link, lambda s: s.vehicle_time_s == 1.0 and in_guided(s), timeout_s=5, what="t")
    result: list[VehicleState] = []

    def wait() -> None:
        result.append(wait_until(link, in_guided, timeout_s=20, hold_for_s=2.0, what="held"))

    waiter = threading.Thread(target=wait)
    waiter.start()
    fake.send_time(2_000)
    fake.send(fake.mav.heartbeat_encode(2, 3, 81, 0, 3, 3))  # one STABILIZE heartbeat ...
    fake.send(fake.mav.heartbeat_encode(2, 3, 89, 4, 3, 3))  # ... restarts the hold at 2.0 s
    fake.send_time(3_500)
    wait_until(link, lambda s: s.vehicle_time_s == 3.5, timeout_s=5, what="clock")
    waiter.join(0.2)
    assert not result  # 2.5 s since the wait began, but only 1.5 s since the flip
    fake.send_time(4_100)
    waiter.join(5)
    assert result and result[0].vehicle_time_s == 4.1


def test_hold_for_times_out_with_the_last_value(fake: FakeVehicle, link: DroneLink) -> None:
    fake.send_time(1_000)
    fake.send(fake.mav.heartbeat_encode(2, 3, 89, 4, 3, 3))
    fake.send_time(5_000)
    wait_until(link, lambda s: s.vehicle_time_s == 5.0 and in_guided(s), timeout_s=5, what="t")
    with pytest.raises(WaitTimeout) as info:  # the vehicle clock stands still from here
        wait_until(link, in_guided, timeout_s=3, hold_for_s=2.5, what="held", wall_timeout_s=0.5)
    assert info.value.last_value is not None  # it was true, just not long enough
    assert info.value.clock == "wall"


def test_the_wall_bound_stops_a_wait_when_the_vehicle_clock_stalls(
    fake: FakeVehicle, link: DroneLink
) -> None:
    fake.send_time(1_000)
    wait_until(link, lambda s: s.vehicle_time_s, timeout_s=5, what="clock")
    start = time.monotonic()
    with pytest.raises(WaitTimeout) as info:
        wait_until(link, in_guided, timeout_s=60, wall_timeout_s=0.3, what="GUIDED")
    assert 0.3 <= time.monotonic() - start < 1.5
    assert info.value.clock == "wall"


def test_without_a_vehicle_time_the_bound_is_wall_time(link: DroneLink) -> None:
    assert link.state.vehicle_time_s is None
    start = time.monotonic()
    with pytest.raises(WaitTimeout) as info:
        wait_until(link, in_guided, timeout_s=0.3, what="GUIDED")
    assert 0.3 <= time.monotonic() - start < 1.5
    assert info.value.clock == "wall"


def test_a_wait_can_go_on_through_a_reconnect(fake: FakeVehicle, link: DroneLink) -> None:
    seen: list[LinkStatus] = []

    def note(s: VehicleState) -> VehicleState | None:
        seen.append(s.link)
        return s if s.reconnects == 1 and s.connected else None

    fake.drop()
    state = wait_until(link, note, timeout_s=5, allow_lost=True, what="reconnected")
    assert state.link == LinkStatus.CONNECTED
    assert LinkStatus.LOST in seen


def test_a_lost_link_ends_a_wait_with_link_lost(fake: FakeVehicle, link: DroneLink) -> None:
    # the link stays lost: on a loaded machine it could otherwise reconnect before the wait
    # began, and the wait (rightly) go on
    fake.reject_connections = True
    fake.drop()
    with pytest.raises(LinkLost, match="while waiting for GUIDED"):
        wait_until(link, in_guided, timeout_s=30, what="GUIDED")


def test_hold_longer_than_timeout_is_refused(link: DroneLink) -> None:
    with pytest.raises(InputError):
        wait_until(link, in_guided, timeout_s=1, hold_for_s=2, what="GUIDED")
