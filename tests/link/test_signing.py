"""MAVLink2 signing with a scripted vehicle that signs and verifies with pymavlink, as the
signing trace shows ArduPilot doing it (SETUP_SIGNING unanswered, then everything signed)."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

import pytest

from tests.link.conftest import FAST
from tests.link.fakevehicle import FakeVehicle
from tests.link.traces import TRACES, _tlog_packets, load, tx
from uav.link.commands import command_long, set_mode
from uav.link.connection import DroneLink
from uav.link.errors import SigningError, WaitTimeout
from uav.link.signing import disable_signing, enable_signing, generate_key
from uav.link.transport import mavlink, signing_timestamp
from uav.link.waits import wait_until

KEY = bytes.fromhex(
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
)  # the trace's


def poke(link: DroneLink) -> None:
    """Make the link send something now (it sends a HEARTBEAT only once a second)."""
    link.send(link.mav.heartbeat_encode(6, 8, 0, 0, 4))


def vehicle_signing(fake: FakeVehicle) -> None:
    """Answer SETUP_SIGNING as ArduPilot does: no reply; sign from now on (or stop)."""

    def setup(m: Any) -> list[Any]:
        if m.secret_key == bytes(32) and m.initial_timestamp == 0:
            fake.disable_signing()
        else:
            fake.enable_signing(bytes(m.secret_key), m.initial_timestamp)
        return [None]  # its next packet (a streaming vehicle sends one within milliseconds)

    fake.on("SETUP_SIGNING", setup)


def signed_by(key: bytes, msg: Any, timestamp: int) -> bytes:
    """``msg`` from the vehicle (1/1), signed with ``key``."""
    mav = mavlink().MAVLink(None, srcSystem=1, srcComponent=1)
    mav.signing.secret_key = key
    mav.signing.sign_outgoing = True
    mav.signing.timestamp = timestamp
    return bytes(msg.pack(mav))


def test_generate_key_is_32_random_bytes() -> None:
    keys = {generate_key() for _ in range(8)}
    assert len(keys) == 8 and all(len(k) == 32 for k in keys)


def test_signing_timestamp_units_match_the_recording() -> None:
    (entry,) = tx(load("signing"), "SETUP_SIGNING")[:1]
    (packet,) = [
        p for p in _tlog_packets(TRACES / "signing.tlog") if p.get_type() == "SETUP_SIGNING"
    ]
    assert signing_timestamp(packet._timestamp) == pytest.approx(
        entry.fields["initial_timestamp"],
        abs=100,  # 1 ms
    )


def test_enable_signing_then_everything_is_signed(fake: FakeVehicle, link: DroneLink) -> None:
    vehicle_signing(fake)
    before = time.time()
    enable_signing(link, KEY)
    setup = fake.wait_for(lambda m: m.get_type() == "SETUP_SIGNING")
    assert (setup.target_system, setup.target_component, bytes(setup.secret_key)) == (1, 1, KEY)
    assert (
        signing_timestamp(before) - 100 <= setup.initial_timestamp <= signing_timestamp(time.time())
    )
    assert not setup.get_signed()  # sent unsigned, as in the recording
    assert link.signing
    assert link.state.rx_signed is True
    start = len(fake.received)
    poke(link)
    beat = fake.wait_for(lambda m: m.get_type() == "HEARTBEAT", start=start, timeout_s=3)
    assert beat.get_signed()  # verified by the vehicle's parser with the key


def test_after_enabling_unsigned_or_wrongly_signed_packets_are_dropped(
    fake: FakeVehicle, link: DroneLink
) -> None:
    vehicle_signing(fake)
    enable_signing(link, KEY)
    bad_before = link.state.bad_data_count
    # a forged packet from far in the future must not make the genuine ones look like replays
    future = fake.mav.signing.timestamp + 10**9
    wrong = signed_by(b"\xa5" * 32, fake.statustext(2, "wrong key"), future)
    unsigned = bytes(fake.statustext(2, "unsigned").pack(mavlink().MAVLink(None, 1, 1)))
    fake.send(wrong, unsigned, fake.statustext(6, "right key"))
    state = wait_until(
        link,
        lambda s: s if s.statustexts and s.statustexts[-1].text == "right key" else None,
        timeout_s=5,
        what="the signed text",
    )
    texts = [t.text for t in state.statustexts]
    assert "wrong key" not in texts and "unsigned" not in texts
    assert state.bad_data_count >= bad_before + 2


def test_disable_signing(fake: FakeVehicle, link: DroneLink) -> None:
    vehicle_signing(fake)
    enable_signing(link, KEY)
    disable_signing(link)
    setup = fake.wait_for(lambda m: m.get_type() == "SETUP_SIGNING" and m.initial_timestamp == 0)
    assert bytes(setup.secret_key) == bytes(32)
    assert setup.get_signed()  # sent signed, so that every link of the vehicle takes it
    assert not link.signing
    assert link.state.rx_signed is False
    start = len(fake.received)
    poke(link)
    beat = fake.wait_for(lambda m: m.get_type() == "HEARTBEAT", start=start, timeout_s=3)
    assert not beat.get_signed()


def test_refusal_while_armed_raises_and_leaves_signing_off(
    fake: FakeVehicle, link: DroneLink
) -> None:
    fake.on(
        "SETUP_SIGNING", lambda m: [fake.statustext(4, "ERROR: Won't setup signing when armed")]
    )
    with pytest.raises(SigningError, match="Won't setup signing when armed"):
        enable_signing(link, KEY)
    assert not link.signing


def test_a_vehicle_that_does_not_start_signing(fake: FakeVehicle, link: DroneLink) -> None:
    with pytest.raises(SigningError, match=r"no signed packet from the vehicle within 0\.3 s"):
        enable_signing(link, KEY, timeout_s=0.3)
    assert not link.signing


def test_bad_keys_and_re_keying_are_refused(fake: FakeVehicle, link: DroneLink) -> None:
    for key in (b"short", bytes(32)):
        with pytest.raises(SigningError, match="32 bytes"):
            enable_signing(link, key)
    vehicle_signing(fake)
    enable_signing(link, KEY)
    with pytest.raises(SigningError, match="disable signing before"):
        enable_signing(link, generate_key())
    assert link.signing


def test_signing_survives_a_reconnect(fake: FakeVehicle, link: DroneLink) -> None:
    vehicle_signing(fake)
    enable_signing(link, KEY)
    fake.drop()
    wait_until(
        link, lambda s: s.reconnects == 1 and s.connected, timeout_s=5, allow_lost=True, what="back"
    )
    start = len(fake.received)
    poke(link)
    # the vehicle's parser keeps the stream's last timestamp: these would be refused as
    # replays if the new connection had started its timestamps again from "now"
    beat = fake.wait_for(lambda m: m.get_type() == "HEARTBEAT", start=start, timeout_s=3)
    assert beat.get_signed()
    assert link.state.rx_signed is True


def test_a_second_link_needs_the_key(fake: FakeVehicle) -> None:
    """Like SERIAL1 of a signing vehicle: unsigned commands are ignored, signed ones answered."""
    serial1 = FakeVehicle(channel0=False)
    serial1.greet = True
    serial1.enable_signing(KEY, signing_timestamp(time.time()))
    serial1.on(
        "COMMAND_LONG",
        lambda m: (
            [serial1.command_ack(176, 0), serial1.mav.heartbeat_encode(2, 3, 81, 2, 3, 3)]
            if m.command == 176
            else []
        ),
    )
    try:
        with DroneLink(serial1.url, FAST) as unsigned:
            with pytest.raises(WaitTimeout, match="COMMAND_ACK"):
                command_long(unsigned, 176, 1, 2, ack_timeout_s=0.2)
            assert serial1.sent_of("COMMAND_LONG") == []  # all dropped as badly signed
        with DroneLink(serial1.url, replace(FAST, signing_key=KEY)) as signed:
            assert set_mode(signed, "ALT_HOLD").mode_name == "ALT_HOLD"
    finally:
        serial1.close()


def test_the_key_is_never_logged_or_shown(
    fake: FakeVehicle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    vehicle_signing(fake)
    config = replace(FAST, signing_key=KEY)
    link = DroneLink(fake.url, replace(FAST))
    link.open()
    try:
        enable_signing(link, KEY)
        disable_signing(link)
        fake.on("SETUP_SIGNING", lambda m: [])  # this time the vehicle does not switch
        with pytest.raises(SigningError) as info:
            enable_signing(link, KEY, timeout_s=0.05)
    finally:
        link.close()
    shown = caplog.text + repr(link) + repr(config) + str(info.value) + repr(link.state)
    assert KEY.hex() not in shown
    assert repr(KEY) not in shown and str(KEY) not in shown
