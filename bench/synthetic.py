"""Seeded synthetic zones and flight paths around Guangzhou, for benchmarks.

Zones are star-shaped polygons of 5–40 vertices (always simple) and ~10 % circles, 50 m to
3 km across with most of them small (sizes ``50 m * 60**(u**2)``, u uniform: median ~140 m,
as for the many small sites next to a few airport-sized zones), spread uniformly over a
square region. Some have altitude bands (a few in AMSL) and schedules around
:data:`BENCH_START`. The same seed always gives the same data.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
import shapely

from uav.plans.model import FlightPath, PathPoint
from uav.zones.model import (
    AltitudeRef,
    Circle,
    DailyWindow,
    Restriction,
    Schedule,
    VerticalBand,
    Zone,
)

GUANGZHOU_LON_DEG = 113.26
GUANGZHOU_LAT_DEG = 23.13
BENCH_START = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)  # 14:00 in Guangzhou
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON_EQ = 111_320.0

FloatArray = npt.NDArray[np.float64]


def to_lonlat(
    east_m: FloatArray, north_m: FloatArray, lon0_deg: float, lat0_deg: float
) -> tuple[FloatArray, FloatArray]:
    """Offsets in metres -> lon/lat (equirectangular; plenty for synthetic data)."""
    lon = lon0_deg + east_m / (M_PER_DEG_LON_EQ * math.cos(math.radians(lat0_deg)))
    return lon, lat0_deg + north_m / M_PER_DEG_LAT


def synthetic_zones(
    n: int,
    *,
    seed: int = 1,
    lon0_deg: float = GUANGZHOU_LON_DEG,
    lat0_deg: float = GUANGZHOU_LAT_DEG,
    extent_km: float = 200.0,
) -> list[Zone]:
    """``n`` zones with ids 1..n over an ``extent_km`` square centred on (lon0, lat0)."""
    rng = np.random.default_rng(seed)
    half = extent_km * 500.0
    east = rng.uniform(-half, half, n)
    north = rng.uniform(-half, half, n)
    size_m = 50.0 * 60.0 ** (rng.random(n) ** 2)
    is_circle = rng.random(n) < 0.1
    lon, lat = to_lonlat(east, north, lon0_deg, lat0_deg)
    poly_idx = np.flatnonzero(~is_circle)
    polygons = _star_polygons(
        rng, east[poly_idx], north[poly_idx], size_m[poly_idx], lon0_deg, lat0_deg
    )
    geoms: list[object] = [None] * n
    for k, i in enumerate(poly_idx.tolist()):
        geoms[i] = polygons[k]
    for i in np.flatnonzero(is_circle).tolist():
        geoms[i] = Circle(float(lon[i]), float(lat[i]), float(size_m[i]) / 2.0)
    kinds = rng.choice(3, size=n, p=[0.6, 0.2, 0.2])
    restrictions = (Restriction.PROHIBITED, Restriction.AUTHORIZATION, Restriction.WARNING)
    band_roll = rng.random(n)
    schedule_roll = rng.random(n)
    zones: list[Zone] = []
    for i in range(n):
        geom = geoms[i]
        assert isinstance(geom, shapely.Polygon | Circle)
        zones.append(
            Zone(
                name=f"synthetic {i + 1}",
                restriction=restrictions[int(kinds[i])],
                geometry=geom,
                band=_band(float(band_roll[i]), rng),
                schedule=_schedule(float(schedule_roll[i]), rng),
                id=i + 1,
            )
        )
    return zones


def _star_polygons(
    rng: np.random.Generator,
    east: FloatArray,
    north: FloatArray,
    size_m: FloatArray,
    lon0_deg: float,
    lat0_deg: float,
) -> list[shapely.Polygon]:
    """Star-shaped (hence simple) polygons: increasing angles, radii 55–100 % of half size."""
    m = len(east)
    n_vertices = rng.integers(5, 41, m)
    owner = np.repeat(np.arange(m), n_vertices)
    k = np.arange(owner.size) - np.repeat(np.cumsum(n_vertices) - n_vertices, n_vertices)
    angle = 2.0 * np.pi * (k + rng.uniform(0.0, 0.8, owner.size)) / n_vertices[owner]
    radius = size_m[owner] / 2.0 * rng.uniform(0.55, 1.0, owner.size)
    x = east[owner] + radius * np.cos(angle)
    y = north[owner] + radius * np.sin(angle)
    lon, lat = to_lonlat(x, y, lon0_deg, lat0_deg)
    rings = shapely.linearrings(np.column_stack([lon, lat]), indices=owner)
    polygons = np.asarray(shapely.polygons(rings), dtype=object)
    return [p for p in polygons if isinstance(p, shapely.Polygon)]


def _band(roll: float, rng: np.random.Generator) -> VerticalBand:
    if roll < 0.75:
        return VerticalBand()
    if roll < 0.80:  # an AMSL ceiling, e.g. an approach surface
        return VerticalBand(
            0.0, AltitudeRef.AGL, float(rng.choice([60.0, 100.0, 150.0])), AltitudeRef.AMSL
        )
    floor = float(rng.choice([0.0, 30.0, 60.0, 90.0]))
    ceilings = [c for c in (None, 90.0, 120.0, 150.0, 300.0) if c is None or c > floor]
    ceiling = ceilings[int(rng.integers(len(ceilings)))]
    return VerticalBand(floor, AltitudeRef.AGL, ceiling, AltitudeRef.AGL)


def _schedule(roll: float, rng: np.random.Generator) -> Schedule:
    if roll < 0.90:
        return Schedule()
    if roll < 0.97:  # an event: a few hours around the benchmark's flight
        start = BENCH_START + timedelta(minutes=float(rng.uniform(-180.0, 120.0)))
        return Schedule(start=start, end=start + timedelta(minutes=float(rng.uniform(10, 240))))
    window = DailyWindow.parse(str(rng.choice(["Mon-Fri 08:00-20:00", "22:00-06:00"])))
    return Schedule(daily=(window,), timezone="Asia/Shanghai")


def synthetic_path(
    n_waypoints: int,
    *,
    seed: int = 1,
    lon0_deg: float = GUANGZHOU_LON_DEG,
    lat0_deg: float = GUANGZHOU_LAT_DEG,
    length_km: float = 30.0,
    home_amsl_m: float | None = 15.0,
    speed_mps: float = 10.0,
) -> FlightPath:
    """A wandering path of ``n_waypoints`` points (home, vertical take-off, cruise 50–110 m
    above home, landing), about ``length_km`` long, with a 20 s hold every 100 points."""
    if n_waypoints < 4:
        raise ValueError("a synthetic path needs at least 4 waypoints")
    rng = np.random.default_rng(seed + 1_000_003)
    n_cruise = n_waypoints - 2
    step_m = length_km * 1000.0 / max(n_cruise - 1, 1)
    heading = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0.0, 0.15, n_cruise))
    east = np.concatenate([[0.0], np.cumsum(step_m * np.cos(heading))[:-1]])
    north = np.concatenate([[0.0], np.cumsum(step_m * np.sin(heading))[:-1]])
    drift = np.cumsum(rng.normal(0.0, 3.0, n_cruise))
    alt = np.clip(80.0 + drift - drift.mean(), 50.0, 110.0)
    east = np.concatenate([[0.0], east, [east[-1]]])
    north = np.concatenate([[0.0], north, [north[-1]]])
    alt = np.concatenate([[0.0], alt, [0.0]])
    lon, lat = to_lonlat(east, north, lon0_deg, lat0_deg)
    points: list[PathPoint] = []
    t_s = 0.0
    for i in range(n_waypoints):
        if i:
            flat = math.hypot(east[i] - east[i - 1], north[i] - north[i - 1]) / speed_mps
            t_s += max(flat, abs(alt[i] - alt[i - 1]) / 2.5)
        label = "home" if i == 0 else ("land" if i == n_waypoints - 1 else str(i))
        hold = 20.0 if i % 100 == 50 else 0.0
        points.append(PathPoint(float(lat[i]), float(lon[i]), float(alt[i]), t_s, label, hold))
        t_s += hold
    return FlightPath(tuple(points), float(lat[0]), float(lon[0]), home_amsl_m)
