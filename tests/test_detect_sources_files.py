"""File feeds: dump1090 aircraft.json (parsed and polled), detector JSON lines (bearing and
range on the ellipsoid, stdin), replays (tlog and detection JSON lines, deterministic keys),
and the SOURCE syntax."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pyproj import Geod

from uav.detect.model import AltFrame, Category, Detection, SensorKind
from uav.detect.sources import (
    AircraftJsonParser,
    AircraftJsonSource,
    FleetSource,
    JsonlParser,
    JsonlSource,
    MavlinkSource,
    ReplaySource,
    SbsSource,
    SourceStats,
    parse_source,
)
from uav.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
TRACES = Path(os.environ.get("UAV_SITL_TRACES", ROOT.parent / "shared" / "sitl-traces"))
WAIT_S = 20.0
NOW = 1795489965.0


def aircraft_doc(now: float = NOW, **changes: Any) -> dict[str, Any]:
    plane = {
        "hex": "780a3b", "flight": "CES5123 ", "alt_baro": 3000, "alt_geom": 3150, "gs": 180.0,
        "track": 270.0, "baro_rate": -500, "category": "A3", "lat": 23.14, "lon": 113.31,
        "seen_pos": 0.4, "seen": 0.1, "squawk": "1200",
    }  # fmt: skip
    drone = {
        "hex": "~a1b2c3", "category": "B6", "alt_baro": "ground", "lat": 23.12, "lon": 113.32,
        "seen_pos": 1.5, "gs": 10,
    }  # fmt: skip
    no_position = {"hex": "4b1805", "flight": "SWR1", "alt_baro": 35000, "seen": 2}
    doc = {"now": now, "messages": 1234, "aircraft": [plane, drone, no_position]}
    doc.update(changes)
    return doc


def test_aircraft_json_fields_units_and_categories() -> None:
    p = AircraftJsonParser("aircraft-json:x", "x")
    plane, drone = p.parse_document(aircraft_doc(), NOW + 0.2)
    assert (plane.icao_address, plane.callsign, plane.emitter_type) == ("780A3B", "CES5123", 3)
    assert plane.category == Category.MANNED
    assert plane.time_s == pytest.approx(NOW - 0.4)  # now - seen_pos
    assert (plane.alt_m, plane.alt_frame) == (pytest.approx(960.12), AltFrame.AMSL)  # alt_geom
    assert plane.extra["alt_baro_m"] == pytest.approx(914.4)
    assert plane.ground_speed_mps == pytest.approx(92.6, abs=1e-3)  # 180 kt
    assert plane.vertical_rate_mps == pytest.approx(-2.54, abs=1e-3)  # -500 ft/min
    assert drone.emitter_type == 14 and drone.category == Category.DRONE  # B6 = UAV
    assert drone.icao_address is None and drone.extra["address"] == "~a1b2c3"  # non-ICAO
    assert drone.extra["on_ground"] is True and drone.alt_m is None
    assert p.stats.snapshot()["ignored"] == 1  # no position
    assert drone.sensor_kind == SensorKind.ADSB


def test_aircraft_json_bad_entries_skipped_rest_kept() -> None:
    p = AircraftJsonParser("aircraft-json:x", "x")
    doc = aircraft_doc()
    doc["aircraft"] += [{"hex": "zzzzzz", "lat": 1, "lon": 2}, {"hex": "abcdef", "lat": 99,
                         "lon": 2}, "not an object", {"hex": "abcdee", "lat": 1, "lon": 2,
                         "gs": "fast"}]  # fmt: skip
    assert len(p.parse_document(doc, NOW)) == 2
    assert p.stats.skipped == 4 and "aircraft[" in (p.stats.last_error or "")
    assert p.parse_text(b"{not json", NOW) == [] and p.stats.skipped == 5
    assert p.parse_text(b'{"now": 1}', NOW) == [] and p.stats.skipped == 6


def test_aircraft_json_unchanged_positions_do_not_re_emit() -> None:
    p = AircraftJsonParser("aircraft-json:x", "x")
    assert len(p.parse_document(aircraft_doc(), NOW)) == 2
    # one second later: the plane has a new position (seen_pos 0.4 again), the drone does not
    later = aircraft_doc(NOW + 1.0)
    later["aircraft"][1]["seen_pos"] = 2.5
    again = p.parse_document(later, NOW + 1.0)
    assert [d.icao_address for d in again] == ["780A3B"]
    assert p.stats.duplicates == 1


@pytest.fixture
def runner() -> Iterator[Callable[[Any], tuple[list[Detection], SourceStats, threading.Event]]]:
    threads: list[tuple[threading.Thread, threading.Event]] = []

    def start(source: Any) -> tuple[list[Detection], SourceStats, threading.Event]:
        got: list[Detection] = []
        stats, stop = SourceStats(), threading.Event()
        t = threading.Thread(target=source.run, args=(got.extend, stop, stats), daemon=True)
        t.start()
        threads.append((t, stop))
        return got, stats, stop

    yield start
    for t, stop in threads:
        stop.set()
        t.join(WAIT_S)
        assert not t.is_alive()


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        threading.Event().wait(0.01)


def test_aircraft_json_file_is_polled(tmp_path: Path, runner: Any) -> None:
    path = tmp_path / "aircraft.json"
    path.write_text(json.dumps(aircraft_doc()))
    got, stats, _ = runner(AircraftJsonSource(str(path), interval_s=0.05))
    wait_for(lambda: len(got) == 2, "the first poll")
    wait_for(lambda: stats.duplicates >= 4, "two more polls of the unchanged file")
    assert len(got) == 2
    moved = aircraft_doc(NOW + 1.0)
    moved["aircraft"][0]["lat"] = 23.15
    tmp = tmp_path / "aircraft.json.tmp"
    tmp.write_text(json.dumps(moved))
    tmp.replace(path)  # dump1090 replaces the file in one step, too
    wait_for(lambda: len(got) == 4, "the moved aircraft")
    assert got[2].lat_deg == 23.15 and got[2].time_s == pytest.approx(NOW + 0.6)


def test_aircraft_json_max_polls_ends_and_missing_file_is_reported(tmp_path: Path) -> None:
    stats, got = SourceStats(), []
    source = AircraftJsonSource(str(tmp_path / "gone.json"), interval_s=0.01, max_polls=3)
    source.run(got.extend, threading.Event(), stats)
    assert got == [] and "cannot read" in (stats.last_error or "")


# ------------------------------------------------------------------ jsonl

GEOD = Geod(ellps="WGS84")


def test_jsonl_bearing_and_range_on_the_ellipsoid() -> None:
    p = JsonlParser("jsonl:rf.jsonl")
    rec = {
        "time": "2026-11-24T03:12:45.5Z", "sensor_id": "rf-north", "sensor_kind": "rf",
        "bearing_deg": 135.0, "range_m": 850.0, "sensor_lat": 23.1291, "sensor_lon": 113.324,
        "alt_m": 80, "alt_frame": "above-ground", "confidence": 0.8, "remote_id": "1581F5FKD",
        "vendor_field": {"snr_db": 17},
    }  # fmt: skip
    d = p.parse_line(json.dumps(rec), 1, 5.0)
    assert d is not None
    assert d.time_s == 1795489965.5 and d.received_s == 5.0
    fwd, _back, dist = GEOD.inv(113.324, 23.1291, d.lon_deg, d.lat_deg)
    assert dist == pytest.approx(850.0, abs=1e-3) and fwd == pytest.approx(135.0, abs=1e-6)
    assert (d.alt_m, d.alt_frame) == (80.0, AltFrame.ABOVE_GROUND)
    assert (d.sensor_kind, d.sensor_id, d.confidence) == (SensorKind.RF, "rf-north", 0.8)
    assert d.identity == "rid:1581F5FKD"
    assert d.extra == {"vendor_field": {"snr_db": 17}}


def test_jsonl_direct_position_and_ids() -> None:
    p = JsonlParser("jsonl:x")
    rec = {"time": 1795489965, "sensor_id": "radar-1", "sensor_kind": "radar", "lat": 23.1,
           "lon": 113.3, "icao": "a1b2c3", "operator_lat": 23.0, "operator_lon": 113.2}  # fmt: skip
    d = p.parse_line(json.dumps(rec), 1, None)
    assert d is not None and d.icao_address == "A1B2C3" and d.alt_m is None
    assert (d.operator_lat_deg, d.operator_lon_deg) == (23.0, 113.2)
    naive = p.parse_line(json.dumps({**rec, "time": "2026-11-24T03:12:45"}), 2, None)
    assert naive is not None and naive.time_s == 1795489965.0  # no offset: UTC


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"time": None}, "time is required"),
        ({"time": "yesterday"}, "bad time"),
        ({"sensor_id": ""}, "sensor_id is required"),
        ({"lat": None}, "give lat and lon"),
        ({"lat": 91}, "out of range"),
        ({"alt_m": 50}, "alt_m needs alt_frame"),
        ({"alt_m": 50, "alt_frame": "agl"}, "alt_frame 'agl' is not one of"),
        ({"confidence": 1.5}, "confidence"),
        ({"sensor_kind": "sonar"}, "sensor_kind"),
        ({"icao": "12345"}, "icao must be 6 hex digits"),
        ({"operator_lat": 23.0}, "operator_lat/operator_lon"),
        ({"lat": "23.1"}, "lat must be a number"),
    ],
)
def test_jsonl_bad_lines_name_their_line(change: dict[str, Any], message: str) -> None:
    p = JsonlParser("jsonl:x")
    rec = {"time": 1795489965, "sensor_id": "s", "lat": 23.1, "lon": 113.3, **change}
    assert p.parse_line(json.dumps(rec), 7, None) is None
    assert p.stats.skipped == 1
    assert (p.stats.last_error or "").startswith("line 7: ") and message in p.stats.last_error


def test_jsonl_file_source_reads_to_the_end(tmp_path: Path) -> None:
    path = tmp_path / "rf.jsonl"
    good = json.dumps({"time": 1795489965, "sensor_id": "s", "lat": 23.1, "lon": 113.3})
    path.write_text(f"{good}\n\n[1, 2]\n{{broken\n{good}")  # last line without a newline
    got, stats = [], SourceStats()
    JsonlSource(str(path)).run(got.extend, threading.Event(), stats)
    assert len(got) == 2 and got[0].source == f"jsonl:{path}"
    snap = stats.snapshot()
    assert (snap["read"], snap["parsed"], snap["skipped"], snap["ignored"]) == (5, 2, 2, 1)
    assert snap["last_error"].startswith("line 4: ")


def test_jsonl_stdin_reads_until_eof(monkeypatch: pytest.MonkeyPatch) -> None:
    read_fd, write_fd = os.pipe()
    reader = os.fdopen(read_fd, "r")
    monkeypatch.setattr("sys.stdin", reader)
    got: list[Detection] = []
    stats, stop = SourceStats(), threading.Event()
    thread = threading.Thread(target=JsonlSource("-").run, args=(got.extend, stop, stats))
    thread.start()
    try:
        rec = json.dumps({"time": 1795489965, "sensor_id": "s", "lat": 23.1, "lon": 113.3})
        os.write(write_fd, (rec + "\n" + rec[:20]).encode())
        wait_for(lambda: len(got) == 1, "the first line")
        os.write(write_fd, (rec[20:] + "\n" + rec).encode())  # the last line has no newline
        wait_for(lambda: len(got) == 2, "the completed line")
        assert thread.is_alive()  # a pipe is read until EOF
        os.close(write_fd)
        write_fd = -1
        thread.join(WAIT_S)
        assert not thread.is_alive()  # EOF ends the source by itself
        assert len(got) == 3 and stats.read == 3
    finally:
        stop.set()
        thread.join(WAIT_S)
        if write_fd >= 0:
            os.close(write_fd)
        reader.close()


# ----------------------------------------------------------------- replay


@pytest.mark.skipif(not TRACES.is_dir(), reason=f"no traces at {TRACES}")
def test_tlog_replay_is_deterministic(tmp_path: Path) -> None:
    runs = []
    for path in (TRACES / "adsb.tlog", TRACES / "remoteid.tlog", TRACES / "adsb.tlog"):
        got, stats = [], SourceStats()
        ReplaySource(str(path)).run(got.extend, threading.Event(), stats)
        assert stats.skipped == 0
        runs.append(got)
    assert (len(runs[0]), len(runs[1])) == (369, 58)
    assert [d.key for d in runs[0]] == [d.key for d in runs[2]]
    assert {d.source for d in runs[0]} == {"replay:adsb.tlog"}
    copy = tmp_path / "adsb.tlog"  # another path to the same recording: the same keys
    copy.write_bytes((TRACES / "adsb.tlog").read_bytes())
    got = []
    ReplaySource(str(copy)).run(got.extend, threading.Event(), SourceStats())
    assert [d.key for d in got] == [d.key for d in runs[0]]


def test_jsonl_replay_restores_detections_with_their_keys(tmp_path: Path) -> None:
    originals = [
        Detection(1795489965.0 + i, "sbs:tcp:127.0.0.1:30003", "rx", SensorKind.ADSB,
                  lat_deg=23.1, lon_deg=113.3, alt_m=300.0 + i, alt_frame=AltFrame.PRESSURE,
                  icao_address="780A3B", received_s=5.0, extra={"squawk": "1200"})
        for i in range(3)
    ]  # fmt: skip
    lines = [json.dumps(d.to_json()) for d in originals]
    lines.insert(1, json.dumps({"detection": originals[0].to_json(), "severity": "low"}))
    lines += ["", '{"time_s": 1}', '{"sensor_kind": "adsb", "time_s": 1, "source": "s"}']
    path = tmp_path / "session.jsonl"
    path.write_text("\n".join(lines) + "\n")
    got, stats = [], SourceStats()
    ReplaySource(str(path)).run(got.extend, threading.Event(), stats)
    assert [d.key for d in got] == [originals[0].key] * 2 + [d.key for d in originals[1:]]
    assert got[0] == originals[0] and got[0].extra == {"squawk": "1200"}
    assert stats.skipped == 2 and stats.ignored == 1
    assert (stats.last_error or "").startswith("line 7: ")


# ------------------------------------------------------------ SOURCE syntax


def test_parse_source_forms(tmp_path: Path) -> None:
    f = tmp_path / "a.json"
    f.write_text("{}")
    jl = tmp_path / "d.jsonl"
    jl.write_text("")
    m = parse_source("mavlink:tcp:127.0.0.1:5760")
    assert isinstance(m, MavlinkSource) and m.url == "tcp:127.0.0.1:5760"
    assert m.name == "mavlink:tcp:127.0.0.1:5760"
    s = parse_source("sbs:tcp:127.0.0.1:30003")
    assert isinstance(s, SbsSource) and (s.host, s.port) == ("127.0.0.1", 30003)
    a = parse_source(f"aircraft-json:{f}", interval_s=2.5)
    assert isinstance(a, AircraftJsonSource) and a.interval_s == 2.5
    u = parse_source("aircraft-json:http://127.0.0.1:8080/data/aircraft.json")
    assert isinstance(u, AircraftJsonSource) and u.is_url
    assert isinstance(parse_source(f"jsonl:{jl}"), JsonlSource)
    assert isinstance(parse_source("jsonl:-"), JsonlSource)
    assert isinstance(parse_source(f"replay:{jl}"), ReplaySource)


@pytest.mark.parametrize(
    "spec",
    [
        "", "radar", "kafka:topic", "mavlink:", "sbs:udp:127.0.0.1:30003", "sbs:tcp:host",
        "sbs:tcp:127.0.0.1:99999", "aircraft-json:/nonexistent/aircraft.json",
        "jsonl:/nonexistent.jsonl", "replay:/nonexistent.tlog", "fleet",
    ],
)  # fmt: skip
def test_bad_specs_name_the_spec(spec: str) -> None:
    with pytest.raises(InputError) as info:
        parse_source(spec)
    assert f"source {spec!r}" in str(info.value)


def test_replay_of_an_unknown_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "capture.pcap"
    path.write_bytes(b"\0")
    with pytest.raises(InputError, match="cannot tell the recording's format"):
        parse_source(f"replay:{path}")


def test_fleet_source_from_the_registry(db: Path) -> None:
    from uav.store import Store
    from uav.store.drones import Drone

    store = Store.open(db)
    with pytest.raises(InputError, match="no drones are registered"):
        parse_source("fleet", store=store)
    store.add_drone(Drone("TH-01", "tcp:127.0.0.1:5760", sysid=1))
    store.add_drone(Drone("TH-02", "tcp:127.0.0.1:5770", sysid=2))
    fleet = parse_source("fleet", store=store)
    assert isinstance(fleet, FleetSource)
    assert [(t.name, t.url, t.sysid) for t in fleet.targets] == [
        ("TH-01", "tcp:127.0.0.1:5760", 1), ("TH-02", "tcp:127.0.0.1:5770", 2),
    ]  # fmt: skip
    one = parse_source("fleet:TH-02", store=store)
    assert isinstance(one, FleetSource) and [t.name for t in one.targets] == ["TH-02"]
    with pytest.raises(InputError, match="source 'fleet:TH-09'"):
        parse_source("fleet:TH-09", store=store)
    store.close()


def test_json_array_replay(tmp_path: Path) -> None:
    d = Detection(1795489965.0, "jsonl:rf", "rf-1", SensorKind.RF, lat_deg=23.1, lon_deg=113.3)
    path = tmp_path / "export.json"
    path.write_text(json.dumps([d.to_json(), {"detection": d.to_json()}, {"time_s": 1}]))
    got, stats = [], SourceStats()
    ReplaySource(str(path)).run(got.extend, threading.Event(), stats)
    assert [x.key for x in got] == [d.key, d.key]
    assert stats.skipped == 1 and (stats.last_error or "").startswith("item 2: ")
