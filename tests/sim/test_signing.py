"""MAVLink 2 signing over TCP (50x), as in signing.jsonl: SERIAL0 and SERIAL1."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.sim.conftest import GcsFactory, VehicleFactory
from tests.sim.gcs import Gcs
from tests.sim.test_flight import ARM, GUIDED, ready
from uav.sim import EmulatedVehicle

KEY = bytes(range(32))  # the recording's test key
WRONG_KEY = bytes([0xA5] * 32)
SIGNING_EPOCH = 1420070400
DO_SET_MODE, STABILIZE, ALT_HOLD = 176, 0, 2


def now_timestamp() -> int:
    return int((time.time() - SIGNING_EPOCH) * 100_000)


def signed(msg: Any) -> bool:
    return bool(msg._header.incompat_flags & 1)


def verify_with(gcs: Gcs, key: bytes) -> None:
    """Let the client check the vehicle's signatures (msg._signed) without refusing any."""
    gcs.parser.signing.secret_key = key
    gcs.parser.signing.allow_unsigned_callback = lambda *_: True


def sign_with(gcs: Gcs, key: bytes | None, link_id: int, timestamp: int) -> None:
    gcs.mav.signing.secret_key = key
    gcs.mav.signing.sign_outgoing = key is not None
    gcs.mav.signing.link_id = link_id
    gcs.mav.signing.timestamp = timestamp


def setup_signing(gcs: Gcs) -> int:
    """SETUP_SIGNING sent unsigned on SERIAL0 with the test key; returns its timestamp."""
    initial = now_timestamp()
    gcs.mav.setup_signing_send(1, 1, KEY, initial)
    return initial


@pytest.fixture
def two_links(
    make_vehicle: VehicleFactory, connect: GcsFactory
) -> tuple[Gcs, Gcs, EmulatedVehicle]:
    vehicle = make_vehicle()
    serial0 = connect(vehicle)
    serial0.run_until(4)
    serial1 = connect(vehicle, link=1)
    serial1.run_for(0.5)
    return serial0, serial1, vehicle


def test_setup_signing_signs_everything_on_both_links(two_links: tuple[Gcs, Gcs, Any]) -> None:
    serial0, serial1, _ = two_links
    for gcs in (serial0, serial1):
        verify_with(gcs, KEY)
    mark0, mark1 = serial0.mark(), serial1.mark()
    initial = setup_signing(serial0)
    serial0.run_for(3)
    serial1.run_for(0.1)
    first0 = serial0.received[mark0:]
    assert not [r for r in first0 if r.type == "COMMAND_ACK"]  # no reply
    assert not [r for r in first0 if r.type == "STATUSTEXT" and "sign" in r.msg.text.lower()]
    switch = next(i for i, r in enumerate(first0) if signed(r.msg))
    signed0 = [r.msg for r in first0[switch:]]
    assert all(signed(m) and m._signed for m in signed0)  # from then on, all signed
    later1 = [r.msg for r in serial1.received[mark1:]][1:]
    assert later1 and all(signed(m) and m._signed for m in later1)
    assert {m._link_id for m in signed0} == {0}
    assert {m._link_id for m in later1} == {1}
    stamps = [_timestamp(m) for m in signed0]
    assert stamps[0] == initial + 6_000_000  # 60 s ahead of the key's timestamp
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert stamps[:5] == list(range(stamps[0], stamps[0] + 5))  # +1 per packet


def test_second_link_needs_a_good_signature_channel0_does_not(
    two_links: tuple[Gcs, Gcs, Any],
) -> None:
    serial0, serial1, _ = two_links
    verify_with(serial0, KEY)
    setup_signing(serial0)
    serial0.run_for(1)
    vehicle_stamp = max(_timestamp(r.msg) for r in serial0.received if signed(r.msg))
    serial1.run_for(0.5)

    def alt_hold_on_serial1() -> Any:
        mark = serial1.mark()
        serial1.mav.command_long_send(1, 1, DO_SET_MODE, 0, 1, ALT_HOLD, 0, 0, 0, 0, 0)
        serial1.run_for(1.5)
        return [r.msg for r in serial1.received[mark:] if r.type == "COMMAND_ACK"]

    assert alt_hold_on_serial1() == []  # unsigned: silently ignored
    sign_with(serial1, WRONG_KEY, 1, vehicle_stamp)
    assert alt_hold_on_serial1() == []  # wrong key: silently ignored
    assert serial0.latest("HEARTBEAT").custom_mode == STABILIZE
    sign_with(serial1, KEY, 1, vehicle_stamp + 10)
    acks = alt_hold_on_serial1()
    assert [a.result for a in acks] == [0]
    serial0.wait_for("HEARTBEAT", lambda m: m.custom_mode == ALT_HOLD, 1.5, after=0)
    ack = serial0.set_mode(STABILIZE)  # unsigned on channel 0: accepted
    assert ack.result == 0
    sign_with(serial1, None, 1, 0)
    assert alt_hold_on_serial1() == []


def test_stale_new_stream_is_refused(two_links: tuple[Gcs, Gcs, Any]) -> None:
    serial0, serial1, _ = two_links
    setup_signing(serial0)
    serial0.run_for(1)
    sign_with(serial1, KEY, 1, now_timestamp() - 7_000_000)  # 70 s behind the vehicle
    mark = serial1.mark()
    serial1.mav.command_long_send(1, 1, DO_SET_MODE, 0, 1, ALT_HOLD, 0, 0, 0, 0, 0)
    serial1.run_for(1.5)
    assert [r for r in serial1.received[mark:] if r.type == "COMMAND_ACK"] == []


def test_all_zero_key_turns_signing_off(two_links: tuple[Gcs, Gcs, Any]) -> None:
    serial0, serial1, _ = two_links
    verify_with(serial0, KEY)
    setup_signing(serial0)
    serial0.run_for(1)
    stamp = max(_timestamp(r.msg) for r in serial0.received if signed(r.msg))
    sign_with(serial1, KEY, 1, stamp + 1)
    serial1.mav.setup_signing_send(1, 1, bytes(32), 0)
    serial1.run_for(1)
    sign_with(serial1, None, 1, 0)
    mark = serial0.mark()
    serial0.run_for(2)
    later = [r.msg for r in serial0.received[mark:]]
    assert later and not any(signed(m) for m in later)
    assert serial1.set_mode(ALT_HOLD).result == 0  # unsigned accepted again on SERIAL1


def test_signing_refused_while_armed(make_vehicle: VehicleFactory, connect: GcsFactory) -> None:
    gcs = connect(make_vehicle(speedup=100))
    ready(gcs)
    gcs.set_mode(GUIDED)
    assert gcs.command(ARM, 1).result == 0
    since = gcs.vtime()
    setup_signing(gcs)
    gcs.run_for(1)
    assert "ERROR: Won't setup signing when armed" in gcs.texts_since(since)
    assert not any(signed(m) for m in gcs.since(since))


def _timestamp(msg: Any) -> int:
    return int.from_bytes(bytes(msg._msgbuf[-12:-6]), "little")
