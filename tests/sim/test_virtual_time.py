"""Timings against the recordings, in virtual time (independent of the machine's load)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any

import pytest

from tests.sim.test_auto import MISSION_START, StandInMission, recorded_mission, recorded_sequence
from tests.sim.test_boot import BANNER
from tests.sim.virtual import VirtualVehicle
from uav.sim.parts import PartFactories

STEP_S = 0.05  # the emulator's simulation step: events land on it
ARM, TAKEOFF, DO_SET_MODE = 400, 22, 176
GUIDED, RTL = 4, 6


@pytest.fixture
def virtual() -> Iterator[VirtualVehicle]:
    vehicle = VirtualVehicle()
    yield vehicle
    vehicle.close()


def flying(v: VirtualVehicle, height_m: float = 20.0) -> float:
    """Streams on, ready, GUIDED, armed, up to ``height_m``; returns the arming time."""
    v.mav.request_data_stream_send(1, 1, 0, 10, 1)
    v.run_until(43.0)
    assert v.command(DO_SET_MODE, 1, GUIDED).result == 0
    armed_at = v.t
    assert v.command(ARM, 1).result == 0
    assert v.command(TAKEOFF, 0, 0, 0, math.nan, 0, 0, height_m).result == 0
    v.run_until_true(
        lambda: v.latest("GLOBAL_POSITION_INT").relative_alt > (height_m - 0.05) * 1000,
        40,
        "take-off",
    )
    return armed_at


def test_boot_texts_at_the_recorded_times(
    virtual: VirtualVehicle, boot_trace: list[dict[str, Any]]
) -> None:
    virtual.run_until(45.0)
    recorded = [
        (e["t"], e["fields"]["text"])
        for e in boot_trace
        if e["type"] == "STATUSTEXT" and e["t"] < 45 and e["fields"]["text"] not in BANNER
    ]
    ours = [(t, m.text) for t, m in virtual.of_type("STATUSTEXT")]
    assert [text for _, text in ours] == [text for _, text in recorded]
    for (ours_t, text), (trace_t, _) in zip(ours, recorded, strict=True):
        assert ours_t == pytest.approx(trace_t, abs=STEP_S + 0.01), text


def test_heartbeat_schedule(virtual: VirtualVehicle) -> None:
    virtual.run_until(12.0)
    times = [t for t, _ in virtual.of_type("HEARTBEAT")]
    assert times[:4] == pytest.approx([1.01, 1.027, 2.01, 2.048], abs=0.015)
    regular = times[4:]
    assert [b - a for a, b in itertools.pairwise(regular)] == pytest.approx(
        [1.0] * (len(regular) - 1), abs=0.015
    )


def test_stream_rates_are_exact(virtual: VirtualVehicle) -> None:
    virtual.run_until(6.0)
    virtual.mav.request_data_stream_send(1, 1, 0, 4, 1)
    virtual.run_until(7.0)
    virtual.run_until(17.0)
    for kind in ("GLOBAL_POSITION_INT", "GPS_RAW_INT", "SYS_STATUS", "ATTITUDE", "VFR_HUD"):
        assert len(virtual.of_type(kind, 7.0)) == pytest.approx(40, abs=1), kind


def test_set_message_interval_rate_is_exact(virtual: VirtualVehicle) -> None:
    """boot.jsonl: after SET_MESSAGE_INTERVAL(33, 100000 us) GLOBAL_POSITION_INT comes at
    10 Hz while the rest of the 4 Hz stream (ATTITUDE) stays at 4 Hz."""
    virtual.run_until(6.0)
    virtual.mav.request_data_stream_send(1, 1, 0, 4, 1)
    virtual.run_until(7.0)
    virtual.mav.command_long_send(1, 1, 511, 0, 33, 100000, 0, 0, 0, 0, 0)
    virtual.run_until(8.0)
    virtual.run_until(18.0)
    assert len(virtual.of_type("GLOBAL_POSITION_INT", 8.0)) == pytest.approx(100, abs=1)
    assert len(virtual.of_type("ATTITUDE", 8.0)) == pytest.approx(40, abs=1)


def test_takeoff_spool_up_and_climb_as_recorded(
    virtual: VirtualVehicle, flight_trace: list[dict[str, Any]]
) -> None:
    """flight.jsonl: ARM 46.04, first climb (relative_alt > 0.1 m) 50.0, 30 m at ~63-65."""
    arm_t = next(
        e["t"]
        for e in flight_trace
        if e["type"] == "COMMAND_ACK" and e["fields"]["command"] == ARM and e["t"] > 40
    )
    lift_t = next(
        e["t"]
        for e in flight_trace
        if e["type"] == "GLOBAL_POSITION_INT"
        and e["t"] > arm_t
        and e["fields"]["relative_alt"] > 100
    )
    armed_at = flying(virtual, 30.0)
    ours = virtual.of_type("GLOBAL_POSITION_INT", armed_at)
    our_lift = next(t for t, m in ours if m.relative_alt > 100)
    assert our_lift - armed_at == pytest.approx(lift_t - arm_t, abs=0.6)
    assert min(m.vz for _, m in ours) == -250  # cm/s: WPNAV_SPEED_UP
    assert virtual.t - armed_at == pytest.approx(65 - arm_t, abs=3)


def test_rtl_disarms_2_1_s_after_touchdown(virtual: VirtualVehicle) -> None:
    flying(virtual)
    assert virtual.command(DO_SET_MODE, 1, RTL).result == 0
    virtual.run_until_true(lambda: not virtual.vehicle.ap.armed, 60, "disarm")
    virtual.run_for(1.1)
    hit = virtual.text_time("SIM Hit ground at")
    disarm = virtual.text_times("Disarming motors")[-1]
    assert disarm - hit == pytest.approx(2.1, abs=STEP_S)
    active = [(t, m.system_status) for t, m in virtual.of_type("HEARTBEAT", hit - 1.0)]
    standby_at = next(t for t, status in active if status == 3)
    assert hit + 1.5 <= standby_at <= hit + 2.6  # land detector, then the next HEARTBEAT


def test_disarm_delay_on_the_ground(virtual: VirtualVehicle) -> None:
    virtual.mav.request_data_stream_send(1, 1, 0, 4, 1)
    virtual.run_until(43.0)
    virtual.command(DO_SET_MODE, 1, GUIDED)
    armed_at = virtual.t
    assert virtual.command(ARM, 1).result == 0
    virtual.run_until_true(lambda: not virtual.vehicle.ap.armed, 15, "disarm")
    disarm = virtual.text_times("Disarming motors")[-1]
    assert disarm - armed_at == pytest.approx(10.0, abs=STEP_S + 0.05)


def test_auto_reaches_items_at_the_recorded_times(flight_trace: list[dict[str, Any]]) -> None:
    items = recorded_mission(flight_trace)
    parts = PartFactories(mission=lambda services: StandInMission(services, items))
    v = VirtualVehicle(step_s=0.02, parts=parts)
    try:
        v.mav.request_data_stream_send(1, 1, 0, 4, 1)
        v.run_until(43.0)
        v.command(DO_SET_MODE, 1, GUIDED)
        assert v.command(ARM, 1).result == 0
        start = v.t
        assert v.command(MISSION_START).result == 0
        v.run_until_true(lambda: not v.vehicle.ap.armed, 200, "the mission's end")
        ours = [(t - start, m.seq) for t, m in v.of_type("MISSION_ITEM_REACHED", start)]
        recorded = [
            (t, int(e.split()[1]))
            for t, e in recorded_sequence(flight_trace)
            if e.startswith("REACHED")
        ]
        assert [seq for _, seq in ours] == [seq for _, seq in recorded] == [1, 3, 4, 5, 6]
        for (ours_t, seq), (trace_t, _) in zip(ours, recorded, strict=True):
            assert ours_t == pytest.approx(trace_t, rel=0.1), seq
    finally:
        v.close()
