"""Commands, modes, parameters and requested messages over TCP (50x), against the traces."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import pytest

from tests.sim.conftest import GcsFactory, VehicleFactory
from tests.sim.gcs import Gcs
from uav.sim import EmulatedVehicle

ARM, DO_SET_MODE, REQUEST_MESSAGE = 400, 176, 512
GET_INTERVAL, SET_INTERVAL, CAPABILITIES = 510, 511, 520
STABILIZE, ALT_HOLD, GUIDED = 0, 2, 4


def booted(gcs: Gcs, until_s: float = 4.0) -> Gcs:
    gcs.run_until(until_s)
    return gcs


def test_arm_refused_before_ekf_with_the_recorded_texts(
    flight_trace: list[dict[str, Any]], make_vehicle: VehicleFactory, connect: GcsFactory
) -> None:
    """flight.jsonl 4.0-4.15 s: fence parameters set, then ARM -> ACK 4 and four texts."""
    recorded = [
        e["fields"]["text"]
        for e in flight_trace
        if e["type"] == "STATUSTEXT" and e["fields"]["text"].startswith("Arm:")
    ]
    gcs = booted(connect(make_vehicle()))
    for name, value in (("FENCE_TYPE", 7), ("FENCE_ACTION", 1), ("FENCE_ENABLE", 1)):
        gcs.mav.param_set_send(1, 1, name.encode(), value, 2)
    gcs.wait_for("PARAM_VALUE", lambda m: m.param_id == "FENCE_ENABLE")
    since = gcs.vtime()
    ack = gcs.command(ARM, 1)
    assert ack.result == 4
    gcs.run_for(0.5)
    texts = gcs.since(since, "STATUSTEXT")[: len(recorded)]
    assert [m.text for m in texts] == recorded
    assert {m.severity for m in texts} == {2}
    assert gcs.received.index(next(r for r in gcs.received if r.msg is ack)) < gcs.received.index(
        next(r for r in gcs.received if r.msg is texts[0])
    )  # the ACK comes first


def test_do_set_mode_ack_and_heartbeat_quirk(gcs: Gcs) -> None:
    booted(gcs)
    mark = gcs.mark()
    ack = gcs.set_mode(GUIDED)
    assert (ack.result, ack.target_system, ack.target_component) == (0, 255, 190)
    hb = gcs.wait_for("HEARTBEAT", lambda m: m.custom_mode == GUIDED, 0.2, after=mark)
    assert hb.base_mode == 89
    gcs.run_for(1.5)
    mark = gcs.mark()
    assert gcs.set_mode(STABILIZE).result == 0
    immediate = gcs.wait_for("HEARTBEAT", lambda m: m.custom_mode == STABILIZE, 0.2, after=mark)
    assert immediate.base_mode == 89  # still GUIDED_ENABLED when sent at once
    regular = gcs.wait_for("HEARTBEAT", timeout_s=1.2, after=gcs.mark())
    assert (regular.custom_mode, regular.base_mode) == (STABILIZE, 81)


def test_unknown_mode_refused_by_command_and_message(gcs: Gcs) -> None:
    booted(gcs)
    since = gcs.vtime()
    assert gcs.set_mode(99).result == 4
    gcs.mav.set_mode_send(1, 1, 99)
    gcs.run_for(1.5)
    assert gcs.texts_since(since).count("No such mode 99") == 2
    assert [m.result for m in gcs.since(since, "COMMAND_ACK")] == [4]  # SET_MODE: no ACK
    assert gcs.latest("HEARTBEAT").custom_mode == STABILIZE


def test_set_mode_message_changes_mode_without_ack(gcs: Gcs) -> None:
    booted(gcs)
    since, mark = gcs.vtime(), gcs.mark()
    gcs.mav.set_mode_send(1, 1, ALT_HOLD)
    gcs.wait_for("HEARTBEAT", lambda m: m.custom_mode == ALT_HOLD, 0.3, after=mark)
    gcs.run_for(1.0)
    assert gcs.since(since, "COMMAND_ACK") == []


def test_every_copter_mode_accepted_while_disarmed(gcs: Gcs) -> None:
    booted(gcs)
    for mode in (0, 1, 2, 3, 4, 5, 6, 7, 9, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21):
        assert gcs.set_mode(mode).result == 0, mode
    assert gcs.set_mode(8).result == 4


def test_ack_goes_to_the_sender_only(vehicle: EmulatedVehicle, connect: GcsFactory) -> None:
    serial0 = booted(connect(vehicle))
    serial1 = connect(vehicle, link=1, compid=191)
    ack = serial1.command(REQUEST_MESSAGE, 148)
    assert (ack.target_system, ack.target_component) == (255, 191)
    serial0.run_for(0.5)
    assert serial0.since(0, "COMMAND_ACK") == []


def test_unknown_command_is_unsupported(gcs: Gcs) -> None:
    booted(gcs)
    assert gcs.command(31000, 1).result == 3


def test_autopilot_version_as_recorded(boot_trace: list[dict[str, Any]], gcs: Gcs) -> None:
    recorded = next(e["fields"] for e in boot_trace if e["type"] == "AUTOPILOT_VERSION")
    booted(gcs)
    for cmd, param1 in ((REQUEST_MESSAGE, 148), (CAPABILITIES, 1)):
        since, mark = gcs.vtime(), gcs.mark()
        assert gcs.command(cmd, param1).result == 0
        version = gcs.wait_for("AUTOPILOT_VERSION", after=mark)
        replies = gcs.since(since, ("COMMAND_ACK", "AUTOPILOT_VERSION"))
        assert replies[0].get_type() == "COMMAND_ACK"  # the ACK first
        assert version.capabilities == recorded["capabilities"] == 0xFBEF
        assert version.flight_sw_version == recorded["flight_sw_version"] == 0x04070000
        assert bytes(version.flight_custom_version).hex() == recorded["flight_custom_version"]
        assert bytes(version.uid2).hex() == recorded["uid2"]
        assert (version.board_version, version.vendor_id, version.product_id, version.uid) == (
            0,
            0,
            0,
            0,
        )


def test_message_intervals(gcs: Gcs) -> None:
    booted(gcs)
    gcs.request_streams(4)
    gcs.run_for(1)
    for msg_id in (33, 30, 246):
        since = gcs.vtime()
        assert gcs.command(GET_INTERVAL, msg_id).result == 0
        replies = gcs.since(since, ("MESSAGE_INTERVAL", "COMMAND_ACK"))
        assert replies[0].get_type() == "MESSAGE_INTERVAL"  # before the ACK, as recorded
        assert (replies[0].message_id, replies[0].interval_us) == (msg_id, 250000)
    assert gcs.command(SET_INTERVAL, 33, 100000).result == 0
    # The exact 10 Hz / 4 Hz rates are checked in virtual time (test_virtual_time.py), where
    # the machine's load cannot starve the vehicle thread; here the protocol round trip.
    gcs.command(GET_INTERVAL, 33)
    assert gcs.latest("MESSAGE_INTERVAL").interval_us == 100000
    gcs.command(SET_INTERVAL, 33, -1)
    gcs.command(GET_INTERVAL, 33)
    assert gcs.latest("MESSAGE_INTERVAL").interval_us == -1
    assert gcs.command(SET_INTERVAL, 33, 0).result == 0
    gcs.command(GET_INTERVAL, 33)
    assert gcs.latest("MESSAGE_INTERVAL").interval_us == 250000


def test_request_data_stream_sets_mav1_params_in_ram(gcs: Gcs) -> None:
    """boot.facts: after ALL at 4 Hz, MAV1_* read back 4 except MAV1_PARAMS (0)."""
    booted(gcs)
    since = gcs.vtime()
    gcs.request_streams(4)
    gcs.run_for(1)
    assert [m for m in gcs.since(since, "PARAM_VALUE")] == []
    for name, value in (("MAV1_RAW_SENS", 4), ("MAV1_ADSB", 4), ("MAV1_PARAMS", 0)):
        gcs.mav.param_request_read_send(1, 1, name.encode(), -1)
        reply = gcs.wait_for("PARAM_VALUE", lambda m, n=name: m.param_id == n)
        assert reply.param_value == value
    assert gcs.request_streams(0) is None
    gcs.run_for(1)
    assert not [r for r in gcs.run_for(2) if r.type == "ATTITUDE"]


def test_stream_rate_params_drive_the_streams(
    make_vehicle: VehicleFactory, connect: GcsFactory, tmp_path: Path
) -> None:
    parm = tmp_path / "streams.parm"
    parm.write_text("MAV1_EXTRA2 2\n")
    gcs = connect(make_vehicle(defaults=[parm]))
    gcs.run_until(3)
    first = gcs.since(0, "VFR_HUD")
    assert first and min(r.vtime_s for r in gcs.received if r.type == "VFR_HUD") > 1.0
    huds = [r for r in gcs.run_for(5) if r.type == "VFR_HUD"]
    assert len(huds) == pytest.approx(10, abs=1)  # 2 Hz from the .parm file
    gcs.mav.param_set_send(1, 1, b"MAV1_EXTRA2", 4, 4)
    gcs.run_for(1)
    huds = [r for r in gcs.run_for(5) if r.type == "VFR_HUD"]
    assert len(huds) == pytest.approx(20, abs=1)  # 4 Hz after PARAM_SET
    assert not [r for r in gcs.received if r.type == "ATTITUDE"]


def test_param_list_is_complete_and_as_recorded(boot_trace: list[dict[str, Any]], gcs: Gcs) -> None:
    recorded = [
        e["fields"]
        for e in boot_trace
        if e["type"] == "PARAM_VALUE" and e["fields"]["param_index"] != 65535
    ]
    booted(gcs)
    since = gcs.vtime()
    gcs.mav.param_request_list_send(1, 1)
    gcs.wait_until(
        lambda: len([m for m in gcs.since(since, "PARAM_VALUE") if m.param_index != 65535]) >= 1333,
        timeout_s=5,
        what="1333 PARAM_VALUEs",
    )
    ours = [m for m in gcs.since(since, "PARAM_VALUE") if m.param_index != 65535]
    assert [m.param_index for m in ours] == list(range(1333))
    for mine, theirs in zip(ours, recorded, strict=True):
        assert (mine.param_id, mine.param_type, mine.param_count) == (
            theirs["param_id"],
            theirs["param_type"],
            1333,
        )
        if not theirs["param_id"].startswith(("STAT_", "INS_", "BARO")):
            assert mine.param_value == pytest.approx(theirs["param_value"], rel=1e-6)
    banner = gcs.texts_since(since)[:3]
    assert banner == [
        "ArduCopter V4.7.0-dev (2598e9d4)",
        "3d1219c7c4c5404aaa1f6d2a48adfda4",
        "Frame: QUAD/PLUS",
    ]


def test_param_read_by_name_and_index_and_read_pacing(
    make_vehicle: VehicleFactory, connect: GcsFactory
) -> None:
    gcs = booted(connect(make_vehicle(speedup=5)), 3.5)  # 0.1 vehicle s = 20 ms wall
    since = gcs.vtime()
    for name in ("WPNAV_SPEED", "RTL_ALT", "MAV_SYSID"):
        gcs.mav.param_request_read_send(1, 1, name.encode(), -1)
    gcs.mav.param_request_read_send(1, 1, b"", 5)
    gcs.wait_until(lambda: len(gcs.since(since, "PARAM_VALUE")) >= 4, 3, "4 answers")
    replies = [r for r in gcs.received if r.type == "PARAM_VALUE" and r.vtime_s >= since]
    assert [(r.msg.param_id, r.msg.param_index) for r in replies] == [
        ("WPNAV_SPEED", 65535),
        ("RTL_ALT", 65535),
        ("MAV_SYSID", 65535),
        ("RTL_ALT", 5),
    ]
    assert replies[0].msg.param_value == 1000.0 and replies[0].msg.param_count == 1333
    gaps = [b.vtime_s - a.vtime_s for a, b in itertools.pairwise(replies)]
    assert all(gap == pytest.approx(0.1, abs=0.05) for gap in gaps)  # one read per 0.1 s


def test_param_set_is_echoed_and_reads_back(gcs: Gcs) -> None:
    booted(gcs)
    mark = gcs.mark()
    gcs.mav.param_set_send(1, 1, b"FENCE_ALT_MAX", 60, 9)
    echo = gcs.wait_for("PARAM_VALUE", lambda m: m.param_id == "FENCE_ALT_MAX", 0.5, after=mark)
    assert (echo.param_value, echo.param_index, echo.param_type) == (60.0, 65535, 9)
    gcs.mav.param_request_read_send(1, 1, b"FENCE_ALT_MAX", -1)
    back = gcs.wait_for("PARAM_VALUE", lambda m: m.param_id == "FENCE_ALT_MAX")
    assert back.param_value == 60.0


def test_param_request_list_ignored_while_booting(gcs: Gcs) -> None:
    gcs.mav.param_request_list_send(1, 1)
    gcs.run_until(3.5)
    assert [m for m in gcs.since(0, "PARAM_VALUE") if m.param_index != 65535] == []


def test_home_on_request(make_vehicle: VehicleFactory, connect: GcsFactory) -> None:
    gcs = connect(make_vehicle())
    gcs.run_until(5)
    assert gcs.command(REQUEST_MESSAGE, 242).result == 0  # no home yet: nothing follows
    gcs.run_for(0.5)
    assert gcs.latest("HOME_POSITION") is None
    gcs.run_until(21)
    unrequested = gcs.latest("HOME_POSITION")
    since, mark = gcs.vtime(), gcs.mark()
    assert gcs.command(REQUEST_MESSAGE, 242).result == 0
    again = gcs.wait_for("HOME_POSITION", after=mark)
    assert gcs.since(since, ("COMMAND_ACK", "HOME_POSITION"))[0].get_type() == "COMMAND_ACK"
    assert (again.latitude, again.longitude, again.altitude) == (
        unrequested.latitude,
        unrequested.longitude,
        unrequested.altitude,
    )
    assert math.isnan(again.q[0])


def test_default_streams_off_and_new_link_burst(
    make_vehicle: VehicleFactory, connect: GcsFactory
) -> None:
    """signing.jsonl: a new client on SERIAL1 gets two HEARTBEATs and a SYS_STATUS."""
    vehicle = make_vehicle()
    gcs = connect(vehicle)
    gcs.run_until(4)
    serial1 = connect(vehicle, link=1)
    serial1.run_for(0.5)
    first = serial1.received[:3]
    assert [r.type for r in first] == ["HEARTBEAT", "HEARTBEAT", "SYS_STATUS"]
    assert [r.msg.get_seq() for r in first] == [0, 1, 2]
    after_burst = 3
    serial1.run_for(3)
    types = {r.type for r in serial1.received[after_burst:]}
    assert types <= {"HEARTBEAT", "STATUSTEXT", "PARAM_VALUE", "TIMESYNC"}


def test_serial1_listens_only_after_boot(make_vehicle: VehicleFactory, connect: GcsFactory) -> None:
    vehicle = make_vehicle()
    with pytest.raises(ConnectionRefusedError):
        connect(vehicle, link=1)
    connect(vehicle).run_for(0.2)
    connect(vehicle, link=2).run_for(0.2)
