"""Benchmark: the detection pipeline, judged + tracked + durably logged, against a naive one.

Generates ``--n`` detections (default 1,000,000) from ``--tracks`` aircraft (default 2,000:
Remote ID drones, ADS-B drones and manned aircraft, id-less RF plots, a few own-fleet and
permitted drones) flying random walks at 1 Hz over a square where ``--zones`` synthetic zones
(default 10,000, bench/synthetic.py) lie close together, so that many detections fall inside
zones. The tool's pipeline (Judge + Tracker + Incidents + the evidence log on a fresh SQLite
file in WAL mode, one transaction per batch) ingests them in time-ordered batches of
``--batch`` (default 12,500: the 0.25 s ``listen`` batches at the target rate); generating
the Detection objects is timed apart and not counted. The naive
pipeline (every zone tested with shapely for each detection, one INSERT and COMMIT per
detection) runs on a sample of ``--naive`` detections and is extrapolated.

Prints detections per second for both, the speed-up, the tool's time per detection in each
stage (keys and duplicate check, judge, tracks, incidents, expiry, evidence log), and what
the run found (severities, tracks, incidents, records in the log). "keys+dedupe" is each sighting
encoded once (its canonical JSON, which the log's payload reuses), its key, and the check
against the log. The evidence log copies its WAL into the database on a thread of its own
(uav.detect.checkpoint), so the tool's CPU time is printed too: the ingesting thread's plus
that thread's. Target: >= 50,000 detections/s for the tool on one core, by wall clock and
by CPU time. Run: ``python bench/detect.py [--n N] [--tracks N] [--zones N]
[--batch N] [--naive N] [--seed S] [--cpu K]``; ``--cpu`` runs the whole process (the
checkpoint thread too) on one CPU, so the wall-clock rate is one core's. The first line
names the interpreter, which matters: on the development machine Debian's python3.11 (built
with PGO and LTO) ran this about 10 % faster than pyenv's default build (without them).
"""

# ruff: noqa: E402  (imports follow the sys.path set-up that lets this run as a script)

from __future__ import annotations

import argparse
import math
import os
import platform
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import shapely

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from synthetic import BENCH_START, GUANGZHOU_LAT_DEG, GUANGZHOU_LON_DEG, synthetic_zones, to_lonlat

from uav.check.index import ZoneIndex
from uav.detect.incidents import Incidents
from uav.detect.judge import FleetIds, Judge
from uav.detect.model import AltFrame, Detection, SensorKind, Severity
from uav.detect.pipeline import Pipeline
from uav.detect.track import Tracker
from uav.gcpause import batch_ingest_gc
from uav.zones.model import Circle, Restriction, Zone

EXTENT_KM = 40.0  # zones and aircraft share this square
T = TypeVar("T")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--n", type=int, default=1_000_000, help="detections to ingest")
    ap.add_argument("--tracks", type=int, default=2_000, help="aircraft")
    ap.add_argument("--zones", type=int, default=10_000, help="synthetic zones")
    ap.add_argument("--batch", type=int, default=12_500, help="detections per ingest")
    ap.add_argument("--naive", type=int, default=300, help="detections the naive run samples")
    ap.add_argument("--seed", type=int, default=1, help="random seed")
    ap.add_argument(
        "--cpu", type=int, help="run the whole process (both threads) on this one CPU (Linux)"
    )
    args = ap.parse_args(argv)
    if args.cpu is not None:  # threads started later (the checkpointer) inherit it
        os.sched_setaffinity(0, {args.cpu})
    print(f"Python {platform.python_version()} ({sys.executable}), SQLite {sqlite3.sqlite_version}")
    if args.cpu is not None:
        print(f"pinned to CPU {args.cpu}: the wall clock is one core's")

    zones = synthetic_zones(args.zones, seed=args.seed, extent_km=EXTENT_KM)
    index = ZoneIndex(zones)
    fleet = FleetIds(remote_ids={"FLEET-0": "TH-01", "FLEET-1": "TH-02"})
    print(f"{len(zones):,} zones over {EXTENT_KM:g} km; {args.tracks:,} aircraft; ", end="")
    print(f"{args.n:,} detections")

    with tempfile.TemporaryDirectory(prefix="uav-bench-detect-") as tmp:
        db = Path(tmp) / "tool.db"
        tool_s, (cpu_s, ckpt_s), gen_s, summary = run_tool(args, index, fleet, db)
        naive_s = run_naive(args, zones, Path(tmp) / "naive.db")
    rate = args.n / tool_s
    naive_rate = args.naive / naive_s
    print(f"generating the Detection objects (not counted): {gen_s:6.1f} s")
    print(f"tool:  {args.n:,} detections in {tool_s:6.1f} s = {rate:10,.0f} detections/s")
    print(
        f"       CPU {cpu_s:6.1f} s = {args.n / cpu_s:10,.0f} detections/s of CPU time "
        f"(of it {ckpt_s:.1f} s in the log's checkpoint thread)"
    )
    print(
        f"naive: {args.naive:,} detections in {naive_s:6.2f} s = {naive_rate:10,.0f} detections/s "
        f"(extrapolated to {args.n:,}: {args.n / naive_rate / 3600:.1f} h)"
    )
    met = "met" if min(rate, args.n / cpu_s) >= 50_000 else "NOT met"
    print(f"speed-up: {rate / naive_rate:,.0f}x; target >= 50,000/s (wall and CPU): {met}")
    print(summary)
    return 0


# --- synthetic traffic -------------------------------------------------------------------


class Traffic:
    """``tracks`` aircraft on random walks at 1 Hz; batches of detections in time order."""

    def __init__(self, tracks: int, seed: int) -> None:
        rng = np.random.default_rng(seed + 77)
        self.rng = rng
        half = EXTENT_KM * 500.0
        self.east = rng.uniform(-half, half, tracks)
        self.north = rng.uniform(-half, half, tracks)
        self.heading = rng.uniform(0, 2 * math.pi, tracks)
        self.speed = rng.uniform(5.0, 25.0, tracks)
        self.alt = rng.uniform(20.0, 150.0, tracks)
        roll = rng.random(tracks)
        # 70 % Remote ID, 15 % ADS-B drones, 5 % manned, 10 % id-less RF plots
        self.kind = np.select([roll < 0.7, roll < 0.85, roll < 0.9], [0, 1, 2], 3)
        self.half = half
        self.t = 0
        self.cursor = 0

    def batches(self, n: int, batch: int) -> Iterator[list[Detection]]:
        made = 0
        pending: list[Detection] = []
        while made < n:
            step = self._step(min(len(self.east), n - made))
            made += len(step)
            pending.extend(step)
            while len(pending) >= batch or (made >= n and pending):
                yield pending[:batch]
                pending = pending[batch:]

    def _step(self, count: int) -> list[Detection]:
        """One second: every aircraft moves and is seen once (the first ``count`` of them)."""
        self.heading += self.rng.normal(0.0, 0.1, len(self.east))
        self.east += self.speed * np.cos(self.heading)
        self.north += self.speed * np.sin(self.heading)
        out_e, out_n = np.abs(self.east) > self.half, np.abs(self.north) > self.half
        self.heading[out_e | out_n] += math.pi
        lon, lat = to_lonlat(self.east, self.north, GUANGZHOU_LON_DEG, GUANGZHOU_LAT_DEG)
        t_s = BENCH_START.timestamp() + self.t
        self.t += 1
        out: list[Detection] = []
        for i in range(count):
            out.append(
                _detection(i, int(self.kind[i]), t_s + i * 1e-4, lat[i], lon[i], self.alt[i])
            )
        return out


def _detection(i: int, kind: int, t_s: float, lat: float, lon: float, alt: float) -> Detection:
    if kind == 0:
        return Detection(
            t_s, "bench", "rid-rx", SensorKind.REMOTE_ID, float(lat), float(lon), float(alt),
            AltFrame.ABOVE_TAKEOFF, remote_id=("FLEET-" if i < 2 else "RID-") + str(i),
        )  # fmt: skip
    if kind in (1, 2):
        return Detection(
            t_s, "bench", "adsb-rx", SensorKind.ADSB, float(lat), float(lon), float(alt) + 15.0,
            AltFrame.PRESSURE, icao_address=f"{i:06X}", emitter_type=14 if kind == 1 else 1,
        )  # fmt: skip
    return Detection(
        t_s, "bench", "rf-1", SensorKind.RF, float(lat), float(lon), None, None,
        position_error_m=30.0,
    )  # fmt: skip


# --- the tool ------------------------------------------------------------------------------


def run_tool(
    args: argparse.Namespace, index: ZoneIndex, fleet: FleetIds, db: Path
) -> tuple[float, tuple[float, float], float, str]:
    """Wall time of the ingests, their CPU time (this thread's, plus what the evidence log's
    checkpoint thread spent; and that part alone), the time generating detections took,
    and the summary."""
    from uav.detect.evidence import EvidenceLog
    from uav.store import Store

    store = Store.open(db)
    traffic = Traffic(args.tracks, args.seed)
    severities: Counter[str] = Counter()
    n_tracks = n_incidents = n_high = 0
    tool_s = cpu_s = gen_s = 0.0
    with EvidenceLog(store, background=False, batch_max=10 * args.batch) as log:
        judge = Judge(index, fleet, bench_permits(), buffer_m=20.0)
        pipeline = Pipeline(judge, Tracker(), Incidents(), log)
        stages = time_stages(pipeline, log)
        with batch_ingest_gc():  # the collector set as `listen` sets it
            batches = traffic.batches(args.n, args.batch)
            while True:
                t0 = time.perf_counter()
                batch = next(batches, None)
                gen_s += time.perf_counter() - t0
                if batch is None:
                    break
                t0, c0 = time.perf_counter(), time.thread_time()
                result = pipeline.ingest(batch)
                tool_s += time.perf_counter() - t0
                cpu_s += time.thread_time() - c0
                severities.update(str(j.severity) for j in result.judgements)
                severities.update(
                    j.authorised_by.split(":")[0] for j in result.judgements if j.authorised_by
                )
                n_tracks += len(result.tracks)
                n_incidents += len(result.incidents)
                n_high += len(result.new_high)
    ckpt_s = log.checkpoint_cpu_s  # closed: its last checkpoint is counted
    cpu_s += ckpt_s
    records = store.evidence_count()
    store.close()
    per_det = ", ".join(f"{k} {v / args.n * 1e6:.1f}" for k, v in stages.items())
    summary = (
        f"time per detection (us): {per_det}\n"
        f"found: {dict(severities)} (severities; authorised by fleet, permit); "
        f"{n_tracks:,} track records, "
        f"{n_incidents:,} incident records ({n_high:,} incidents became high); "
        f"{records:,} evidence records"
    )
    return tool_s, (cpu_s, ckpt_s), gen_s, summary


def bench_permits() -> list[Any]:
    """Permits for ten of the Remote ID drones, anywhere, for the whole run."""
    from datetime import timedelta

    from uav.detect.permits import Permit

    start, end = BENCH_START - timedelta(hours=1), BENCH_START + timedelta(days=1)
    return [Permit(start, end, remote_id=f"RID-{i}", id=i) for i in range(10, 20)]


def time_stages(pipeline: Pipeline, log: Any) -> dict[str, float]:
    """Wrap the pipeline's stages with timers; returns the totals (seconds), filled as the
    pipeline runs: keys and duplicates, judge, tracks, incidents, expiry (silent tracks and
    incidents closed, incidents newly high), the evidence log."""
    totals: dict[str, float] = {}

    def timed(name: str, fn: Callable[..., T]) -> Callable[..., T]:
        def wrapper(*args: Any, **kwargs: Any) -> T:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                totals[name] = totals.get(name, 0.0) + time.perf_counter() - t0

        return wrapper

    p: Any = pipeline
    p._new_only = timed("keys+dedupe", p._new_only)
    p.judge.judge = timed("judge", p.judge.judge)
    p.tracker.assign = timed("tracks", p.tracker.assign)
    p.tracker.observe = timed("tracks", p.tracker.observe)
    p.incidents.observe = timed("incidents", p.incidents.observe)
    p.tracker.expire = timed("expiry", p.tracker.expire)
    p.incidents.expire = timed("expiry", p.incidents.expire)
    p.incidents.new_high = timed("expiry", p.incidents.new_high)
    p.incidents.forget_tracks = timed("expiry", p.incidents.forget_tracks)
    log.append_detections = timed("log", log.append_detections)
    log.append_tracks = timed("log", log.append_tracks)
    log.append_incidents = timed("log", log.append_incidents)
    log.flush = timed("log", log.flush)
    return totals


# --- the naive pipeline --------------------------------------------------------------------


def run_naive(args: argparse.Namespace, zones: list[Zone], db: Path) -> float:
    """Per detection: test every zone (shapely, no index), INSERT it and COMMIT."""
    traffic = Traffic(args.tracks, args.seed)
    sample = next(traffic.batches(args.naive, args.naive))
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute(
        "CREATE TABLE detections (time_s REAL, track TEXT, lat REAL, lon REAL, severity TEXT)"
    )
    t0 = time.perf_counter()
    for d in sample:
        severity = naive_severity(d, zones)
        con.execute(
            "INSERT INTO detections VALUES (?, ?, ?, ?, ?)",
            (d.time_s, d.identity or "plot", d.lat_deg, d.lon_deg, severity),
        )
        con.commit()
    elapsed = time.perf_counter() - t0
    con.close()
    return elapsed


def naive_severity(d: Detection, zones: list[Zone]) -> str:
    """2-D only, no schedules: the naive pipeline's idea of severity."""
    assert d.lat_deg is not None and d.lon_deg is not None
    point = shapely.Point(d.lon_deg, d.lat_deg)
    worst = Severity.LOW
    for z in zones:
        g = z.geometry
        if isinstance(g, Circle):
            dx = (d.lon_deg - g.lon_deg) * 111_320.0 * math.cos(math.radians(g.lat_deg))
            inside = math.hypot(dx, (d.lat_deg - g.lat_deg) * 110_574.0) <= g.radius_m
        else:
            inside = g.intersects(point)
        if inside:
            high = z.restriction in (Restriction.PROHIBITED, Restriction.AUTHORIZATION)
            worst = Severity.HIGH if high else max(worst, Severity.MEDIUM, key=lambda s: s.rank)
    return str(worst)


if __name__ == "__main__":
    raise SystemExit(main())
