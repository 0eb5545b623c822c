"""The evidence log: chained records, query rows, idempotency, batching, reopening."""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.detect_evidence_support import T0_S, batch, detection, incident, judgement, track
from uav.detect.evidence import (
    EvidenceLog,
    detection_from_payload,
    detection_payload,
    detection_row_tail,
)
from uav.detect.model import AltFrame, Detection, IncidentState, SensorKind
from uav.detect.verify import verify_evidence
from uav.errors import StoreError
from uav.store import Store


@pytest.fixture
def store(db: Path) -> Iterator[Store]:
    s = Store.open(db)
    yield s
    s.close()


def auditor_walk(db: Path) -> int:
    """The recipe of the uav.store.evidence docstring, verbatim: an independent check."""
    prev, n = "0" * 64, 0
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT seq, kind, time_s, payload, prev_hash, hash FROM evidence ORDER BY seq"
    )
    for seq, kind, t, payload, prev_hash, h in rows:
        n += 1
        text = f"{prev}\n{seq}\n{kind}\n{t!r}\n{payload}"
        assert seq == n and prev_hash == prev
        assert hashlib.sha256(text.encode()).hexdigest() == h
        prev = h
    con.close()
    return n


def test_records_chain_in_append_order_with_query_rows(store: Store, db: Path) -> None:
    dets, js, keys = batch(10)
    with EvidenceLog(store, background=False) as log:
        log.append_detections(dets[:5], js[:5], keys[:5])
        log.append_tracks([track("icao:A00000", 5, dets[4].time_s)])
        log.append_incidents([incident("icao:A00000", IncidentState.OPEN, dets[4].time_s, 2)])
        log.append_detections(dets[5:], js[5:], keys[5:])
        commit = log.flush()
    assert commit is not None and commit.records == 12 and commit.detections == 10
    assert auditor_walk(db) == 12
    con = sqlite3.connect(db)
    kinds = [k for (k,) in con.execute("SELECT kind FROM evidence ORDER BY seq")]
    assert kinds == ["detection"] * 5 + ["track", "incident"] + ["detection"] * 5
    det_seqs = [s for (s,) in con.execute("SELECT seq FROM detections ORDER BY seq")]
    assert det_seqs == [1, 2, 3, 4, 5, 8, 9, 10, 11, 12]
    zone_rows = con.execute("SELECT zone_ids, seq FROM detections ORDER BY seq")
    assert [r for r in zone_rows if r[0] is not None] == [("7,9", 1), ("7,9", 5), ("7,9", 11)]
    assert con.execute("SELECT track_id, seq FROM tracks").fetchall() == [("icao:A00000", 6)]
    assert con.execute("SELECT state, seq FROM incidents").fetchall() == [("open", 7)]
    tip = con.execute("SELECT value FROM meta WHERE key='evidence_tip'").fetchone()[0]
    last = con.execute("SELECT seq, hash FROM evidence ORDER BY seq DESC LIMIT 1").fetchone()
    assert tip == f"{last[0]}:{last[1]}"
    con.close()
    assert verify_evidence(store).ok


def test_payload_is_canonical_and_round_trips() -> None:
    det = detection(3)
    det = replace(det, extra={"z": [1, 2], "a": "é"}, callsign="B-7\n")
    j = judgement(det, zone_ids=(4,))
    payload = detection_payload(det, j)
    doc = json.loads(payload)
    assert payload == orjson.dumps(doc, option=orjson.OPT_SORT_KEYS).decode()
    assert '"a":"é"' in payload and '"B-7\\n"' in payload  # UTF-8 as is, controls escaped
    assert "null" not in payload  # None fields are left out
    back_det, back_j = detection_from_payload(payload)
    assert back_det == det and back_det.extra == det.extra and back_det.key == det.key
    assert back_j == j


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@given(
    t=finite,
    lat=st.none() | finite,
    alt=st.none() | finite,
    rid=st.none() | st.text(max_size=20),
    frame=st.none() | st.sampled_from(list(AltFrame)),
    sysid=st.none() | st.integers(0, 255),
)
def test_payload_round_trip_property(
    t: float,
    lat: float | None,
    alt: float | None,
    rid: str | None,
    frame: AltFrame | None,
    sysid: int | None,
) -> None:
    det = Detection(
        time_s=t,
        source="jsonl:-",
        sensor_id="s",
        sensor_kind=SensorKind.RF,
        lat_deg=lat,
        lon_deg=lat,
        alt_m=alt,
        alt_frame=frame,
        remote_id=rid,
        mavlink_sysid=sysid,
    )
    j = judgement(det)
    payload = detection_payload(det, j)
    assert payload == orjson.dumps(json.loads(payload), option=orjson.OPT_SORT_KEYS).decode()
    back, _ = detection_from_payload(payload)
    assert back == det and back.key == det.key
    assert detection_row_tail(back, j, back.key) == detection_row_tail(det, j, det.key)


def test_chain_continues_across_logs_and_reopen(db: Path) -> None:
    dets, js, keys = batch(6)
    s1 = Store.open(db)
    with EvidenceLog(s1, background=False) as log:
        log.append_detections(dets[:3], js[:3], keys[:3])
    s1.close()
    s2 = Store.open(db)
    with EvidenceLog(s2, background=False) as log:
        assert log.tip.seq == 3
        log.append_detections(dets[3:], js[3:], keys[3:])
    assert auditor_walk(db) == 6
    report = verify_evidence(s2)
    assert report.ok and report.records == 6 and report.tip == s2.evidence_tip()
    s2.close()


def test_ingest_is_idempotent(store: Store, db: Path) -> None:
    dets, js, keys = batch(8)
    with EvidenceLog(store, background=False) as log:
        log.append_detections(dets[:5], js[:5], keys[:5])
        log.flush()
        assert log.known_keys(keys) == set(keys[:5])
        # a replay of everything, plus a repeat inside the batch
        log.append_detections(dets + dets[7:], js + js[7:], keys + keys[7:])
        assert log.known_keys(keys) == set(keys)  # buffered keys count as known
        commit = log.flush()
    assert commit is not None and commit.detections == 3 and commit.duplicates == 6
    assert store.evidence_count("detection") == 8
    con = sqlite3.connect(db)
    assert sorted(k for (k,) in con.execute("SELECT key FROM detections")) == sorted(keys)
    con.close()
    assert verify_evidence(store).ok


def test_a_key_is_computed_when_not_given(store: Store) -> None:
    dets, js, keys = batch(2)
    with EvidenceLog(store, background=False) as log:
        log.append_detections(dets, js)
        log.append_detection(dets[0], js[0])
    assert store.evidence_count("detection") == 2
    with EvidenceLog(store, background=False) as log:
        assert log.known_keys(keys) == set(keys)


def test_state_tables_hold_the_latest_record(store: Store, db: Path) -> None:
    with EvidenceLog(store, background=False) as log:
        log.append_tracks([track("icao:A00000", 1, T0_S), track("icao:A00001", 1, T0_S)])
        log.append_incidents([incident("icao:A00000", IncidentState.OPEN, T0_S, 1)])
        log.flush()
        log.append_tracks([track("icao:A00000", 9, T0_S + 4)])
        log.append_incidents([incident("icao:A00000", IncidentState.UPDATED, T0_S + 2, 5)])
        log.append_incidents([incident("icao:A00000", IncidentState.CLOSED, T0_S + 4, 9)])
    con = sqlite3.connect(db)
    tracks = con.execute("SELECT track_id, detections, last_s, seq FROM tracks ORDER BY 1")
    assert tracks.fetchall() == [("icao:A00000", 9, T0_S + 4, 4), ("icao:A00001", 1, T0_S, 2)]
    inc = con.execute("SELECT state, detections, closed_s, seq FROM incidents").fetchall()
    assert inc == [("closed", 9, T0_S + 4, 6)]
    con.close()
    assert verify_evidence(store).ok


def test_batch_max_flushes_on_append(store: Store) -> None:
    dets, js, keys = batch(25)
    commits: list[int] = []
    log = EvidenceLog(
        store,
        background=False,
        batch_max=10,
        batch_s=3600,
        on_commit=lambda c: commits.append(c.detections),
    )
    for i in range(0, 25, 5):
        log.append_detections(dets[i : i + 5], js[i : i + 5], keys[i : i + 5])
    assert commits == [10, 10]
    assert store.evidence_count() == 20
    log.close()
    assert commits == [10, 10, 5] and store.evidence_count() == 25


def wait_until(cond, timeout_s: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout_s} s")
        threading.Event().wait(0.01)


def test_background_flush_commits_within_batch_s(store: Store) -> None:
    dets, js, keys = batch(3)
    committed = threading.Event()
    log = EvidenceLog(store, batch_s=0.1, on_commit=lambda c: committed.set())
    try:
        t0 = time.monotonic()
        log.append_detections(dets, js, keys)
        assert committed.wait(timeout=10.0), "the background flush never committed"
        assert time.monotonic() - t0 < 5.0
        assert store.evidence_count("detection") == 3
    finally:
        log.close()


def test_two_logs_on_one_database_interleave_safely(db: Path) -> None:
    s1, s2 = Store.open(db), Store.open(db)
    a = batch(40, start=0)
    b = batch(40, start=1000)
    with EvidenceLog(s1, background=False) as l1, EvidenceLog(s2, background=False) as l2:
        for i in range(0, 40, 10):
            l1.append_detections(a[0][i : i + 10], a[1][i : i + 10], a[2][i : i + 10])
            l2.append_detections(b[0][i : i + 10], b[1][i : i + 10], b[2][i : i + 10])
            l1.flush()
            l2.flush()
            # the same sightings through the other writer are skipped
            l2.append_detections(a[0][i : i + 10], a[1][i : i + 10], a[2][i : i + 10])
            assert l2.flush().detections == 0  # type: ignore[union-attr]
    assert auditor_walk(db) == 80
    assert verify_evidence(s1).ok
    s1.close()
    s2.close()


def test_closed_log_refuses_appends(store: Store) -> None:
    log = EvidenceLog(store, background=False)
    log.close()
    dets, js, keys = batch(1)
    with pytest.raises(StoreError, match="closed"):
        log.append_detections(dets, js, keys)


def test_mismatched_lengths_are_refused(store: Store) -> None:
    dets, js, keys = batch(2)
    with EvidenceLog(store, background=False) as log:
        with pytest.raises(ValueError):
            log.append_detections(dets, js[:1], keys)
        with pytest.raises(ValueError):
            log.append_detections(dets, js, keys[:1])


def test_keys_found_absent_are_asked_again_after_another_writer(db: Path) -> None:
    s1, s2 = Store.open(db), Store.open(db)
    dets, js, keys = batch(4)
    with EvidenceLog(s1, background=False) as l1, EvidenceLog(s2, background=False) as l2:
        assert l1.known_keys(keys) == set()  # l1 now holds them as absent
        l2.append_detections(dets[:2], js[:2], keys[:2])
        l2.flush()  # ... but another writer logs two of them
        l1.append_detections(dets, js, keys)
        commit = l1.flush()
        assert commit is not None and commit.detections == 2 and commit.duplicates == 2
        # l1's own commits keep its view: no other writer, nothing asked again, still right
        assert l1.known_keys(keys) == set(keys)
    assert s1.evidence_count("detection") == 4
    assert verify_evidence(s1).ok
    s1.close()
    s2.close()


@pytest.mark.parametrize(
    "change",
    [{"alt_m": math.nan}, {"lat_deg": math.inf}, {"received_s": math.nan},
     {"extra": {"rssi": [1.0, -math.inf]}}, {"extra": {"big": 2**64}}],
)  # fmt: skip
def test_a_value_canonical_json_cannot_hold_is_refused_before_buffering(
    store: Store, change: dict[str, object]
) -> None:
    """orjson writes NaN as null: a non-finite number never reaches a payload (as null or
    otherwise); nor does an int beyond 64 bits. The call is refused whole, nothing of it
    buffered, and the log goes on."""
    good, bad = detection(1), replace(detection(2), **change)  # type: ignore[arg-type]
    with EvidenceLog(store, background=False) as log:
        with pytest.raises(ValueError, match="not"):
            log.append_detections([good, bad], [judgement(good), judgement(bad)])
        assert log.flush() is None
        log.append_detections([good], [judgement(good)])
    assert store.evidence_count("detection") == 1
    assert verify_evidence(store).ok


def test_a_non_finite_track_value_is_refused_before_buffering(store: Store) -> None:
    bad = replace(track("icao:A00000", 1, T0_S), lat_deg=math.nan)
    with EvidenceLog(store, background=False) as log:
        with pytest.raises(ValueError, match="not finite"):
            log.append_tracks([bad])
        assert log.flush() is None


def test_non_finite_times_are_refused_before_buffering(store: Store) -> None:
    det = replace(detection(1), time_s=float("nan"))
    with EvidenceLog(store, background=False) as log:
        with pytest.raises(ValueError, match="time_s"):
            log.append_detections([det], [judgement(det)])
        with pytest.raises(ValueError, match="last_s"):
            log.append_tracks([track("icao:A00000", 1, float("inf"))])
        assert log.flush() is None
