"""The hot-path encodings and helpers of ingest give exactly what the plain ways give.

Payloads are canonical JSON (orjson, sorted keys) put together from canonical parts; keys
are a time prefix and a hash; the plot gate searches a grid instead of every plot track;
inserts are multi-row. Each is checked here against the straightforward version.
"""

from __future__ import annotations

import gc
import hashlib
import json
import math
import sqlite3
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table

from tests.detect_evidence_support import T0_S, batch, detection, judgement
from uav.check.index import ZoneIndex
from uav.detect.evidence import EvidenceLog
from uav.detect.evidence_records import (
    detection_from_payload,
    detection_key_of,
    detection_payload,
    detection_payloads,
    judgement_json,
    stored_key,
    stored_sighting,
)
from uav.detect.incidents import Incidents
from uav.detect.judge import Judge
from uav.detect.model import (
    AltFrame,
    Category,
    Detection,
    Incident,
    IncidentState,
    Judgement,
    SensorKind,
    Severity,
    Track,
    TrackChange,
    canonical_json,
    new_incident,
    new_judgement,
    new_track,
    sighting_key,
    sightings_and_keys,
)
from uav.detect.pipeline import MemorySink, Pipeline
from uav.detect.report_query import Filters, sightings, stats
from uav.detect.track import EARTH_RADIUS_M, PlotGate, Tracker
from uav.store import Store
from uav.store.evidence import fast_insert, logged_keys


def dumps(doc: Any) -> str:
    """The canonical form, the plain way."""
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS).decode()


def finite_tree(doc: Any) -> bool:
    if isinstance(doc, float):
        return math.isfinite(doc)
    if isinstance(doc, dict):
        return all(map(finite_tree, doc.values()))
    if isinstance(doc, list | tuple):
        return all(map(finite_tree, doc))
    return True


def holds_null(doc: Any) -> bool:
    """Whether a parsed JSON document holds a null anywhere (a string "null" is no null)."""
    if doc is None:
        return True
    if isinstance(doc, dict):
        return any(map(holds_null, doc.values()))
    if isinstance(doc, list):
        return any(map(holds_null, doc))
    return False


def sighting_doc(d: Detection) -> dict[str, Any]:
    doc = {f.name: getattr(d, f.name) for f in fields(d)}
    doc = {k: v for k, v in doc.items() if v is not None}
    doc.pop("extra", None)
    doc.pop("received_s", None)
    return doc


floats = st.floats(width=64)  # NaN and infinities too: refused, never written as null
texts = st.text(max_size=12)


@given(
    t=floats,
    lat=st.none() | floats,
    alt=st.none() | floats | st.integers(-10, 10),  # an int where a float is declared
    frame=st.none() | st.sampled_from(list(AltFrame)),
    rid=st.none() | texts,
    callsign=st.none() | texts | st.integers(0, 9),  # a field of another type than declared
    sysid=st.none() | st.integers(0, 255) | st.booleans(),
    received=st.none() | floats,
    extra=st.dictionaries(texts, st.integers(-(2**63), 2**63 - 1) | texts | floats, max_size=2),
)
# the string "null" inside a value (here in the track id "rid:null") is no null
@example(0.0, None, None, None, "null", None, None, None, {})
def test_sighting_json_is_canonical_json_of_the_fields(
    t: float,
    lat: float | None,
    alt: Any,
    frame: AltFrame | None,
    rid: str | None,
    callsign: Any,
    sysid: Any,
    received: float | None,
    extra: dict[str, Any],
) -> None:
    d = Detection(
        t, "jsonl:-", "s\u00e9", SensorKind.RF, lat, lat, alt, frame, remote_id=rid,
        callsign=callsign, mavlink_sysid=sysid, received_s=received, extra=extra,
    )  # fmt: skip
    j = judgement(d)
    if not finite_tree(sighting_doc(d)):
        with pytest.raises(ValueError, match="not finite"):
            d.sighting_json()
        with pytest.raises(ValueError, match="not finite"):
            sightings_and_keys([d])
        return
    assert d.sighting_json() == dumps(sighting_doc(d))
    if not (finite_tree(extra) and finite_tree(received)):
        with pytest.raises(ValueError, match="not finite"):
            detection_payload(d, j)
        with pytest.raises(ValueError, match="not finite"):
            sightings_and_keys([d]) if not finite_tree(extra) else detection_payloads(
                [d], [j], [d.sighting_json()]
            )
        return
    payload = detection_payload(d, j)
    doc = json.loads(payload)
    assert not holds_null(doc)  # no NaN written as null, no None field written
    assert payload == dumps(doc)  # canonical as a whole
    assert dumps(doc["detection"]) == d.sighting_json()
    assert ("extra" in doc) == bool(extra) and ("received_s" in doc) == (received is not None)
    assert stored_sighting(payload) == (float(t), d.sighting_json())
    assert stored_key(payload) == d.key == sightings_and_keys([d])[1][0]


def test_the_canonical_form_pinned() -> None:
    """orjson's form, not json.dumps's: shortest floats without a padded exponent,
    non-ASCII as UTF-8, sorted keys, no spaces; enums as their value."""
    d = Detection(1e16, "s", "capteur-é", SensorKind.RF, 1e-7, -0.0, 100.0, AltFrame.AMSL)
    assert d.sighting_json() == (
        '{"alt_frame":"amsl","alt_m":100.0,"lat_deg":1e-7,"lon_deg":-0.0,'
        '"sensor_id":"capteur-é","sensor_kind":"rf","source":"s","time_s":1e+16}'
    )
    assert canonical_json({"b": [1, 2.5], "a": "\n"}) == b'{"a":"\\n","b":[1,2.5]}'
    # a null is a None, never a NaN: the check is not fooled by a string holding "null"
    assert canonical_json({"a": None, "b": "null"}) == b'{"a":null,"b":"null"}'
    for bad in ({"a": None, "b": math.nan}, {"a": [1.0, {"c": -math.inf}]}, (math.nan,)):
        with pytest.raises(ValueError, match="not finite"):
            canonical_json(bad)
    with pytest.raises(ValueError, match="not loggable"):
        canonical_json({"big": 2**64})


@given(
    authorised=st.booleans(),
    by=st.none() | texts,
    severity=st.sampled_from(list(Severity)),
    zone_ids=st.lists(st.integers(-5, 10**6), max_size=3).map(tuple),
    zone_id=st.none() | st.integers(0, 99) | st.floats(),  # a float: not remembered
    name=st.none() | texts,
    clearance=st.none() | st.floats(width=64),
    flags=st.lists(st.sampled_from(["no-altitude", "pressure-altitude"]), max_size=2).map(tuple),
)
def test_judgement_json_is_canonical_json_of_the_fields(
    authorised: bool,
    by: str | None,
    severity: Severity,
    zone_ids: tuple[int, ...],
    zone_id: Any,
    name: str | None,
    clearance: float | None,
    flags: tuple[str, ...],
) -> None:
    j = Judgement("rid:\u00e9", Category.DRONE, authorised, by, severity, zone_ids, zone_id,
                  name, clearance, flags)  # fmt: skip
    doc = {k: v for k, v in vars(j).items() if v is not None}
    for empty_left_out in ("zone_ids", "flags"):
        if not doc[empty_left_out]:
            del doc[empty_left_out]
    d = detection(1)
    if not finite_tree(doc):
        with pytest.raises(ValueError, match="not finite"):
            judgement_json(j)
        with pytest.raises(ValueError, match="not finite"):
            detection_payloads([d], [j], [d.sighting_json()])
        return
    assert judgement_json(j) == dumps(doc)
    for _ in range(2):  # encoded, then maybe remembered: the same text both times
        (payload,), _zones = detection_payloads([d], [j], [d.sighting_json()])
        assert json.loads(payload)["judgement"] == json.loads(dumps(doc))
        assert payload == detection_payload(d, j)


def test_new_judgement_equals_the_dataclass() -> None:
    args = ("rid:X", Category.DRONE, False, None, Severity.HIGH, (3, 4), 3, "z", 0.0, ("f",))
    made, plain = new_judgement(*args), Judgement(*args)
    assert made == plain and hash(made) == hash(plain) and vars(made) == vars(plain)


def test_payload_round_trips_and_gives_the_key_to_an_auditor() -> None:
    d = replace(detection(3), extra={"rssi": -71}, callsign="航班7")
    payload = detection_payload(d, judgement(d, zone_ids=(7,)))
    back, _ = detection_from_payload(payload)
    assert back == d and back.extra == d.extra and back.received_s == d.received_s
    # the key in a few lines, over the stored text (no re-encoding): time in ms (12 hex
    # digits), then SHA-256 of the sighting object's text as it stands in the payload
    start = len('{"detection":')
    sighting, end = json.JSONDecoder().raw_decode(payload, start)
    text = payload[start:end]
    ms = math.floor(sighting["time_s"] * 1000)
    assert f"{ms:012x}{hashlib.sha256(text.encode()).hexdigest()[:20]}" == d.key
    # or re-encoded with orjson (sorted keys): the same text
    assert orjson.dumps(sighting, option=orjson.OPT_SORT_KEYS).decode() == text
    assert detection_key_of(sighting) == d.key == stored_key(payload)


def test_a_detection_that_cannot_be_logged_is_refused_alone_before_judging(
    db: Path,
) -> None:
    """A NaN never reaches a payload as null: the pipeline leaves out (and counts) the
    detections it cannot log, before anything is judged or tracked; the rest is logged."""
    store = Store.open(db)
    dets = [detection(i) for i in range(4)]
    dets[1] = replace(dets[1], alt_m=math.nan)
    dets[2] = replace(dets[2], extra={"snr": math.inf})
    tracker = Tracker()
    with EvidenceLog(store, background=False) as log:
        result = Pipeline(Judge(ZoneIndex([])), tracker, Incidents(), log).ingest(dets)
        assert result.refused == 2 and [d.time_s for d in result.detections] == [
            dets[0].time_s,
            dets[3].time_s,
        ]
    con = sqlite3.connect(db)
    rows = con.execute("SELECT kind, payload FROM evidence").fetchall()
    con.close()
    assert {k for k, _ in rows} == {"detection", "track"}
    # detection payloads leave None out: a null could only be a NaN; no record holds one
    assert not any("null" in p for k, p in rows if k == "detection")
    assert not any("NaN" in p or "Infinity" in p for _, p in rows)
    assert store.evidence_count("detection") == 2
    store.close()


def test_key_ignores_reception_and_extra_but_not_the_sighting() -> None:
    d = detection(1)
    again = replace(d, received_s=d.time_s + 9.0, extra={"x": 1})
    assert again.key == d.key
    moved = replace(d, lat_deg=(d.lat_deg or 0.0) + 1e-7)
    assert moved.key != d.key and moved.key[:12] == d.key[:12]
    assert len(d.key) == 32 and int(d.key, 16) >= 0


@pytest.mark.parametrize(
    ("time_s", "prefix"),
    [(-5.0, "0" * 12), (math.nan, "0" * 12), (math.inf, "f" * 12), (1e300, "f" * 12),
     (T0_S + 0.0015, f"{math.floor((T0_S + 0.0015) * 1000):012x}")],
)  # fmt: skip
def test_key_time_prefix_is_clamped(time_s: float, prefix: str) -> None:
    assert sighting_key(time_s, b"{}")[:12] == prefix == sighting_key(time_s, "{}")[:12]


def brute_nearest(gate: PlotGate, t_s: float, lat: float, lon: float) -> str | None:
    best: tuple[float, int] | None = None
    for slot, _ in enumerate(gate.ids):
        dt = abs(t_s - gate.t_s[slot])
        x = math.radians(gate.lon[slot] - lon) * math.cos(math.radians(lat))
        dist = EARTH_RADIUS_M * math.hypot(x, math.radians(gate.lat[slot] - lat))
        if dt <= 30.0 and dist <= 50.0 + 60.0 * dt and (best is None or (dist, slot) < best):
            best = (dist, slot)
    return None if best is None else gate.ids[best[1]]


@settings(max_examples=60)
@given(
    lat0=st.floats(-84.0, 84.0),
    moves=st.lists(
        st.tuples(st.integers(0, 15), st.floats(-0.03, 0.03), st.floats(-0.03, 0.03),
                  st.floats(0.0, 40.0), st.booleans()),
        min_size=1, max_size=60,
    ),
)  # fmt: skip
def test_plot_gate_grid_finds_what_a_scan_of_all_finds(
    lat0: float, moves: list[tuple[int, float, float, float, bool]]
) -> None:
    gate = PlotGate(50.0 + 60.0 * 30.0)
    for n, dlat, dlon, t_s, drop in moves:
        lat, lon = lat0 + dlat, 100.0 + dlon
        assert gate.nearest(t_s, lat, lon, 50.0, 60.0, 30.0) == brute_nearest(gate, t_s, lat, lon)
        if drop:
            gate.drop(f"plot:{n}")
        else:
            gate.put(f"plot:{n}", t_s, lat, lon)


def test_logged_keys_over_runs_probes_and_ranges(db: Path) -> None:
    store = Store.open(db)
    # a dense run, a lone key far away, and keys never logged in between
    dense = [Detection(T0_S + i * 0.01, "s", "s", SensorKind.RF, 1.0, 1.0) for i in range(80)]
    far = [Detection(T0_S + 86_400.0, "s", "s", SensorKind.RF, 2.0, 2.0)]
    other = [Detection(T0_S + 500.0 + i, "s", "s", SensorKind.RF, 3.0, 3.0) for i in range(5)]
    logged = dense[::2] + far
    with EvidenceLog(store, background=False) as log:
        log.append_detections(logged, [judgement(d) for d in logged])
    wanted = [d.key for d in dense + far + other]
    with store.engine.connect() as conn:
        assert logged_keys(conn, wanted) == {d.key for d in logged}
        assert logged_keys(conn, []) == set()
    store.close()


def test_a_repeat_that_got_past_the_check_is_refused_by_the_index(db: Path) -> None:
    store = Store.open(db)
    dets, js, keys = batch(3)
    with EvidenceLog(store, background=False) as log:
        log.append_detections(dets, js, keys)
    con = sqlite3.connect(db)
    with pytest.raises(sqlite3.IntegrityError):
        con.execute(
            "INSERT INTO detections (seq, key, time_s, source, track_id, category, severity,"
            " authorised) VALUES (99, ?, 0, 's', 't', 'drone', 'low', 0)",
            (keys[1],),
        )
    con.close()
    store.close()


@pytest.mark.parametrize("n", [1, 40, 499, 500, 1001])
def test_multi_row_insert_writes_every_row_in_order(db: Path, n: int) -> None:
    store = Store.open(db)
    pairs = Table("pairs", MetaData(), Column("seq", Integer), Column("zone_id", Integer))
    rows = [(i, i * 7) for i in range(1, n + 1)]
    with store.begin() as conn:
        pairs.create(conn)
        fast_insert(conn, pairs, rows)
    with store.engine.connect() as conn:
        got = conn.exec_driver_sql("SELECT seq, zone_id FROM pairs ORDER BY rowid")
        assert [tuple(r) for r in got] == rows
    store.close()


class Boom(Exception):
    pass


class FailingSink(MemorySink):
    def flush(self) -> None:
        raise Boom


def test_ingest_restores_the_garbage_collector_on_every_path() -> None:
    judge, tracker, incidents = Judge(ZoneIndex([])), Tracker(), Incidents()
    dets = [detection(i) for i in range(3)]
    assert gc.isenabled()
    Pipeline(judge, tracker, incidents, MemorySink()).ingest(dets)
    assert gc.isenabled()
    with pytest.raises(Boom):
        Pipeline(judge, tracker, incidents, FailingSink()).ingest(dets)
    assert gc.isenabled()
    gc.disable()
    try:
        Pipeline(judge, tracker, incidents, MemorySink()).ingest([detection(9)])
        assert not gc.isenabled()  # left as it was found
    finally:
        gc.enable()


def test_new_track_and_new_incident_equal_the_dataclasses() -> None:
    t_args = ("rid:X", Category.DRONE, 1.0, 2.0, 3, 23.1, 113.3, 50.0, AltFrame.AMSL, False,
              None, "X", None, 23.0, 113.0, TrackChange.NEW)  # fmt: skip
    made_t, plain_t = new_track(*t_args), Track(*t_args)
    assert made_t == plain_t and hash(made_t) == hash(plain_t) and vars(made_t) == vars(plain_t)
    i_args = ("rid:X@7#1", "rid:X", 7, "z", Severity.HIGH, IncidentState.OPEN, 1.0, 2.0, None,
              2, False, 23.1, 113.3, 50.0, "X", None, 23.0, 113.0)  # fmt: skip
    made_i, plain_i = new_incident(*i_args), Incident(*i_args)
    assert made_i == plain_i and hash(made_i) == hash(plain_i) and vars(made_i) == vars(plain_i)
    with pytest.raises(ValueError):
        new_track(*t_args[:-1])  # every field, or none made


def test_time_and_zone_filters_give_what_a_scan_gives(db: Path) -> None:
    """--since/--until read a range of the key index (no index on time): the rows are those
    whose time_s is in [since, until], boundaries included, as a plain scan says. --zone
    matches a zone in the zone_ids text, not a zone whose id merely contains its digits."""
    store = Store.open(db)
    dets = [detection(i) for i in range(40)]  # 0.5 s apart
    zones = [(9,), (19,), (7, 9), ()]
    js = [judgement(d, zone_ids=zones[i % 4]) for i, d in enumerate(dets)]
    with EvidenceLog(store, background=False) as log:
        log.append_detections(dets, js)
    times = [d.time_s for d in dets]
    for since, until in [(times[3], times[17]), (times[3] + 1e-4, times[17] - 1e-4),
                         (times[0] - 5.0, times[39] + 5.0), (-1e300, 1e300), (times[39], None),
                         (None, times[0]), (times[5] + 0.0004, times[5] + 0.0009)]:  # fmt: skip
        got = [s.time_s for s in sightings(store, Filters(since_s=since, until_s=until))]
        lo = -math.inf if since is None else since
        hi = math.inf if until is None else until
        assert got == [t for t in times if lo <= t <= hi], (since, until)
    in_9 = [s.time_s for s in sightings(store, Filters(zone_id=9))]
    assert in_9 == [t for t, z in zip(times, zones * 10, strict=True) if 9 in z]
    per_zone = {z["zone_id"]: z["detections"] for z in stats(store, Filters()).per_zone}
    assert per_zone == {9: 20, 19: 10, 7: 10}
    store.close()


def test_holds_null_finds_a_nan_written_as_null_not_the_string() -> None:
    """The helper the payload test relies on: it sees a NaN that plain orjson writes as null
    at any depth, and not the text "null" in a string or a key."""
    assert holds_null(json.loads(orjson.dumps({"a": [1, {"b": float("nan")}]})))
    assert not holds_null(json.loads(orjson.dumps({"null": "rid:null", "a": ["null"]})))
