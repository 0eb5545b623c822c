"""A new Remote ID broadcaster's LOCATIONs wait (a bounded time) for its BASIC_ID, so its
first sightings are not tracked as an id-less plot beside its ID's track."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from tests.conftest import Invoke
from tests.detect_mavlink_support import LOCATION, NO_MAC, basic_id
from tests.sim.parts_fakes import Encoder
from uav.detect.model import Detection
from uav.detect.sources.mavlink_parse import HELD_MAX, ODID_ID_HOLD_S, MavlinkParser

R0 = 1795489975.0  # receive time of the first message
SERIAL = "53455249414c2d3031" + "00" * 11  # "SERIAL-01"
BASIC_ID = basic_id(1, SERIAL)
OPERATOR_ID = {
    "target_system": 0, "target_component": 0, "id_or_mac": NO_MAC, "operator_id_type": 0,
    "operator_id": "CHN-OP-0001",
}  # fmt: skip


def msg(type_name: str, fields: dict[str, Any], sysid: int = 7) -> Any:
    return Encoder(sysid, 1).build(type_name, **fields)


def location(i: int, sysid: int = 7) -> Any:
    return msg("OPEN_DRONE_ID_LOCATION", {**LOCATION, "latitude": 231000000 + 100 * i}, sysid)


def test_first_locations_wait_for_the_id_and_carry_it() -> None:
    p = MavlinkParser("mavlink:test")
    assert p.receive(location(0), R0) == []
    assert p.receive(msg("OPEN_DRONE_ID_OPERATOR_ID", OPERATOR_ID), R0 + 0.8) == []
    assert p.receive(location(1), R0 + 1.0) == []
    released = p.receive(msg("OPEN_DRONE_ID_BASIC_ID", BASIC_ID), R0 + 1.6)
    assert [d.lat_deg for d in released] == [23.1, 23.10001]  # in the order they came
    assert all((d.remote_id, d.remote_id_type, d.ua_type) == ("SERIAL-01", 1, 2) for d in released)
    assert [d.extra["id_received_after_s"] for d in released] == [1.6, 0.6]
    assert [d.received_s for d in released] == [R0, R0 + 1.0]  # times are their own
    assert all(d.operator_id == "CHN-OP-0001" for d in released)
    # the ID known: on at once, with nothing added
    (now,) = p.receive(location(2), R0 + 2.0)
    assert now.remote_id == "SERIAL-01" and "id_received_after_s" not in now.extra
    assert p.release_all() == []


def test_a_broadcaster_without_an_id_waits_once_then_goes_on_without() -> None:
    p = MavlinkParser("mavlink:test")
    assert p.receive(location(0), R0) == []
    # another broadcaster's ID releases nothing of this one
    assert p.receive(msg("OPEN_DRONE_ID_BASIC_ID", BASIC_ID, sysid=8), R0 + 1.0) == []
    # an all-zero BASIC_ID (ArduPilot before a GCS fills it in) is no ID either
    zero = {**BASIC_ID, "id_type": 0, "uas_id": "00" * 20}
    assert p.receive(msg("OPEN_DRONE_ID_BASIC_ID", zero), R0 + 1.5) == []
    assert p.release_due(R0 + ODID_ID_HOLD_S - 0.01) == []
    (late,) = p.release_due(R0 + ODID_ID_HOLD_S)
    assert late.remote_id is None and late.received_s == R0
    assert "id_received_after_s" not in late.extra
    (now,) = p.receive(location(1), R0 + ODID_ID_HOLD_S + 0.5)  # not new any more
    assert now.remote_id is None


def test_any_later_message_releases_what_is_due() -> None:
    p = MavlinkParser("mavlink:test")
    assert p.receive(location(0), R0) == []
    hb = {"type": 2, "autopilot": 3, "base_mode": 81, "custom_mode": 0, "system_status": 3,
          "mavlink_version": 3}  # fmt: skip
    (released,) = p.receive(msg("HEARTBEAT", hb, sysid=9), R0 + ODID_ID_HOLD_S + 1.0)
    assert released.lat_deg == 23.1 and released.remote_id is None


def test_holding_is_bounded_and_can_be_turned_off() -> None:
    p = MavlinkParser("mavlink:test")
    out: list[Detection] = []
    for i in range(HELD_MAX + 1):
        out += p.receive(location(i), R0 + i * 0.001)
    assert len(out) == HELD_MAX + 1  # one too many: all went on without the ID
    assert p.release_all() == []
    assert p.receive(location(0), R0) == []
    assert len(p.release_all()) == 1  # the feed ends: on without it
    off = MavlinkParser("mavlink:test", hold_s=0.0)
    assert len(off.receive(location(0), R0)) == 1


def tlog(path: Path, messages: list[tuple[float, Any]]) -> Path:
    """A telemetry log as MAVProxy writes it: each packet after its time (us, big-endian)."""
    with path.open("wb") as fh:
        for t_s, m in messages:
            fh.write(struct.pack(">Q", round(t_s * 1e6)) + bytes(m.get_msgbuf()))
    return path


def test_a_replayed_broadcaster_is_one_track_from_its_first_location(
    uav: Invoke, tmp_path: Path
) -> None:
    recording = tlog(
        tmp_path / "rid.tlog",
        [
            (R0, location(0)),
            (R0 + 1.0, location(1)),
            (R0 + 1.6, msg("OPEN_DRONE_ID_BASIC_ID", BASIC_ID)),
            *[(R0 + 1.0 + i, location(i)) for i in range(2, 6)],
        ],
    )
    r = uav("detect", "listen", f"replay:{recording}", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["detections"] == 6
    rows = json.loads(uav("detect", "list", "--json").stdout)
    assert [row["track_id"] for row in rows] == ["rid:SERIAL-01"] * 6
