"""``uav detect verify`` / verify_evidence: one test per kind of tampering, raw sqlite3."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Invoke
from tests.detect_evidence_support import T0_S, batch, incident, track
from uav.detect.evidence import EvidenceLog
from uav.detect.model import IncidentState
from uav.detect.verify import (
    BROKEN_LINK,
    HASH_MISMATCH,
    INDEX_MISMATCH,
    OUT_OF_ORDER,
    SEQ_GAP,
    TIP_MISMATCH,
    VerifyReport,
    verify_evidence,
)
from uav.store import Store

RECORDS = 14  # 12 detections, a track and an incident


@pytest.fixture
def logged(db: Path) -> Iterator[Path]:
    store = Store.open(db)
    dets, js, keys = batch(12)
    with EvidenceLog(store, background=False) as log:
        log.append_detections(dets[:6], js[:6], keys[:6])
        log.append_tracks([track("icao:A00000", 6, dets[5].time_s)])
        log.append_incidents([incident("icao:A00000", IncidentState.OPEN, dets[5].time_s, 2)])
        log.flush()
        log.append_detections(dets[6:], js[6:], keys[6:])
    store.close()
    yield db


def tamper(db: Path, *sql: str) -> None:
    con = sqlite3.connect(db)
    with con:
        for s in sql:
            con.execute(s)
    con.close()


def rehash(prev: str, seq: int, kind: str, t: float, payload: str) -> str:
    return hashlib.sha256(f"{prev}\n{seq}\n{kind}\n{t!r}\n{payload}".encode()).hexdigest()


def insert_sql(seq: int, kind: str, payload: str, prev_hash: str, h: str) -> str:
    values = f"{seq}, '{kind}', {T0_S!r}, '{payload}', '{prev_hash}', '{h}'"
    return f"INSERT INTO evidence VALUES ({values})"


def check(db: Path) -> tuple[str, int | None, str]:
    store = Store.open(db)
    try:
        report = verify_evidence(store)
    finally:
        store.close()
    assert report.problem is not None, "tampering not detected"
    return report.problem.what, report.problem.seq, report.problem.detail


def test_clean_log_verifies(logged: Path, uav: Invoke) -> None:
    res = uav("detect", "verify", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["ok"] is True and doc["records"] == RECORDS
    assert doc["by_kind"] == {"detection": 12, "incident": 1, "track": 1}
    assert doc["problem"] is None and len(doc["tip_hash"]) == 64


def verify_with_progress(db: Path) -> tuple[VerifyReport, list[tuple[int, int]]]:
    """verify_evidence's report, and the (done, total) calls of its progress callback."""
    calls: list[tuple[int, int]] = []
    store = Store.open(db)
    try:
        report = verify_evidence(store, progress=lambda done, total: calls.append((done, total)))
    finally:
        store.close()
    return report, calls


def test_progress_is_told_as_the_walk_goes(logged: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every STREAM_ROWS records and at the end: records checked, of the last seq (the CLI
    draws its bar on stderr from it)."""
    monkeypatch.setattr("uav.detect.verify.STREAM_ROWS", 5)
    report, calls = verify_with_progress(logged)
    assert report.ok and calls == [(5, RECORDS), (10, RECORDS), (RECORDS, RECORDS)]


def test_progress_stops_where_a_gap_stops_the_walk(logged: Path) -> None:
    tamper(logged, "DELETE FROM evidence WHERE seq = 4")
    report, calls = verify_with_progress(logged)
    assert report.problem is not None and report.problem.what == SEQ_GAP
    assert calls == [(3, RECORDS)]  # three records checked before the gap, of seq 14


def test_empty_log_verifies(uav: Invoke) -> None:
    res = uav("detect", "verify")
    assert res.exit_code == 0, res.output
    assert "0 records" in res.stderr


def test_edited_payload_is_a_hash_mismatch(logged: Path, uav: Invoke) -> None:
    tamper(logged, "UPDATE evidence SET payload = replace(payload, '23.1', '23.2') WHERE seq = 4")
    assert check(logged)[:2] == (HASH_MISMATCH, 4)
    res = uav("detect", "verify")
    assert res.exit_code == 1
    assert "seq 4" in res.stderr and HASH_MISMATCH in res.stderr


def test_edit_with_matching_hash_breaks_the_next_link(logged: Path) -> None:
    con = sqlite3.connect(logged)
    seq, kind, t, payload, prev = con.execute(
        "SELECT seq, kind, time_s, payload, prev_hash FROM evidence WHERE seq = 5"
    ).fetchone()
    con.close()
    forged = payload.replace('"authorised":false', '"authorised":true')
    assert forged != payload
    new_hash = rehash(prev, seq, kind, t, forged)
    tamper(logged, f"UPDATE evidence SET payload = '{forged}', hash = '{new_hash}' WHERE seq = 5")
    assert check(logged)[:2] == (BROKEN_LINK, 6)


def test_deleted_record_is_a_gap(logged: Path) -> None:
    tamper(logged, "DELETE FROM evidence WHERE seq = 8")
    assert check(logged)[:2] == (SEQ_GAP, 9)


def test_deleted_last_record_shows_against_the_tip(logged: Path) -> None:
    tamper(logged, f"DELETE FROM evidence WHERE seq = {RECORDS}")
    what, _, _ = check(logged)
    assert what in (INDEX_MISMATCH, TIP_MISMATCH)  # its detections row is orphaned too
    tamper(logged, f"DELETE FROM detections WHERE seq = {RECORDS}")
    assert check(logged)[0] == TIP_MISMATCH


def test_inserted_forged_record_is_caught(logged: Path) -> None:
    # renumber to make room in the middle, then insert a record chained to its predecessor
    con = sqlite3.connect(logged)
    prev_hash = con.execute("SELECT hash FROM evidence WHERE seq = 3").fetchone()[0]
    con.close()
    payload = '{"forged":true}'
    h = rehash(prev_hash, 4, "detection", T0_S, payload)
    tamper(
        logged,
        "UPDATE evidence SET seq = seq + 1000 WHERE seq >= 4",
        "UPDATE evidence SET seq = seq - 999 WHERE seq >= 1000",
        insert_sql(4, "detection", payload, prev_hash, h),
    )
    what, seq, _ = check(logged)
    assert seq == 5 and what in (OUT_OF_ORDER, BROKEN_LINK, HASH_MISMATCH)


def test_forged_record_appended_at_the_end_is_caught(logged: Path) -> None:
    con = sqlite3.connect(logged)
    prev_hash = con.execute(f"SELECT hash FROM evidence WHERE seq = {RECORDS}").fetchone()[0]
    con.close()
    payload = '{"forged":true}'
    seq = RECORDS + 1
    h = rehash(prev_hash, seq, "track", T0_S, payload)
    tamper(
        logged,
        insert_sql(seq, "track", payload, prev_hash, h),
    )
    # the chain itself is consistent: the derived tables and the recorded tip are not
    what, _, _ = check(logged)
    assert what in (INDEX_MISMATCH, TIP_MISMATCH)


def test_swapped_records_are_out_of_order(logged: Path) -> None:
    tamper(
        logged,
        "UPDATE evidence SET seq = -1 WHERE seq = 10",
        "UPDATE evidence SET seq = 10 WHERE seq = 11",
        "UPDATE evidence SET seq = 11 WHERE seq = -1",
    )
    what, seq, detail = check(logged)
    assert (what, seq) == (OUT_OF_ORDER, 10)
    assert "written as seq 11" in detail


def test_edited_detections_row_is_an_index_mismatch(logged: Path) -> None:
    tamper(logged, "UPDATE detections SET authorised = 1 WHERE seq = 3")
    what, seq, detail = check(logged)
    assert (what, seq) == (INDEX_MISMATCH, 3) and "authorised" in detail


def test_deleted_detections_row_is_an_index_mismatch(logged: Path) -> None:
    tamper(logged, "DELETE FROM detections WHERE seq = 2")
    assert check(logged)[:2] == (INDEX_MISMATCH, 2)


def test_edited_zone_membership_is_an_index_mismatch(logged: Path) -> None:
    tamper(logged, "UPDATE detections SET zone_ids = '7' WHERE seq = 1")  # was '7,9'
    what, seq, detail = check(logged)
    assert (what, seq) == (INDEX_MISMATCH, 1) and "zone_ids" in detail


def test_edited_track_and_incident_rows_are_index_mismatches(logged: Path) -> None:
    tamper(logged, "UPDATE incidents SET state = 'closed'")
    what, seq, detail = check(logged)
    assert (what, seq) == (INDEX_MISMATCH, 8) and "state" in detail
    tamper(logged, "UPDATE incidents SET state = 'open'", "DELETE FROM tracks")
    assert check(logged)[:2] == (INDEX_MISMATCH, 7)


def test_recorded_tip_must_be_in_the_chain(logged: Path, uav: Invoke) -> None:
    store = Store.open(logged)
    tip = store.evidence_tip()
    assert verify_evidence(store, tip_hash=tip.hash).ok
    report = verify_evidence(store, tip_hash="f" * 64)
    store.close()
    assert report.problem is not None and report.problem.what == TIP_MISMATCH
    assert uav("detect", "verify", "--tip", tip.hash).exit_code == 0
    assert uav("detect", "verify", "--tip", "f" * 64).exit_code == 1


def test_json_names_the_first_bad_record(logged: Path, uav: Invoke) -> None:
    tamper(logged, "DELETE FROM evidence WHERE seq IN (3, 9)")
    res = uav("detect", "verify", "--json")
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    assert doc["ok"] is False and doc["records"] == 2  # counted up to the first bad record
    assert doc["problem"]["seq"] == 4 and doc["problem"]["what"] == SEQ_GAP
    assert doc["problem"]["kind"] == "detection" and doc["problem"]["time_s"] == T0_S + 1.5


def test_a_log_written_before_orjson_still_verifies_and_keys_match(db: Path) -> None:
    """Payloads of the json.dumps era (\\u escapes, 1e-07) hash and key as stored: verify
    recomputes the key over the stored sighting text, never a re-encoding of it."""
    store = Store.open(db)
    store.close()
    sighting = {"callsign": "航班7", "lat_deg": 1e-07, "lon_deg": 113.3, "sensor_id": "rx",
                "sensor_kind": "rf", "source": "s", "time_s": T0_S}  # fmt: skip
    judged = {"authorised": False, "category": "unknown", "severity": "low", "track_id": "p:1"}
    old = json.dumps({"detection": sighting, "judgement": judged}, sort_keys=True,
                     separators=(",", ":"))  # fmt: skip
    assert "\\u" in old and "1e-07" in old  # not what orjson writes
    text = json.dumps(sighting, sort_keys=True, separators=(",", ":"))
    key = f"{int(T0_S * 1000):012x}{hashlib.sha256(text.encode()).hexdigest()[:20]}"
    h = rehash("0" * 64, 1, "detection", T0_S, old)
    con = sqlite3.connect(db)
    con.execute(
        "INSERT INTO evidence (seq, kind, time_s, payload, prev_hash, hash) VALUES (1, "
        "'detection', ?, ?, ?, ?)",
        (T0_S, old, "0" * 64, h),
    )
    con.execute(
        "INSERT INTO detections (seq, key, time_s, source, track_id, lat_deg, lon_deg, category,"
        " severity, authorised) VALUES (1, ?, ?, 's', 'p:1', 1e-07, 113.3, 'unknown', 'low', 0)",
        (key, T0_S),
    )
    con.execute("INSERT INTO meta (key, value) VALUES ('evidence_tip', ?)", (f"1:{h}",))
    con.commit()
    con.close()
    store = Store.open(db)
    report = verify_evidence(store)
    assert report.ok, report.problem
    store.close()
    tamper(db, f"UPDATE detections SET key = '{key[:-1]}0' WHERE seq = 1")
    assert check(db)[0] == INDEX_MISMATCH
