"""DroneLink over a real localhost TCP socket to a scripted vehicle: opening, what it asks
for, the recorded boot stream, link loss, reconnecting and closing."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import replace
from typing import Any

import pytest

from tests.link.conftest import FAST, decode
from tests.link.fakevehicle import FakeVehicle
from tests.link.test_state import replay
from tests.link.traces import load, rx
from uav.link.connection import DroneLink
from uav.link.errors import ConnectFailed, LinkLost
from uav.link.state import LinkStatus, VehicleState
from uav.link.waits import wait_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_link(link: DroneLink, status: LinkStatus, timeout_s: float = 5.0) -> VehicleState:
    return wait_until(
        link,
        lambda s: s if s.link == status else None,
        timeout_s=timeout_s,
        wall_timeout_s=timeout_s,
        what=f"link {status}",
        allow_lost=True,
    )


def test_open_identifies_as_a_gcs_and_asks_for_telemetry(
    fake: FakeVehicle, link: DroneLink
) -> None:
    beat = fake.wait_for(lambda m: m.get_type() == "HEARTBEAT")
    assert (beat.get_srcSystem(), beat.get_srcComponent()) == (255, 190)
    assert (beat.type, beat.autopilot, beat.base_mode, beat.custom_mode) == (6, 8, 0, 0)
    assert beat.system_status == 4
    streams = fake.wait_for(lambda m: m.get_type() == "REQUEST_DATA_STREAM")
    assert (streams.target_system, streams.target_component) == (1, 1)
    assert (streams.req_stream_id, streams.req_message_rate, streams.start_stop) == (0, 4, 1)
    home = fake.wait_for(lambda m: m.get_type() == "COMMAND_LONG" and m.command == 512)
    assert home.param1 == 242
    state = link.state
    assert state.link == LinkStatus.CONNECTED
    assert (state.system_id, state.mode_name, state.system_status) == (1, "STABILIZE", 3)


def test_everything_sent_is_mavlink2(fake: FakeVehicle, link: DroneLink) -> None:
    fake.wait_for(lambda m: m.get_type() == "COMMAND_LONG")
    assert fake.received
    assert all(m.get_msgbuf()[0] == 0xFD for m in fake.received)


def test_dronekit_vehicle_attributes_follow_the_same_connection(
    fake: FakeVehicle, link: DroneLink
) -> None:
    fake.send(fake.mav.heartbeat_encode(2, 3, 217, 4, 4, 3))
    wait_until(link, lambda s: s.armed, timeout_s=2, what="armed")
    vehicle = link.vehicle
    assert vehicle.mode.name == "GUIDED"
    assert vehicle.armed is True
    assert vehicle._master is link.vehicle._master


def test_open_skips_console_text_and_follows_the_boot_recording(fake: FakeVehicle) -> None:
    """The recorded boot bytes, console text included, streamed to a live link."""
    entries = rx(load("boot"))
    fake.answer_heartbeats = False
    link = DroneLink(fake.url, FAST)
    opener = threading.Thread(target=link.open)
    opener.start()
    try:
        fake.wait_for(lambda m: m.get_type() == "HEARTBEAT")
        fake.send(*(e.raw for e in entries), fake.statustext(6, "end of replay"))
        opener.join(5)
        want, _ = replay("boot")
        got = wait_until(
            link,
            lambda s: s if s.statustexts[-1].text == "end of replay" else None,
            timeout_s=1e6,  # the recording moves the vehicle clock by a minute
            wall_timeout_s=10,
            what="the whole recording",
        )
        fields = ("gps_fix_type", "satellites", "home", "ekf_flags", "prearm_ok", "mode_name")
        assert {f: getattr(got, f) for f in fields} == {f: getattr(want, f) for f in fields}
        assert got.vehicle_time_s == want.vehicle_time_s
        # no packet lost to the console text: all but those before the first HEARTBEAT (the
        # link learns the vehicle's system id from it) were applied
        before = decode([e for e in entries if e.t < 1.01])
        assert got.rx_count == want.rx_count - len(before) + 1  # + "end of replay"
        assert got.bad_data_count > 0
    finally:
        link.close()


def test_open_fails_fast_and_quietly_when_nothing_listens(
    capsys: pytest.CaptureFixture[str],
) -> None:
    link = DroneLink(f"tcp:127.0.0.1:{free_port()}", FAST)
    start = time.monotonic()
    with pytest.raises(ConnectFailed, match="cannot connect"):
        link.open()
    assert time.monotonic() - start < 1.0
    assert link.state.link == LinkStatus.FAILED
    assert capsys.readouterr().out == ""  # pymavlink would print "... sleeping" and retry
    link.close()


def test_open_fails_without_a_heartbeat(fake: FakeVehicle) -> None:
    fake.answer_heartbeats = False
    link = DroneLink(fake.url, replace(FAST, connect_timeout_s=0.3))
    with pytest.raises(ConnectFailed, match=r"no HEARTBEAT from the vehicle within 0\.3 s"):
        link.open()
    link.close()


def test_link_loss_is_seen_at_once_and_the_link_reconnects(
    fake: FakeVehicle, link: DroneLink, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.wait_for(lambda m: m.get_type() == "REQUEST_DATA_STREAM")
    before = len(fake.received)
    start = time.monotonic()
    fake.drop()
    lost = wait_link(link, LinkStatus.LOST, timeout_s=2)
    assert time.monotonic() - start < 1.0  # EOF, not the heartbeat timeout
    assert "closed the TCP connection" in lost.link_detail
    state = wait_link(link, LinkStatus.CONNECTED)
    assert state.reconnects == 1
    assert fake.connections == 2
    # streams are asked for again on the new connection
    fake.wait_for(lambda m: m.get_type() == "REQUEST_DATA_STREAM", start=before)
    assert capsys.readouterr().out == ""  # pymavlink's "EOF on TCP socket" spam is gone


def test_silent_vehicle_is_lost_after_the_heartbeat_timeout(fake: FakeVehicle) -> None:
    link = DroneLink(fake.url, replace(FAST, heartbeat_timeout_s=0.5, reconnect_attempts=1))
    link.open()
    try:
        fake.answer_heartbeats = False
        fake.reject_connections = True
        lost = wait_link(link, LinkStatus.LOST, timeout_s=3)
        assert "no HEARTBEAT for 0.5 s" in lost.link_detail
        failed = wait_link(link, LinkStatus.FAILED, timeout_s=3)
        assert "gave up after 1 attempts" in failed.link_detail
    finally:
        link.close()


def test_after_giving_up_commands_and_waits_raise_link_lost(
    fake: FakeVehicle, link: DroneLink
) -> None:
    fake.reject_connections = True
    fake.drop()
    wait_link(link, LinkStatus.FAILED)
    with pytest.raises(LinkLost, match="the link is failed"):
        link.send(link.mav.heartbeat_encode(6, 8, 0, 0, 4))
    with pytest.raises(LinkLost):
        wait_until(link, lambda s: s.armed, timeout_s=5, what="armed")
    with link.subscribe("COMMAND_ACK") as sub, pytest.raises(LinkLost):
        sub.get(1.0)


def test_a_wait_in_progress_raises_link_lost_when_the_link_drops(
    fake: FakeVehicle, link: DroneLink
) -> None:
    fake.reject_connections = True
    errors: list[BaseException] = []

    def waiter() -> None:
        try:
            wait_until(link, lambda s: s.armed, timeout_s=30, what="armed")
        except LinkLost as exc:
            errors.append(exc)

    thread = threading.Thread(target=waiter)
    thread.start()
    fake.drop()
    thread.join(5)
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], LinkLost)
    assert errors[0].last_state is not None


def test_close_is_bounded_and_idempotent(fake: FakeVehicle) -> None:
    link = DroneLink(fake.url, FAST)
    link.open()
    start = time.monotonic()
    link.close()
    link.close()
    assert time.monotonic() - start < 1.0
    assert link.state.link == LinkStatus.CLOSED
    with pytest.raises(LinkLost):
        link.send(link.mav.heartbeat_encode(6, 8, 0, 0, 4))


def test_close_while_reconnecting(fake: FakeVehicle) -> None:
    link = DroneLink(fake.url, replace(FAST, reconnect_attempts=50, reconnect_delay_s=0.1))
    link.open()
    fake.reject_connections = True
    fake.drop()
    wait_link(link, LinkStatus.LOST)
    start = time.monotonic()
    link.close()
    assert time.monotonic() - start < 1.0
    assert link.state.link == LinkStatus.CLOSED


def test_close_of_a_link_never_opened() -> None:
    DroneLink("tcp:127.0.0.1:9").close()


def test_telemetry_is_asked_for_again_when_none_comes(fake: FakeVehicle) -> None:
    link = DroneLink(fake.url, replace(FAST, stream_check_s=0.2))
    link.open()
    try:
        first = fake.wait_for(lambda m: m.get_type() == "REQUEST_DATA_STREAM")
        index = fake.received.index(first)
        fake.wait_for(lambda m: m.get_type() == "REQUEST_DATA_STREAM", timeout_s=3, start=index + 1)
    finally:
        link.close()


def test_message_listeners_and_subscriptions(fake: FakeVehicle, link: DroneLink) -> None:
    seen: list[Any] = []
    link.add_message_listener(lambda _link, msg: seen.append(msg.get_type()))
    with link.subscribe("STATUSTEXT") as texts:
        fake.send(fake.statustext(6, "hello"), fake.command_ack(400, 0))
        msg = texts.get(2.0)
        assert msg is not None and msg.text == "hello"
        assert texts.get(0.05) is None  # COMMAND_ACK is not what it asked for
    wait_until(link, lambda s: s.statustext_count >= 1, timeout_s=2, what="text")
    assert "STATUSTEXT" in seen and "COMMAND_ACK" in seen


def test_target_system_is_learned_from_the_vehicle_heartbeat() -> None:
    fake = FakeVehicle(sysid=7)
    try:
        with DroneLink(fake.url, FAST) as link:
            assert link.target_system == 7
            streams = fake.wait_for(lambda m: m.get_type() == "REQUEST_DATA_STREAM")
            assert streams.target_system == 7
            assert link.state.system_id == 7
    finally:
        fake.close()
