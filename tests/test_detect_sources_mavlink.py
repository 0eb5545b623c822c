"""MAVLink parser: the recorded ArduCopter SITL ADS-B and Remote ID sessions, and hand-made
messages for every validity rule (flags, invalid markers, relays, clocks)."""

from __future__ import annotations

import itertools
import json
import math
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.detect_mavlink_support import LOCATION, basic_id
from tests.sim.parts_fakes import Encoder
from uav.detect.model import AltFrame, Category, Detection, SensorKind
from uav.detect.sources.base import SourceStats
from uav.detect.sources.mavlink_parse import MavlinkParser, odid_time_s
from uav.link import transport

ROOT = Path(__file__).resolve().parents[1]
TRACES = Path(os.environ.get("UAV_SITL_TRACES", ROOT.parent / "shared" / "sitl-traces"))
# t = 0 of each recording (the TCP connect): its first packet, the client's HEARTBEAT at
# t=0.0002 (03:06:17.79 and 03:12:45.38 UTC)
ADSB_T0 = 1795489577.7893639 - 0.000211
RID_T0 = 1795489965.384728 - 0.000211
HOME_LAT, HOME_LON = 23.1290999, 113.3240000

pytestmark = pytest.mark.skipif(not TRACES.is_dir(), reason=f"no traces at {TRACES}")


def replay_tlog(name: str) -> tuple[list[Detection], SourceStats]:
    parser = MavlinkParser(f"replay:{name}")
    log = transport.mavutil.mavlink_connection(str(TRACES / name))
    out = []
    try:
        while (msg := log.recv_msg()) is not None:
            d = parser.parse(msg, msg._timestamp)
            if d is not None:
                out.append(d)
    finally:
        log.close()
    return out, parser.stats


@pytest.fixture(scope="module")
def adsb() -> tuple[list[Detection], SourceStats]:
    return replay_tlog("adsb.tlog")


@pytest.fixture(scope="module")
def remoteid() -> tuple[list[Detection], SourceStats]:
    return replay_tlog("remoteid.tlog")


# ------------------------------------------------------------- ADS-B trace


def test_adsb_trace_every_adsb_vehicle_is_one_detection(adsb: Any) -> None:
    detections, stats = adsb
    assert len(detections) == 369  # README: 369 ADSB_VEHICLE in 86 s
    assert stats.skipped == 0
    assert {d.sensor_kind for d in detections} == {SensorKind.ADSB}
    assert {d.sensor_id for d in detections} == {"mavlink:1/1"}


def test_adsb_trace_addresses_callsigns_and_types(adsb: Any) -> None:
    detections, _ = adsb
    icaos = Counter(d.icao_address for d in detections)
    assert len(icaos) == 9  # README: 9 distinct ICAO addresses
    assert "0009F9" in icaos  # ICAO_address 2553 = 0x0009F9, callsign SIM2553
    for d in detections:
        assert d.callsign == f"SIM{int(d.icao_address or '', 16)}"
    assert {d.emitter_type for d in detections} == {19, 0, 3, 4, 11, 12}
    assert {d.category for d in detections} == {Category.MANNED}  # no UAV (14) among them
    assert all(d.extra["squawk"] == 1200 and d.extra["simulated"] for d in detections)


def test_adsb_trace_altitudes_and_motion(adsb: Any) -> None:
    detections, _ = adsb
    alts = [d.alt_m for d in detections if d.alt_m is not None]
    assert len(alts) == 369
    assert min(alts) == pytest.approx(284.430) and max(alts) == pytest.approx(846.412)
    assert {d.alt_frame for d in detections} == {AltFrame.PRESSURE}  # altitude_type 0
    first = detections[0]  # README's typical message: ICAO 2553
    assert first.icao_address == "0009F9"
    assert (first.lat_deg, first.lon_deg) == (23.1306687, 113.3300180)
    assert first.alt_m == pytest.approx(306.331)
    assert first.track_deg == pytest.approx(264.15)
    assert first.ground_speed_mps == pytest.approx(73.81)
    assert first.vertical_rate_mps == pytest.approx(3.34)
    obstacles = [d for d in detections if d.emitter_type == 19]
    assert obstacles and all(d.ground_speed_mps == 0 and d.track_deg == 0 for d in obstacles)


def test_adsb_trace_times_from_receipt_and_tslc(adsb: Any) -> None:
    detections, _ = adsb
    assert detections[0].received_s - ADSB_T0 == pytest.approx(10.03, abs=0.01)  # first at 10.03
    assert all(d.time_s == d.received_s - 1 for d in detections)  # tslc 1
    assert all(-90 <= (d.lat_deg or 0) <= 90 for d in detections)


def test_adsb_is_never_vouched_for_by_the_relaying_system(adsb: Any) -> None:
    detections, _ = adsb
    assert {d.mavlink_sysid for d in detections} == {None}
    assert {d.extra["relayed_by_sysid"] for d in detections} == {1}


def test_jsonl_trace_gives_the_same_detections_as_the_tlog(adsb: Any) -> None:
    """The recorder's JSONL, rebuilt into messages, parses to the tlog's detections."""
    detections, _ = adsb
    enc, parser = Encoder(1, 1), MavlinkParser("replay:adsb.tlog")
    rows = [json.loads(line) for line in (TRACES / "adsb.jsonl").read_text().splitlines()]
    ours = []
    for row in rows:
        if row["type"] == "ADSB_VEHICLE":
            ours.append(parser.parse(enc.from_trace(row), 0.0))
    assert len(ours) == len(detections)
    for a, b in zip(ours, detections, strict=True):
        assert a is not None
        assert (a.icao_address, a.lat_deg, a.lon_deg, a.alt_m) == (
            b.icao_address, b.lat_deg, b.lon_deg, b.alt_m,
        )  # fmt: skip


# ---------------------------------------------------------- Remote ID trace


def test_remoteid_trace_each_location_is_one_detection(remoteid: Any) -> None:
    detections, stats = remoteid
    assert len(detections) == 58  # 58 OPEN_DRONE_ID_LOCATION received
    assert stats.skipped == 0
    assert {d.sensor_kind for d in detections} == {SensorKind.REMOTE_ID}
    assert {d.category for d in detections} == {Category.DRONE}
    assert {d.mavlink_sysid for d in detections} == {1}  # the vehicle's own broadcast
    first = detections[0]
    assert first.received_s - RID_T0 == pytest.approx(10.54, abs=0.01)  # from t=10.54
    for d in detections:
        assert d.lat_deg == pytest.approx(HOME_LAT, abs=2e-7)
        assert d.lon_deg == pytest.approx(HOME_LON, abs=2e-7)
        assert d.alt_m in (20.09, 20.1) and d.alt_frame == AltFrame.AMSL  # README: 20.09-20.1
        assert d.extra["alt_baro_m"] == pytest.approx(19.683, abs=0.001)
        assert (d.extra["height_m"], d.extra["height_ref"]) == (0.0, "above-takeoff")
        assert d.position_error_m == 1.0  # horizontal_accuracy 12
        assert d.ground_speed_mps == 0.0 and d.vertical_rate_mps == 0.0
    recorded = [
        json.loads(line)["fields"]["direction"]
        for line in (TRACES / "remoteid.jsonl").read_text().splitlines()
        if '"OPEN_DRONE_ID_LOCATION"' in line
    ]
    assert [d.track_deg for d in detections] == [cdeg / 100 for cdeg in recorded]


def test_remoteid_trace_identity_from_basic_id_once_echoed(remoteid: Any) -> None:
    detections, _ = remoteid
    before = [d for d in detections if d.received_s < RID_T0 + 28.14]
    after = [d for d in detections if d.received_s > RID_T0 + 28.2]
    assert before and all(d.remote_id is None for d in before)  # all-zero BASIC_ID until then
    assert after and all(d.remote_id == "UAV-SITL-TEST-0001" for d in after)
    for d in after:
        assert (d.remote_id_type, d.ua_type) == (1, 2)
        assert d.operator_id == "CHN-OP-TEST-0001"
        assert d.self_id == "police test flight"
        assert (d.operator_lat_deg, d.operator_lon_deg) == (23.1290102, 113.3239023)
    assert detections[-1].identity == "rid:UAV-SITL-TEST-0001"


def test_remoteid_trace_gps_timestamps_become_utc(remoteid: Any) -> None:
    """ArduPilot stamps LOCATION in GPS seconds past the hour (793.2 at 775.9 s UTC)."""
    detections, _ = remoteid
    assert detections[0].time_s % 3600 == pytest.approx(793.2 - 18.0, abs=1e-3)
    for d in detections:
        assert d.extra["odid_clock"] == "gps"
        assert -1.5 < d.time_s - d.received_s < 0.0
    steps = [b.time_s - a.time_s for a, b in itertools.pairwise(detections)]
    assert all(s == pytest.approx(1.0, abs=1e-3) for s in steps)  # +1.0 each message


def test_replaying_a_trace_twice_gives_the_same_keys() -> None:
    a, _ = replay_tlog("remoteid.tlog")
    b, _ = replay_tlog("remoteid.tlog")
    assert [d.key for d in a] == [d.key for d in b]
    assert len({d.key for d in a}) == len(a)


# ------------------------------------------------------ hand-made messages

ADSB = {
    "ICAO_address": 0xA1B2C3, "lat": 231300000, "lon": 1133250000, "altitude_type": 1,
    "altitude": 120500, "heading": 9000, "hor_velocity": 1250, "ver_velocity": -150,
    "callsign": "DRONE1  ", "emitter_type": 14, "tslc": 2, "flags": 511, "squawk": 7000,
}  # fmt: skip


def parse(type_name: str, fields: dict[str, Any], *, parser: MavlinkParser | None = None,
          sysid: int = 7, received_s: float = 1795489975.0) -> Detection | None:  # fmt: skip
    p = parser or MavlinkParser("mavlink:test")
    return p.parse(Encoder(sysid, 1).build(type_name, **fields), received_s)


def test_adsb_geometric_altitude_and_units() -> None:
    d = parse("ADSB_VEHICLE", ADSB)
    assert d is not None
    assert (d.icao_address, d.callsign, d.emitter_type) == ("A1B2C3", "DRONE1", 14)
    assert d.category == Category.DRONE
    assert (d.alt_m, d.alt_frame) == (120.5, AltFrame.AMSL)
    assert (d.track_deg, d.ground_speed_mps, d.vertical_rate_mps) == (90.0, 12.5, -1.5)
    assert d.time_s == 1795489975.0 - 2
    assert d.extra["squawk"] == 7000


@pytest.mark.parametrize(
    ("flag", "missing"),
    [
        (2, ("alt_m", "alt_frame")),
        (4, ("track_deg",)),
        (8, ("ground_speed_mps",)),
        (16, ("callsign",)),
        (128, ("vertical_rate_mps",)),
    ],
)
def test_adsb_fields_without_their_valid_flag_are_unknown(flag: int, missing: tuple) -> None:
    d = parse("ADSB_VEHICLE", {**ADSB, "flags": 511 & ~flag})
    assert d is not None
    for name in missing:
        assert getattr(d, name) is None
    assert d.lat_deg == 23.13


def test_adsb_without_valid_coordinates_is_ignored_and_bad_ones_skipped() -> None:
    parser = MavlinkParser("mavlink:test")
    assert parse("ADSB_VEHICLE", {**ADSB, "flags": 510}, parser=parser) is None
    assert (parser.stats.ignored, parser.stats.skipped) == (1, 0)
    assert parse("ADSB_VEHICLE", {**ADSB, "lat": 950000000}, parser=parser) is None
    assert parser.stats.skipped == 1
    assert "out of range" in (parser.stats.last_error or "")
    assert parse("ADSB_VEHICLE", {**ADSB, "ICAO_address": 0x1000000}, parser=parser) is None
    assert parser.stats.skipped == 2


def test_adsb_unknown_altitude_type_leaves_altitude_unknown() -> None:
    d = parse("ADSB_VEHICLE", {**ADSB, "altitude_type": 7})
    assert d is not None and d.alt_m is None and d.alt_frame is None


def test_location_merges_the_broadcasters_static_messages() -> None:
    parser = MavlinkParser("mavlink:test")
    serial = "53455249414c2d3031" + "00" * 11  # "SERIAL-01"
    caa = "4341412d3939" + "00" * 14  # "CAA-99"
    parse("OPEN_DRONE_ID_BASIC_ID", basic_id(2, caa), parser=parser)
    d = parse("OPEN_DRONE_ID_LOCATION", LOCATION, parser=parser)
    assert d is not None and (d.remote_id, d.remote_id_type) == ("CAA-99", 2)
    parse("OPEN_DRONE_ID_BASIC_ID", basic_id(1, serial), parser=parser)
    parse("OPEN_DRONE_ID_SYSTEM_UPDATE", {"target_system": 0, "target_component": 0,
          "operator_latitude": 230990000, "operator_longitude": 1133190000,
          "operator_altitude_geo": 12.0, "timestamp": 0}, parser=parser)  # fmt: skip
    d = parse("OPEN_DRONE_ID_LOCATION", LOCATION, parser=parser)
    assert d is not None
    assert (d.remote_id, d.remote_id_type, d.ua_type) == ("SERIAL-01", 1, 2)  # serial preferred
    assert (d.operator_lat_deg, d.operator_lon_deg) == (23.099, 113.319)
    other_sender = parse("OPEN_DRONE_ID_LOCATION", LOCATION, parser=parser, sysid=8)
    assert other_sender is not None and other_sender.remote_id is None  # merged per sender


def test_location_fields_and_altitude_choice() -> None:
    d = parse("OPEN_DRONE_ID_LOCATION", LOCATION)
    assert d is not None
    assert (d.lat_deg, d.lon_deg) == (23.1, 113.32)
    assert (d.alt_m, d.alt_frame) == (101.25, AltFrame.AMSL)
    assert (d.extra["height_m"], d.extra["height_ref"]) == (80.0, "above-ground")
    assert (d.track_deg, d.ground_speed_mps, d.vertical_rate_mps) == (45.0, 8.3, 1.2)
    assert d.position_error_m == 10.0  # MAV_ODID_HOR_ACC_10_METER
    assert d.mavlink_sysid == 7
    no_geo = parse("OPEN_DRONE_ID_LOCATION", {**LOCATION, "altitude_geodetic": -1000.0})
    assert no_geo is not None and (no_geo.alt_m, no_geo.alt_frame) == (80.0, AltFrame.ABOVE_GROUND)
    baro_only = parse("OPEN_DRONE_ID_LOCATION",
                      {**LOCATION, "altitude_geodetic": -1000.0, "height": -1000.0})  # fmt: skip
    assert baro_only is not None
    assert (baro_only.alt_m, baro_only.alt_frame) == (99.5, AltFrame.PRESSURE)


def test_location_invalid_markers_give_unknown_values() -> None:
    d = parse("OPEN_DRONE_ID_LOCATION", {
        **LOCATION, "direction": 36100, "speed_horizontal": 25500, "speed_vertical": 6300,
        "altitude_geodetic": -1000.0, "height": -1000.0, "altitude_barometric": -1000.0,
        "horizontal_accuracy": 0,
    })  # fmt: skip
    assert d is not None
    assert (d.track_deg, d.ground_speed_mps, d.vertical_rate_mps) == (None, None, None)
    assert (d.alt_m, d.alt_frame, d.position_error_m) == (None, None, None)
    assert d.time_s == d.received_s and d.extra["time_from"] == "received"  # 0xFFFF


def test_location_without_position_is_ignored_out_of_range_skipped() -> None:
    parser = MavlinkParser("mavlink:test")
    zero = {**LOCATION, "latitude": 0, "longitude": 0}
    assert parse("OPEN_DRONE_ID_LOCATION", zero, parser=parser) is None
    assert (parser.stats.ignored, parser.stats.skipped) == (1, 0)
    assert parse("OPEN_DRONE_ID_LOCATION", {**LOCATION, "longitude": 1900000000},
                 parser=parser) is None  # fmt: skip
    assert parser.stats.skipped == 1


def test_relayed_remote_id_is_not_the_relays_own() -> None:
    mac = "0200a1b2c300" + "00" * 14
    d = parse("OPEN_DRONE_ID_LOCATION", {**LOCATION, "id_or_mac": mac}, sysid=1)
    assert d is not None
    assert d.mavlink_sysid is None  # a fleet drone's sysid never vouches for what it relays
    assert d.extra["relayed_by_sysid"] == 1 and d.extra["id_or_mac"] == mac


def test_other_messages_are_ignored_not_skipped() -> None:
    parser = MavlinkParser("mavlink:test")
    hb = {"type": 2, "autopilot": 3, "base_mode": 81, "custom_mode": 0, "system_status": 3,
          "mavlink_version": 3}  # fmt: skip
    assert parse("HEARTBEAT", hb, parser=parser) is None
    assert (parser.stats.read, parser.stats.ignored, parser.stats.skipped) == (1, 1, 0)


@pytest.mark.parametrize(
    ("stamp", "received_past_hour", "expected_past_hour", "clock"),
    [
        (775.2, 775.9, 775.2, None),  # UTC, 0.7 s old
        (793.2, 775.9, 775.2, "gps"),  # GPS time, 18 s ahead (ArduPilot)
        (3599.5, 0.4, -0.5, None),  # stamped just before the hour, received after it
        (0.5, 3599.8, 3600.5, None),  # received just before the hour, stamped after it
        (1500.0, 10.0, 10.0, "received"),  # neither clock fits: the receive time
    ],
)
def test_odid_timestamp_to_unix(
    stamp: float, received_past_hour: float, expected_past_hour: float, clock: str | None
) -> None:
    hour = 1795489200.0  # 03:00 UTC
    extra: dict[str, Any] = {}
    t = odid_time_s(stamp, hour + received_past_hour, extra)
    assert t == pytest.approx(hour + expected_past_hour)
    if clock == "gps":
        assert extra == {"odid_clock": "gps"}
    elif clock == "received":
        assert extra == {"time_from": "received"}
    else:
        assert extra == {}
    assert not math.isnan(t)
