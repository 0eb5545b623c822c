"""Benchmark: the evidence log's throughput (detection records per second, one core).

Appends N synthetic detections from T tracks (with judgements, a quarter of them inside two
zones) to a fresh SQLite database through :class:`uav.detect.evidence.EvidenceLog`, one
transaction per batch, and prints records/s (wall and CPU), against the naive way in the same
run: one transaction per detection, reading the tip and checking the key each time. The
detections and their keys are made before the clock starts (the pipeline computes keys); the
time includes ``known_keys`` per batch, which the pipeline asks before judging.
The log is then verified (``uav detect verify``'s check), its time printed too.

Figures only, no assertions. Run: ``python bench/evidence.py [--detections 500000]
[--tracks 2000] [--batch 20000] [--naive 5000]``.
"""

# ruff: noqa: E402  (imports follow the sys.path set-up that lets this run as a script)

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]

from uav.detect.evidence import EvidenceLog, detection_payload, detection_row_tail
from uav.detect.model import (
    AltFrame,
    Category,
    Detection,
    Judgement,
    SensorKind,
    Severity,
)
from uav.detect.verify import verify_evidence
from uav.store import Store
from uav.store import schema_evidence as S
from uav.store.evidence import append_evidence, fast_insert, lock_chain, logged_keys, read_tip

T0_S = 1_790_000_000.0


def make(n: int, tracks: int) -> tuple[list[Detection], list[Judgement], list[str]]:
    dets: list[Detection] = []
    judgements: list[Judgement] = []
    for i in range(n):
        tr = i % tracks
        d = Detection(
            time_s=T0_S + i * 0.001,
            source="sbs:tcp:127.0.0.1:30003",
            sensor_id="rx-1",
            sensor_kind=SensorKind.ADSB,
            lat_deg=23.0 + tr * 1e-4 + i * 1e-8,
            lon_deg=113.0 + tr * 1e-4,
            alt_m=80.0 + tr % 50,
            alt_frame=AltFrame.PRESSURE,
            icao_address=f"{tr:06X}",
            emitter_type=14,
            received_s=T0_S + i * 0.001 + 0.2,
        )
        inside = tr % 4 == 0
        dets.append(d)
        judgements.append(
            Judgement(
                track_id=f"icao:{tr:06X}",
                category=Category.DRONE,
                authorised=False,
                authorised_by=None,
                severity=Severity.HIGH if inside else Severity.LOW,
                zone_ids=(tr % 97, 100 + tr % 13) if inside else (),
                zone_id=tr % 97 if inside else None,
                zone_name="zone" if inside else None,
            )
        )
    return dets, judgements, [d.key for d in dets]


def run_log(db: Path, dets: list[Detection], js: list[Judgement], keys: list[str], b: int) -> float:
    store = Store.open(db)
    t0, c0 = time.perf_counter(), time.process_time()
    with EvidenceLog(store, background=False, batch_max=10**9) as log:
        for i in range(0, len(dets), b):
            known = log.known_keys(keys[i : i + b])  # as the pipeline does before judging
            assert not known
            log.append_detections(dets[i : i + b], js[i : i + b], keys[i : i + b])
            log.flush()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    store.close()
    n = len(dets)
    print(f"evidence log:  {n:>9,} detections  {n / wall:>9,.0f}/s wall  {n / cpu:>9,.0f}/s CPU")
    return n / wall


def run_naive(db: Path, dets: list[Detection], js: list[Judgement], keys: list[str]) -> float:
    """One transaction per detection: check the key, read the tip, insert, commit."""
    store = Store.open(db)
    t0 = time.perf_counter()
    for d, j, k in zip(dets, js, keys, strict=True):
        with store.begin() as conn:
            lock_chain(conn)
            if logged_keys(conn, [k]):
                continue
            seq = read_tip(conn).seq + 1
            append_evidence(conn, [("detection", d.time_s, detection_payload(d, j))])
            fast_insert(conn, S.detections, [(seq, *detection_row_tail(d, j, k))])
    wall = time.perf_counter() - t0
    store.close()
    n = len(dets)
    print(f"naive:         {n:>9,} detections  {n / wall:>9,.0f}/s wall (a transaction each)")
    return n / wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--detections", type=int, default=500_000)
    ap.add_argument("--tracks", type=int, default=2_000)
    ap.add_argument("--batch", type=int, default=20_000)
    ap.add_argument("--naive", type=int, default=5_000, help="detections for the naive run")
    a = ap.parse_args()
    dets, js, keys = make(a.detections, a.tracks)
    gc.freeze()  # the synthetic input is long-lived: keep the collector off it
    with tempfile.TemporaryDirectory(prefix="uav-bench-evidence-") as tmp:
        fast = run_log(Path(tmp) / "log.db", dets, js, keys, a.batch)
        naive = run_naive(Path(tmp) / "naive.db", dets[: a.naive], js[: a.naive], keys[: a.naive])
        print(
            f"speed-up:      {fast / naive:,.0f}x   ({1e6 / fast:.1f} us per record of the 20 us "
            "a detection may take at bench/detect.py's 50,000/s)"
        )
        store = Store.open(Path(tmp) / "log.db")
        t0 = time.perf_counter()
        report = verify_evidence(store)
        dt = time.perf_counter() - t0
        store.close()
        state = "intact" if report.ok else f"NOT intact: {report.problem}"
        print(f"verify:        {report.records:>9,} records in {dt:.1f} s, {state}")


if __name__ == "__main__":
    main()
