"""Benchmark: check a long flight plan against many zones, indexed vs naive.

Prints the time to build the ZoneIndex, the median time of ``check_path``, the time of a
naive check (every zone against every leg with shapely) extrapolated from a sample of legs,
the speed-up, and whether both found the same (leg, zone) violations on that sample
(exit status 1 if not). Optionally times opening a database and building the index from
it. Run: ``python bench/plan_check.py [--zones N] [--waypoints N] [--seed S]``.
"""

# ruff: noqa: E402  (imports follow the sys.path set-up that lets this run as a script)

from __future__ import annotations

import argparse
import gc
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import shapely

# Runs as a script from a checkout: the benchmarks' folder and the repository importable.
sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from shapely.geometry.base import BaseGeometry
from synthetic import BENCH_START, synthetic_path, synthetic_zones

from uav.check import CheckReport, ZoneIndex, check_path
from uav.check.geometry import EARTH_RADIUS_M, SEGMENT_DEG
from uav.check.intervals import widen
from uav.geo.local import LocalFrame
from uav.plans.model import FlightPath
from uav.zones.model import AltitudeRef, Circle, Restriction, Zone

T = TypeVar("T")
BUFFER_M = 20.0
MARGIN_S = 60.0


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--zones", type=int, default=100_000, help="number of zones")
    ap.add_argument("--waypoints", type=int, default=1_000, help="number of path points")
    ap.add_argument("--seed", type=int, default=1, help="random seed of the synthetic data")
    ap.add_argument("--runs", type=int, default=9, help="check_path runs (median printed)")
    ap.add_argument("--naive-legs", type=int, default=20, help="legs the naive check samples")
    ap.add_argument("--no-store", action="store_true", help="skip the database timing")
    args = ap.parse_args(argv)

    zones, t_gen = timed(lambda: synthetic_zones(args.zones, seed=args.seed))
    path = synthetic_path(args.waypoints, seed=args.seed)
    print(
        f"synthetic data: {len(zones):,} zones, {len(path.points):,} path points "
        f"(seed {args.seed}, generated in {t_gen:.2f} s)"
    )

    index, t_index = timed(lambda: ZoneIndex(zones))
    print(f"build ZoneIndex:            {t_index * 1000:8.1f} ms")

    report, times = run_checks(path, index, args.runs)
    print(
        f"check_path (median of {len(times)}): {statistics.median(times) * 1000:8.1f} ms "
        f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}); {report.legs} legs, "
        f"{report.zones_considered} zones considered, {len(report.violations)} violations, "
        f"{len(report.warnings)} warnings"
    )
    frame_times = [timed(lambda: LocalFrame(113.26, 23.13))[1] for _ in range(5)]
    print(
        f"  creating one LocalFrame (pyproj transformers), part of every check: "
        f"{statistics.median(frame_times) * 1000:.1f} ms"
    )

    same = compare_with_naive(path, zones, report, args, statistics.median(times))
    if not args.no_store:
        time_store(zones)
    print(f"same answers: {'yes' if same else 'no'}")
    return 0 if same else 1


def run_checks(path: FlightPath, index: ZoneIndex, runs: int) -> tuple[CheckReport, list[float]]:
    check_path(path, index, start=BENCH_START)  # warm-up (imports, caches of pyproj)
    times: list[float] = []
    report: CheckReport | None = None
    for _ in range(max(runs, 1)):
        gc.collect()
        report, t = timed(lambda: check_path(path, index, start=BENCH_START))
        times.append(t)
    assert report is not None
    return report, times


# --- the naive check --------------------------------------------------------------------


class NaiveZones:
    """Every zone projected into the path's frame, as the naive check needs them."""

    def __init__(self, zones: list[Zone], frame: LocalFrame) -> None:
        self.zones = zones
        self.local: list[BaseGeometry | None] = []
        for z in zones:
            if isinstance(z.geometry, Circle):
                self.local.append(None)
            else:
                self.local.append(frame.project(shapely.segmentize(z.geometry, SEGMENT_DEG)))
        circles = [(i, z.geometry) for i, z in enumerate(zones) if isinstance(z.geometry, Circle)]
        cx, cy = frame.to_xy([c.lon_deg for _, c in circles], [c.lat_deg for _, c in circles])
        self.circle: dict[int, tuple[float, float, float]] = {}
        for (i, c), x, y in zip(circles, cx.tolist(), cy.tolist(), strict=True):
            angle = math.hypot(x, y) / EARTH_RADIUS_M  # same circle as the engine's
            scale = angle / math.sin(angle) if angle > 1e-9 else 1.0
            self.circle[i] = (x, y, c.radius_m * scale * (1.0 + 1e-6))


def naive_legs(path: FlightPath, frame: LocalFrame) -> list[tuple[str, tuple[float, ...]]]:
    """(name, (x0, y0, alt0, t0, x1, y1, alt1, t1)) per leg, holds before leaving legs."""
    pts = path.points
    xs, ys = frame.to_xy([p.lon_deg for p in pts], [p.lat_deg for p in pts])
    out: list[tuple[str, tuple[float, ...]]] = []
    for i, p in enumerate(pts):
        x, y = float(xs[i]), float(ys[i])
        if p.hold_s > 0:
            out.append(
                (f"{p.label}→{p.label}", (x, y, p.alt_m, p.t_s, x, y, p.alt_m, p.t_s + p.hold_s))
            )
        if i + 1 < len(pts):
            q = pts[i + 1]
            out.append(
                (
                    f"{p.label}→{q.label}",
                    (
                        x,
                        y,
                        p.alt_m,
                        p.t_s + p.hold_s,
                        float(xs[i + 1]),
                        float(ys[i + 1]),
                        q.alt_m,
                        q.t_s,
                    ),
                )
            )
    return out


def naive_leg_violations(
    leg: tuple[float, ...], zones: NaiveZones, home_amsl_m: float | None
) -> set[int]:
    """Ids of zones (prohibited or authorization, no grants) the leg enters."""
    x0, y0, a0, t0, x1, y1, a1, t1 = leg
    length = math.hypot(x1 - x0, y1 - y0)
    seg: BaseGeometry = (
        shapely.Point(x0, y0) if length < 0.01 else shapely.LineString([(x0, y0), (x1, y1)])
    )
    found: set[int] = set()
    for i, z in enumerate(zones.zones):
        if z.restriction not in (Restriction.PROHIBITED, Restriction.AUTHORIZATION):
            continue
        geom = zones.local[i]
        if geom is None:
            pieces = circle_pieces(seg, length, zones.circle[i])
        elif not seg.intersects(geom):
            continue
        else:
            pieces = polygon_pieces(seg, length, geom)
        if not pieces:
            continue
        band = band_interval(z, a0, a1, home_amsl_m)
        times = time_intervals(z, BENCH_START.timestamp() + t0, BENCH_START.timestamp() + t1)
        if any(
            max(p0, band[0], w0) <= min(p1, band[1], w1) for p0, p1 in pieces for w0, w1 in times
        ):
            assert z.id is not None
            found.add(z.id)
    return found


def polygon_pieces(
    seg: BaseGeometry, length: float, geom: BaseGeometry
) -> list[tuple[float, float]]:
    if length < 0.01:
        return [(0.0, 1.0)]
    out = []
    for part in shapely.get_parts(shapely.intersection(seg, geom)):
        s = [seg.project(shapely.Point(c), normalized=True) for c in part.coords]
        out.append((min(s), max(s)))
    return out


def circle_pieces(
    seg: BaseGeometry, length: float, circle: tuple[float, float, float]
) -> list[tuple[float, float]]:
    cx, cy, r = circle
    if shapely.distance(seg, shapely.Point(cx, cy)) > r:
        return []
    if length < 0.01:
        return [(0.0, 1.0)]
    (x0, y0), (x1, y1) = seg.coords
    dx, dy, fx, fy = x1 - x0, y1 - y0, x0 - cx, y0 - cy
    a, b, c = dx * dx + dy * dy, 2 * (fx * dx + fy * dy), fx * fx + fy * fy - r * r
    root = math.sqrt(max(b * b - 4 * a * c, 0.0))
    return [(max((-b - root) / (2 * a), 0.0), min((-b + root) / (2 * a), 1.0))]


def band_interval(z: Zone, a0: float, a1: float, home_amsl_m: float | None) -> tuple[float, float]:
    home = home_amsl_m or 0.0
    band = z.band
    floor = band.floor_m - (home if band.floor_ref is AltitudeRef.AMSL else 0.0)
    ceiling = (
        math.inf
        if band.ceiling_m is None
        else band.ceiling_m - (home if band.ceiling_ref is AltitudeRef.AMSL else 0.0)
    )
    if abs(a1 - a0) < 1e-9:
        return (0.0, 1.0) if floor <= a0 <= ceiling else (1.0, 0.0)
    s_floor, s_ceiling = (floor - a0) / (a1 - a0), (ceiling - a0) / (a1 - a0)
    lo, hi = (s_floor, s_ceiling) if a1 > a0 else (s_ceiling, s_floor)
    return (max(lo, 0.0), min(hi, 1.0))


def time_intervals(z: Zone, t0: float, t1: float) -> list[tuple[float, float]]:
    spans = widen(z.schedule.active_intervals(t0 - 2 * MARGIN_S, t1 + 2 * MARGIN_S), MARGIN_S)
    out = []
    for a, b in spans:
        if t1 <= t0:
            if a <= t0 <= b:
                out.append((0.0, 1.0))
            continue
        lo, hi = max((a - t0) / (t1 - t0), 0.0), min((b - t0) / (t1 - t0), 1.0)
        if lo <= hi:
            out.append((lo, hi))
    return out


def compare_with_naive(
    path: FlightPath,
    zones: list[Zone],
    report: CheckReport,
    args: argparse.Namespace,
    t_check: float,
) -> bool:
    lons = [p.lon_deg for p in path.points]
    lats = [p.lat_deg for p in path.points]
    frame = LocalFrame((min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2)
    local, t_project = timed(lambda: NaiveZones(zones, frame))
    legs = naive_legs(path, frame)
    rng = np.random.default_rng(args.seed)
    sample = np.sort(rng.choice(len(legs), size=min(args.naive_legs, len(legs)), replace=False))
    naive: set[tuple[int, int]] = set()
    t0 = time.perf_counter()
    for k in sample.tolist():
        found = naive_leg_violations(legs[k][1], local, path.home_amsl_m)
        naive |= {(k, zid) for zid in found}
    t_per_leg = (time.perf_counter() - t0) / max(len(sample), 1)
    t_naive = t_project + t_per_leg * len(legs)
    # The engine reports one finding per stay: expand each to the legs it covers.
    sampled = set(sample.tolist())
    indexed = {
        (k, v.zone_id)
        for v in report.violations
        if v.rule == "enters-zone" and v.zone_id is not None
        for k in v.leg_indices
        if k in sampled
    }
    print(
        f"naive check: projecting all zones {t_project:.2f} s + {t_per_leg * 1000:.0f} ms "
        f"per leg (measured on {len(sample)} random legs) x {len(legs)} legs "
        f"= {t_naive:.1f} s (extrapolated)"
    )
    print(f"speed-up of check_path over the naive check: {t_naive / t_check:,.0f}x")
    print(f"violations on the sampled legs: indexed {len(indexed)}, naive {len(naive)}")
    for extra in sorted(indexed ^ naive):
        side = "only indexed" if extra in indexed else "only naive"
        print(f"  differs ({side}): leg {legs[extra[0]][0]}, zone {extra[1]}")
    return indexed == naive


def time_store(zones: list[Zone]) -> None:
    try:
        from uav.store import Store
    except ImportError as exc:
        print(f"database timing skipped: uav.store cannot be imported ({exc})")
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        store = Store.open(db)
        fresh = [Zone(z.name, z.restriction, z.geometry, z.band, z.schedule) for z in zones]
        _, t_fill = timed(lambda: store.add_zones(fresh))
        store.close()

        def open_and_index() -> ZoneIndex:
            s = Store.open(db)
            try:
                return ZoneIndex(s.zones())
            finally:
                s.close()

        _, t_open = timed(open_and_index)
        print(
            f"database: filled with {len(zones):,} zones in {t_fill:.1f} s (not part of a "
            f"check); open + load all zones + build ZoneIndex: {t_open * 1000:.0f} ms"
        )


if __name__ == "__main__":
    sys.exit(main())
