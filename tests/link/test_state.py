"""VehicleState from recorded SITL traffic: the vehicle's messages replayed through the parser
and :func:`apply_message`, checked against what the trace README and facts.json record."""

from __future__ import annotations

from typing import Any

import pytest

from tests.link.traces import facts, load, rx
from uav.link.state import VehicleState, apply_message
from uav.link.transport import mavlink
from uav.link.waits import VehicleClock, ready_to_arm


def replay(scenario: str, until_t: float = float("inf")) -> tuple[VehicleState, list[Any]]:
    """The state after the vehicle's recorded bytes up to ``until_t``, and (t, state) history."""
    parser = mavlink().MAVLink(None)
    parser.robust_parsing = True
    state = VehicleState()
    history: list[Any] = []
    for entry in rx(load(scenario)):
        if entry.t > until_t:
            break
        for msg in parser.parse_buffer(entry.raw) or []:
            state = apply_message(state, msg, wall_s=entry.t, target_system=1)
        history.append((entry.t, state))
    return state, history


def first_time(history: list[Any], predicate: Any) -> float:
    return next(t for t, s in history if predicate(s))


@pytest.fixture(scope="module")
def boot() -> tuple[VehicleState, list[Any]]:
    return replay("boot")


@pytest.fixture(scope="module")
def flight() -> tuple[VehicleState, list[Any]]:
    return replay("flight")


def test_boot_console_text_is_counted_and_skipped(boot: tuple[VehicleState, list[Any]]) -> None:
    state, _ = boot
    bad = [e for e in load("boot") if e.type == "BAD_DATA"]
    assert len(bad) == 25
    assert state.bad_data_count >= len(bad)
    assert state.rx_count == len(rx(load("boot"))) - len(bad)


def test_boot_heartbeat_fields(boot: tuple[VehicleState, list[Any]]) -> None:
    state, history = boot
    assert first_time(history, lambda s: s.system_status == 1) == pytest.approx(1.01, abs=0.01)
    assert first_time(history, lambda s: s.system_status == 3) == pytest.approx(3.02, abs=0.01)
    assert (state.mode_name, state.custom_mode, state.base_mode) == ("STABILIZE", 0, 81)
    assert state.armed is False
    assert state.vehicle_type == 2


def test_boot_gps_home_ekf_prearm_times(boot: tuple[VehicleState, list[Any]]) -> None:
    state, history = boot
    assert first_time(history, lambda s: s.gps_fix_type == 6) == pytest.approx(10.14, abs=0.01)
    assert state.satellites == 10
    assert first_time(history, lambda s: s.home is not None) == pytest.approx(20.02, abs=0.01)
    assert state.home is not None
    assert state.home.lat_deg == pytest.approx(23.1290999, abs=1e-9)
    assert state.home.lon_deg == pytest.approx(113.3240000, abs=1e-9)
    assert state.home.alt_amsl_m == pytest.approx(20.1, abs=1e-3)
    assert first_time(history, lambda s: s.prearm_ok is True) == pytest.approx(23.64, abs=0.01)
    assert first_time(history, lambda s: s.position_ok) == pytest.approx(41.65, abs=0.01)
    assert state.ekf_flags == 0x33F
    assert first_time(history, ready_to_arm) == pytest.approx(41.65, abs=0.01)
    assert state.fence_enabled is False


def test_boot_position_battery_and_texts(boot: tuple[VehicleState, list[Any]]) -> None:
    state, _ = boot
    assert state.lat_deg == pytest.approx(23.1291, abs=1e-6)
    assert state.lon_deg == pytest.approx(113.324, abs=1e-6)
    assert state.alt_amsl_m == pytest.approx(20.1, abs=0.5)
    assert state.alt_rel_m == pytest.approx(0.0, abs=0.5)
    assert state.battery_pct == 100
    assert state.voltage_v == pytest.approx(12.6, abs=0.1)
    texts = [t.text for t in state.statustexts]
    assert "EKF3 IMU0 is using GPS" in texts
    assert state.statustext_count > len(state.statustexts) - 1


def test_vehicle_clock_follows_time_boot_ms(boot: tuple[VehicleState, list[Any]]) -> None:
    state, history = boot
    # speed-up 1: the vehicle clock matches the transcript clock within 15 ms
    for t, s in history[500::500]:
        if s.vehicle_time_s is not None:
            assert s.vehicle_time_s == pytest.approx(t, abs=0.3)
    assert state.vehicle_time_s == pytest.approx(load("boot")[-1].t, abs=0.3)


def test_lat_lon_unknown_until_the_vehicle_reports_a_position() -> None:
    state, history = replay("boot", until_t=9.0)
    assert state.lat_deg is None and state.alt_rel_m is None
    assert any(s.groundspeed_mps is not None for _, s in history)


def test_flight_fence_breach_and_rtl(flight: tuple[VehicleState, list[Any]]) -> None:
    state, history = flight
    breach_t = first_time(history, lambda s: s.fence_breached is True)
    assert breach_t == pytest.approx(86.568, abs=0.01)
    at_breach = next(s for t, s in history if t >= breach_t)
    assert (at_breach.fence_breach_count, at_breach.fence_breach_type) == (1, 3)
    assert first_time(history, lambda s: s.mode_name == "RTL") == pytest.approx(86.603, abs=0.01)
    cleared = first_time(history, lambda s: s.fence_breached is False and s.fence_breach_count == 1)
    assert cleared == pytest.approx(95.93, abs=0.6)
    assert state.fence_enabled is True


def test_flight_arming_climb_and_mission_end(flight: tuple[VehicleState, list[Any]]) -> None:
    state, history = flight
    armed_t = first_time(history, lambda s: s.armed is True)
    assert 46.0 < armed_t < 47.1
    assert first_time(history, lambda s: s.system_status == 4) == pytest.approx(50.0, abs=0.1)
    assert first_time(history, lambda s: (s.alt_rel_m or 0) > 29.0) == pytest.approx(63, abs=2)
    # touchdown at the end of the AUTO run: MISSION_CURRENT seq 0, state 5 COMPLETE
    assert (state.mission_seq, state.mission_state, state.mission_total) == (0, 5, 6)
    assert state.armed is False
    assert state.mode_name == "STABILIZE"  # DO_SET_MODE at 257.05


def _event_matches(event: dict[str, Any], s: VehicleState) -> bool:
    kind = event["kind"]
    if kind in ("first_HEARTBEAT", "HEARTBEAT_change"):
        got = (s.custom_mode, s.base_mode, s.system_status)
        return got == (event["custom_mode"], event["base_mode"], event["system_status"])
    if kind == "SYS_STATUS_prearm_healthy":
        return s.prearm_ok is event["value"]
    if kind == "MISSION_CURRENT":
        got = (s.mission_seq, s.mission_total, s.mission_state)
        return got == (event["seq"], event["total"], event["mission_state"])
    if kind == "GPS_fix_type":
        return (s.gps_fix_type, s.satellites) == (event["fix_type"], event["sats"])
    if kind == "EKF_flags":
        return s.ekf_flags == int(event["flags"], 16)
    if kind == "FENCE_STATUS":
        got = (s.fence_breached, s.fence_breach_count, s.fence_breach_type)
        want = (bool(event["breach_status"]), event["breach_count"], event["breach_type"])
        return got == want
    assert kind == "HOME_POSITION"
    home = (event["lat"] / 1e7, event["lon"] / 1e7, event["alt"] / 1000)
    return s.home is not None and (s.home.lat_deg, s.home.lon_deg, s.home.alt_amsl_m) == home


STATE_EVENTS = {
    "first_HEARTBEAT",
    "HEARTBEAT_change",
    "SYS_STATUS_prearm_healthy",
    "MISSION_CURRENT",
    "GPS_fix_type",
    "EKF_flags",
    "FENCE_STATUS",
    "HOME_POSITION",
}


@pytest.mark.parametrize("scenario", ["boot", "mission", "fence", "flight"])
def test_every_recorded_state_event_shows_in_the_state(scenario: str) -> None:
    """Each change the recorder derived (facts.json events) is in the snapshot right after."""
    _, history = replay(scenario)
    events = [e for e in facts(scenario)["events"] if e["kind"] in STATE_EVENTS]
    assert len(events) > 5
    for event in events:
        # event times are rounded to the millisecond: the last state within that millisecond
        upto = [s for t, s in history if t <= event["t"] + 0.0006]
        assert upto and _event_matches(event, upto[-1]), event


def test_statustexts_keep_order_and_count(flight: tuple[VehicleState, list[Any]]) -> None:
    _, history = flight
    state = next(s for t, s in history if t > 4.16)
    arm_texts = [t.text for t in state.statustexts if t.text.startswith("Arm:")]
    assert arm_texts == [
        "Arm: Accels inconsistent",
        "Arm: EKF attitude is bad",
        "Arm: AHRS: waiting for home",
        "Arm: Fence requires position",
    ]
    assert [t.index for t in state.statustexts] == list(
        range(state.statustext_count - len(state.statustexts) + 1, state.statustext_count + 1)
    )
    mark = state.statustexts[-3].index
    assert state.texts_since(mark) == tuple(t.text for t in state.statustexts[-2:])


def test_messages_from_other_systems_are_ignored() -> None:
    mav = mavlink().MAVLink(None, srcSystem=7, srcComponent=1)
    beat = mav.heartbeat_encode(2, 3, 217, 4, 4, 3)
    beat.pack(mav)
    state = apply_message(VehicleState(), beat, wall_s=1.0, target_system=1)
    assert state == VehicleState()
    gimbal = mavlink().MAVLink(None, srcSystem=1, srcComponent=154)
    other = gimbal.heartbeat_encode(26, 8, 0, 0, 4, 3)
    other.pack(gimbal)
    assert apply_message(VehicleState(), other, wall_s=1.0, target_system=1).mode_name is None


def test_vehicle_clock_uses_vehicle_time_and_survives_a_reboot() -> None:
    clock = VehicleClock(VehicleState(vehicle_time_s=100.0))
    assert clock.elapsed_s(VehicleState(vehicle_time_s=130.0)) == pytest.approx(30.0)
    # the vehicle rebooted: its clock restarts, elapsed time keeps going
    assert clock.elapsed_s(VehicleState(vehicle_time_s=2.0)) == pytest.approx(30.0)
    assert clock.elapsed_s(VehicleState(vehicle_time_s=7.0)) == pytest.approx(35.0)
    assert clock.on_vehicle_time
