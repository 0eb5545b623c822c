"""VehicleState's velocity (north/east/down) and the vehicle's UTC, from the recorded flight:
the flight.jsonl messages replayed through :func:`apply_message`."""

from __future__ import annotations

import pytest

from tests.link.test_state import replay
from tests.link.traces import load, rx
from uav.link.state import VehicleState


def test_velocity_is_the_course_not_the_heading() -> None:
    # 75.03: target 130 m north; at 85 s the vehicle flies north at 10 m/s, level
    state, _ = replay("flight", until_t=85.1)
    assert state.vn_mps == pytest.approx(9.95, abs=0.02)
    assert state.ve_mps == pytest.approx(0.0, abs=0.02)
    assert state.vd_mps == pytest.approx(0.0, abs=0.02)
    assert state.groundspeed_mps == pytest.approx(state.vn_mps, abs=1e-9)
    # going home after the fence RTL: south, whatever way the nose points
    state, _ = replay("flight", until_t=97.1)
    assert state.vn_mps == pytest.approx(-8.95, abs=0.02)


def test_climb_shows_as_negative_velocity_down() -> None:
    _, history = replay("flight", until_t=64.0)
    climbing = [s for t, s in history if 52.0 < t < 60.0 and s.vd_mps is not None]
    assert climbing and min(s.vd_mps for s in climbing) < -2.0
    assert all(s.climb_mps == pytest.approx(-s.vd_mps) for s in climbing)


def test_vehicle_utc_is_none_until_gps_time_then_follows_the_clock() -> None:
    _, history = replay("flight", until_t=120.0)
    assert all(s.vehicle_unix_now_s is None for t, s in history if t < 9.0)
    entries = rx(load("flight"))
    # the snapshot right after each GLOBAL_POSITION_INT (HEARTBEATs carry no vehicle time)
    with_time = [
        (t, s)
        for (t, s), e in zip(history, entries, strict=False)
        if e.type == "GLOBAL_POSITION_INT" and s.vehicle_unix_now_s is not None
    ]
    assert len(with_time) > 100, "the vehicle never sent its UTC"
    # speed-up 1: vehicle UTC minus transcript time is a constant, between SYSTEM_TIMEs too
    offsets = [s.vehicle_unix_now_s - t for t, s in with_time]
    assert max(offsets) - min(offsets) < 0.05
    first = next(
        e for e in load("flight") if e.type == "SYSTEM_TIME" and e.fields["time_unix_usec"]
    )
    assert offsets[0] == pytest.approx(first.fields["time_unix_usec"] / 1e6 - first.t, abs=0.05)


def test_vehicle_utc_is_carried_forward_on_the_vehicle_clock() -> None:
    s = VehicleState(vehicle_unix_s=1_000.0, vehicle_unix_boot_s=50.0, vehicle_time_s=52.5)
    assert s.vehicle_unix_now_s == pytest.approx(1_002.5)
    rebooted = VehicleState(vehicle_unix_s=1_000.0, vehicle_unix_boot_s=50.0, vehicle_time_s=3.0)
    assert rebooted.vehicle_unix_now_s == pytest.approx(1_000.0)
    assert VehicleState(vehicle_time_s=3.0).vehicle_unix_now_s is None
