"""A fresh vehicle's first 45 vehicle seconds over TCP, compared with boot.jsonl.

One vehicle boots (20x) for the whole module; like the recording, the ground station asks
for EXTRA3/EXT_STAT/POSITION streams at 5.6 s so that the EKF, GPS and pre-arm transitions
can be seen.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterator
from typing import Any

import pytest

from tests.sim.conftest import load_facts, load_trace, running_vehicle
from tests.sim.gcs import Gcs, Received

SPEEDUP = 20.0
TIME_TOLERANCE_S = 0.5  # vehicle seconds (receive times): 25 ms of wall jitter at 20x
STREAM_REQUEST_S = 5.6
BANNER = {
    "ArduCopter V4.7.0-dev (2598e9d4)",
    "3d1219c7c4c5404aaa1f6d2a48adfda4",
    "Frame: QUAD/PLUS",
}


@pytest.fixture(scope="module")
def boot() -> Iterator[Gcs]:
    with running_vehicle(speedup=SPEEDUP) as vehicle:
        gcs = Gcs(vehicle.ports[0] or 0, SPEEDUP)
        try:
            gcs.run_until(STREAM_REQUEST_S)
            for stream_id in (2, 6, 12):  # EXT_STAT, POSITION, EXTRA3
                gcs.request_streams(4, stream_id)
            gcs.run_until(45.0)
            yield gcs
        finally:
            gcs.close()


@pytest.fixture(scope="module")
def trace() -> list[dict[str, Any]]:
    return load_trace("boot")


def first_time(records: list[Received], pred: Any) -> float:
    return next(r.vtime_s for r in records if pred(r))


def test_console_text_precedes_mavlink_as_recorded(boot: Gcs, trace: list[dict[str, Any]]) -> None:
    recorded = b"".join(
        bytes.fromhex(e["fields"]["data"]) for e in trace if e["type"] == "BAD_DATA"
    )
    assert len(recorded) == 164
    assert bytes(boot.bad_data) == recorded


def test_heartbeats_boot_then_standby(boot: Gcs) -> None:
    beats = [r for r in boot.received if r.type == "HEARTBEAT"]
    first = beats[0]
    assert first.vtime_s == pytest.approx(1.01, abs=TIME_TOLERANCE_S)
    assert (first.msg.type, first.msg.autopilot, first.msg.mavlink_version) == (2, 3, 3)
    assert (first.msg.base_mode, first.msg.custom_mode, first.msg.system_status) == (89, 0, 1)
    assert first.msg.get_srcSystem() == 1 and first.msg.get_srcComponent() == 1
    booting = [b for b in beats if b.msg.system_status == 1]
    assert len(booting) == 4  # the pairs at 1 s and 2 s
    standby = [b for b in beats if b.msg.system_status == 3]
    assert standby[0].vtime_s == pytest.approx(3.02, abs=TIME_TOLERANCE_S)
    assert {(b.msg.base_mode, b.msg.custom_mode) for b in standby} == {(81, 0)}
    periods = [b.vtime_s - a.vtime_s for a, b in itertools.pairwise(standby)]
    assert statistics.median(periods) == pytest.approx(1.0, abs=0.1)
    assert len(standby) == pytest.approx(42, abs=1)  # 3..45 s


def test_only_recorded_message_types_before_any_request(
    boot: Gcs, trace: list[dict[str, Any]]
) -> None:
    recorded = {e["type"] for e in trace if e["dir"] == "rx" and e["t"] < 5.0} - {"BAD_DATA"}
    ours = {r.type for r in boot.received if r.vtime_s < 5.0}
    assert ours == recorded == {"HEARTBEAT", "STATUSTEXT", "PARAM_VALUE"}


def test_boot_statustexts_match_the_recording(boot: Gcs, trace: list[dict[str, Any]]) -> None:
    recorded = [
        (e["t"], e["fields"]["severity"], e["fields"]["text"])
        for e in trace
        if e["type"] == "STATUSTEXT" and e["t"] < 45 and e["fields"]["text"] not in BANNER
    ]
    ours = [
        (r.vtime_s, r.msg.severity, r.msg.text) for r in boot.received if r.type == "STATUSTEXT"
    ]
    assert [(s, t) for _, s, t in ours] == [(s, t) for _, s, t in recorded]
    for (ours_t, _, text), (trace_t, _, _) in zip(ours, recorded, strict=True):
        assert ours_t == pytest.approx(trace_t, abs=TIME_TOLERANCE_S), text


def test_params_saved_while_booting_match_the_recording(
    boot: Gcs, trace: list[dict[str, Any]]
) -> None:
    recorded = [
        (e["fields"]["param_id"], e["fields"]["param_count"], e["fields"]["param_index"])
        for e in trace
        if e["type"] == "PARAM_VALUE" and e["t"] < 5.0
    ]
    ours = [
        (r.msg.param_id, r.msg.param_count, r.msg.param_index)
        for r in boot.received
        if r.type == "PARAM_VALUE" and r.vtime_s < 5.0
    ]
    assert ours == recorded
    assert recorded[0] == ("ESC_CALIBRATION", 1322, 65535)  # the param_count quirk


def test_timesync_every_10_s_with_boot_time(boot: Gcs) -> None:
    syncs = [r for r in boot.received if r.type == "TIMESYNC"]
    assert [int(r.msg.ts1 / 1e9) for r in syncs] == [10, 20, 30, 40]
    assert all(r.msg.ts1 / 1e9 % 10 < TIME_TOLERANCE_S for r in syncs)
    for r in syncs:
        assert r.msg.tc1 == 0
        assert r.vtime_s == pytest.approx(r.msg.ts1 / 1e9, abs=TIME_TOLERANCE_S)


def test_home_and_origin_sent_unrequested_at_20_s(boot: Gcs) -> None:
    facts = load_facts("boot")["HOME_POSITION"]
    homes = [r for r in boot.received if r.type == "HOME_POSITION"]
    origins = [r for r in boot.received if r.type == "GPS_GLOBAL_ORIGIN"]
    assert len(homes) == len(origins) == 1
    assert homes[0].vtime_s == pytest.approx(20.015, abs=TIME_TOLERANCE_S)
    home = homes[0].msg
    assert abs(home.latitude - facts["latitude"]) <= 1
    assert (home.longitude, home.altitude) == (facts["longitude"], facts["altitude"])
    assert (home.x, home.y, home.z) == (0.0, 0.0, 0.0)
    assert all(q != q for q in home.q)  # NaN


def test_gps_fix_sequence(boot: Gcs) -> None:
    gps = [r for r in boot.received if r.type == "GPS_RAW_INT"]
    fix_types = [r.msg.fix_type for r in gps]
    assert fix_types == sorted(fix_types) and set(fix_types) <= {0, 1, 6}  # 1 lasts 0.25 s
    first_fix = first_time(gps, lambda r: r.msg.fix_type >= 1)
    fix6 = first_time(gps, lambda r: r.msg.fix_type == 6)
    assert 9.89 - TIME_TOLERANCE_S <= first_fix <= 10.14 + TIME_TOLERANCE_S
    assert fix6 == pytest.approx(10.14, abs=TIME_TOLERANCE_S)
    last = gps[-1].msg
    assert (last.satellites_visible, last.eph, last.epv, last.h_acc) == (10, 121, 200, 300)
    positions = [r for r in boot.received if r.type == "GLOBAL_POSITION_INT"]
    assert all(r.msg.lat == 0 for r in positions if r.vtime_s < 9.8)
    assert abs(positions[-1].msg.lat - 231290999) <= 1 and positions[-1].msg.alt == 20100


def test_ekf_and_prearm_transitions_match_the_recording(boot: Gcs) -> None:
    events = load_facts("boot")["events"]
    ekf = [r for r in boot.received if r.type == "EKF_STATUS_REPORT"]
    assert ekf[0].msg.flags == 0xA7
    assert {r.msg.flags for r in ekf} == {0xA7, 0x33F}
    recorded_ekf = next(
        e["t"] for e in events if e["kind"] == "EKF_flags" and e["flags"] == "0x33f"
    )
    ours_ekf = first_time(ekf, lambda r: r.msg.flags == 0x33F)
    assert ours_ekf == pytest.approx(recorded_ekf, abs=TIME_TOLERANCE_S)
    status = [r for r in boot.received if r.type == "SYS_STATUS"]
    recorded_prearm = next(
        e["t"] for e in events if e["kind"] == "SYS_STATUS_prearm_healthy" and e["value"]
    )
    ours_prearm = first_time(status, lambda r: r.msg.onboard_control_sensors_health & 0x10000000)
    assert ours_prearm == pytest.approx(recorded_prearm, abs=TIME_TOLERANCE_S)


def test_sys_status_sensor_bits_match_the_recording(boot: Gcs, trace: list[dict[str, Any]]) -> None:
    """(present, enabled, health) at three moments of boot.jsonl, in our run."""

    def bits(msg: Any) -> tuple[int, int, int]:
        return (
            msg.onboard_control_sensors_present,
            msg.onboard_control_sensors_enabled,
            msg.onboard_control_sensors_health,
        )

    for at_s in (7.0, 15.0, 30.0):
        recorded = next(
            bits(_Fields(e["fields"]))
            for e in trace
            if e["type"] == "SYS_STATUS" and e["t"] >= at_s
        )
        ours = next(
            bits(r.msg) for r in boot.received if r.type == "SYS_STATUS" and r.vtime_s >= at_s
        )
        assert ours == recorded, at_s


class _Fields:
    def __init__(self, fields: dict[str, Any]) -> None:
        self.__dict__.update(fields)
