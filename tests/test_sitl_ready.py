"""The readiness wait and the forced disarm, against recorded SITL sessions replayed over TCP."""

from __future__ import annotations

import time

import pytest

from uav.errors import InputError
from uav.sitl.errors import SitlError, SitlTimeout
from uav.sitl.ports import connect_url, ports_for
from uav.sitl.ready import ReadyState, force_disarm, parse_tcp_url, wait_ready
from uav.sitl.ready_link import link_layer

from .test_sitl_replay import ReplayVehicle, needs_traces, received_messages

pytestmark = needs_traces
SPEEDUP = 100.0


@pytest.fixture(params=["pymavlink", "link"])
def via(request: pytest.FixtureRequest) -> str:
    """Both readiness clients: uav.sitl's own, and the link layer (once installed)."""
    if request.param == "link" and link_layer() is None:
        pytest.skip("uav.link is not installed yet")
    return str(request.param)


def test_boot_is_ready_when_the_ekf_uses_gps(free_instance: int, via: str) -> None:
    seen: list[ReadyState] = []
    with ReplayVehicle("boot", ports_for(free_instance)[0], speedup=SPEEDUP) as vehicle:
        state = wait_ready(
            connect_url(free_instance), speedup=SPEEDUP, on_progress=seen.append, via=via
        )
    # boot trace: GPS fix 6 with 10 sats at 10.14 s, EKF flags 0xa7 -> 0x33f at 41.65 s
    assert state.ready and state.heartbeat and state.armed is False
    assert (state.fix_type, state.satellites, state.ekf_flags) == (6, 10, 0x33F)
    assert state.vehicle_time_s is not None and 41.0 <= state.vehicle_time_s <= 43.0
    assert any(s.gps_ok and s.ekf_flags == 0xA7 and not s.ekf_ok for s in seen)
    sent = received_messages(bytes(vehicle.received))
    gcs = [m for m in sent if m.get_type() == "HEARTBEAT"]
    assert gcs and all(
        (m.type, m.get_srcSystem(), m.get_srcComponent()) == (6, 255, 190) for m in gcs
    )


def test_missing_messages_are_requested_once(free_instance: int) -> None:
    # In the boot trace GPS_RAW_INT and EKF_STATUS_REPORT only flow after a stream request.
    with ReplayVehicle("boot", ports_for(free_instance)[0], speedup=SPEEDUP) as vehicle:
        wait_ready(connect_url(free_instance), speedup=SPEEDUP, via="pymavlink")
    requests = [
        m
        for m in received_messages(bytes(vehicle.received))
        if m.get_type() == "COMMAND_LONG" and m.command == 511
    ]
    asked = [int(m.param1) for m in requests]
    # Each missing message is asked for at most once, and only those the wait needs. How many
    # are asked depends on timing: the replay also starts them on its own recorded schedule.
    assert len(asked) == len(set(asked)) and set(asked) <= {24, 193}
    assert all((m.target_system, m.target_component) == (1, 1) for m in requests)


def test_not_ready_in_time_raises_with_the_last_state(free_instance: int, via: str) -> None:
    port = ports_for(free_instance)[0]
    with (
        ReplayVehicle("boot", port, speedup=50, until_s=35, loop_tail_s=None),
        pytest.raises(SitlTimeout, match="not ready") as caught,
    ):
        wait_ready(connect_url(free_instance), speedup=50, timeout_vehicle_s=25, via=via)
    last = caught.value.last_seen
    assert isinstance(last, ReadyState)
    assert last.gps_ok and last.ekf_flags == 0xA7 and not last.ready
    # 25 s of vehicle time: from boot (pymavlink), or from the first vehicle time the link
    # layer saw (5.6 s, when the streams start); never early, and before the replay ends (35 s)
    assert last.vehicle_time_s is not None and 25 < last.vehicle_time_s < 34


def test_wall_clock_backstop_when_the_vehicle_goes_quiet(free_instance: int, via: str) -> None:
    port = ports_for(free_instance)[0]
    start = time.monotonic()
    with (
        ReplayVehicle("boot", port, speedup=50, until_s=3, loop_tail_s=None),
        pytest.raises(SitlTimeout) as caught,
    ):
        wait_ready(
            connect_url(free_instance),
            speedup=50,
            timeout_vehicle_s=5,
            connect_timeout_s=0.5,
            via=via,
        )
    # backstop: 5 vehicle s / 50 x 3 + 0.5 s = 0.8 s wall; the vehicle went quiet at 3 s
    assert 0.75 < time.monotonic() - start < 3
    last = caught.value.last_seen
    assert isinstance(last, ReadyState) and last.heartbeat and last.fix_type is None


def test_a_dead_process_ends_the_wait_at_once(free_instance: int, via: str) -> None:
    start = time.monotonic()
    with pytest.raises(SitlError, match="exited before listening"):
        wait_ready(connect_url(free_instance), speedup=1, is_alive=lambda: False, via=via)
    assert time.monotonic() - start < 1


def test_nothing_listening_is_a_bounded_timeout(free_instance: int, via: str) -> None:
    start = time.monotonic()
    with pytest.raises(SitlTimeout, match="nothing listening"):
        wait_ready(connect_url(free_instance), speedup=1, connect_timeout_s=0.3, via=via)
    assert time.monotonic() - start < 2


def test_force_disarm_returns_once_a_heartbeat_shows_disarmed(free_instance: int) -> None:
    with ReplayVehicle("boot", ports_for(free_instance)[0], speedup=SPEEDUP):
        state = force_disarm(connect_url(free_instance), timeout_s=5)
    assert state.heartbeat and state.armed is False


def test_force_disarm_keeps_asking_then_times_out(free_instance: int) -> None:
    # flight trace: armed from 46.04 s; the replay ignores the command, so it stays armed
    port = ports_for(free_instance)[0]
    with (
        ReplayVehicle("flight", port, speedup=10, from_s=47, until_s=60) as vehicle,
        pytest.raises(SitlTimeout, match="not disarmed") as caught,
    ):
        force_disarm(connect_url(free_instance), timeout_s=0.8)
    last = caught.value.last_seen
    assert isinstance(last, ReadyState) and last.armed is True
    disarms = [
        m
        for m in received_messages(bytes(vehicle.received))
        if m.get_type() == "COMMAND_LONG" and m.command == 400
    ]
    assert len(disarms) >= 2 and all((m.param1, m.param2) == (0, 21196) for m in disarms)


@pytest.mark.parametrize("url", ["udp:127.0.0.1:5760", "tcp:127.0.0.1", "tcp:h:99999", "x"])
def test_simulator_urls_are_tcp(url: str) -> None:
    with pytest.raises(InputError):
        parse_tcp_url(url)
