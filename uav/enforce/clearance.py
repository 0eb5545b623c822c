"""The clearance from a drone to the nearest restrictive zone that applies to it now.

Restrictive: prohibited zones, and authorization zones no grant of the drone covers now.
Applies: active now (schedule widened by the time margin) and holding the drone's altitude
in its vertical band (AGL taken as above home, AMSL through home's altitude; a zone in
AMSL counts whatever the altitude when home's altitude is unknown: fail closed). Distances
are horizontal, in metres, on an equirectangular projection centred on the drone with WGS-84's
local radii (exact to about 1e-5 over the search radius). Inside a zone the clearance is 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely

from uav.auth.model import Grant
from uav.check.index import AUTHORIZATION_CODE, PROHIBITED_CODE, ZoneTable
from uav.check.scope import LocalScope

WGS84_A_M = 6_378_137.0
WGS84_E2 = 0.00669437999014


def metres_per_degree(lat_deg: float) -> tuple[float, float]:
    """(east, north) metres per degree of longitude / latitude at ``lat_deg`` on WGS-84 (the
    local radii of curvature: exact to about 1e-5 over a few kilometres)."""
    phi = math.radians(lat_deg)
    w = 1.0 - WGS84_E2 * math.sin(phi) ** 2
    meridional = WGS84_A_M * (1.0 - WGS84_E2) / w**1.5
    normal = WGS84_A_M / math.sqrt(w)
    return math.radians(1.0) * normal * math.cos(phi), math.radians(1.0) * meridional


@dataclass(frozen=True)
class NearestZone:
    """The nearest restrictive zone that applies now, and the horizontal clearance to it."""

    zone_id: int | None
    zone_name: str
    restriction: str
    clearance_m: float  # 0 inside

    @property
    def inside(self) -> bool:
        return self.clearance_m <= 0.0


@dataclass(frozen=True)
class Here:
    """Where the drone is and what it needs to judge zones by."""

    lat_deg: float
    lon_deg: float
    alt_m: float  # above home
    home_amsl_m: float | None
    now_s: float  # UNIX seconds on the clock that judges schedules
    drone: str | None


def nearest_zone(
    table: ZoneTable,
    here: Here,
    *,
    search_m: float,
    margin_s: float,
    grants: Sequence[Grant] = (),
    scope: LocalScope | None = None,
) -> NearestZone | None:
    """The nearest restrictive zone within ``search_m`` that applies now, or None.

    With a ``scope`` holding the search square, distances are taken in its frame from the
    zones it has already projected (the same to a few centimetres, without projecting)."""
    if not len(table):
        return None
    kx, ky = metres_per_degree(here.lat_deg)
    box = shapely.box(
        here.lon_deg - search_m / kx,
        here.lat_deg - search_m / ky,
        here.lon_deg + search_m / kx,
        here.lat_deg + search_m / ky,
    )
    cand = np.asarray(table.tree.query(box), dtype=np.intp)
    if not cand.size:
        return None
    code = table.restriction_code[cand]
    cand = cand[(code == PROHIBITED_CODE) | (code == AUTHORIZATION_CODE)]
    cand = cand[_in_band(table, cand, here)]
    best: tuple[float, int] | None = None
    distances = _scoped_distances(table, cand, here, scope, search_m)
    if distances is None:
        distances = _distances(table, cand, here, kx, ky)
    for z, d in zip(cand.tolist(), distances.tolist(), strict=True):
        if d > search_m or (best is not None and d >= best[0]):
            continue
        if not _applies(table, z, here, margin_s, grants):
            continue
        best = (d, z)
    if best is None:
        return None
    zone = table.zones[best[1]]
    return NearestZone(zone.id, zone.name, zone.restriction.value, round(best[0], 2))


def _in_band(table: ZoneTable, cand: np.ndarray, here: Here) -> np.ndarray:
    floor = table.floor_m[cand]
    ceiling = table.ceiling_m[cand]
    floor_amsl = table.floor_amsl[cand]
    ceiling_amsl = table.ceiling_amsl[cand]
    if here.home_amsl_m is None:
        # the drone's AMSL altitude is unknown: an AMSL limit cannot clear it
        floor_ok = floor_amsl | (here.alt_m >= floor)
        ceiling_ok = ceiling_amsl | (here.alt_m <= ceiling)
        return np.asarray(floor_ok & ceiling_ok, dtype=bool)
    home = here.home_amsl_m
    floor_h = floor - np.where(floor_amsl, home, 0.0)
    ceiling_h = ceiling - np.where(ceiling_amsl, home, 0.0)
    return np.asarray((floor_h <= here.alt_m) & (here.alt_m <= ceiling_h), dtype=bool)


def _distances(table: ZoneTable, cand: np.ndarray, here: Here, kx: float, ky: float) -> np.ndarray:
    out = np.empty(len(cand))
    circle = table.is_circle[cand]
    c = cand[circle]
    if c.size:
        dx = (table.circle_lon_deg[c] - here.lon_deg) * kx
        dy = (table.circle_lat_deg[c] - here.lat_deg) * ky
        out[circle] = np.maximum(np.hypot(dx, dy) - table.circle_radius_m[c], 0.0)
    p = cand[~circle]
    if p.size:
        origin = np.array([here.lon_deg, here.lat_deg])
        scale = np.array([kx, ky])
        local = shapely.transform(table.geoms[p], lambda xy: (xy - origin) * scale)
        out[~circle] = shapely.distance(local, shapely.Point(0.0, 0.0))
    return out


def _scoped_distances(
    table: ZoneTable, cand: np.ndarray, here: Here, scope: LocalScope | None, search_m: float
) -> np.ndarray | None:
    """Distances in the scope's frame, or None when the scope does not hold the search."""
    if scope is None or not scope.holds(here.lon_deg, here.lat_deg, search_m):
        return None
    order = np.argsort(cand)
    zones = scope.zones(table, cand[order])
    if zones is None:
        return None
    x, y = scope.frame.to_xy(here.lon_deg, here.lat_deg)
    px, py = float(x), float(y)
    out = np.empty(len(cand))
    dist = np.empty(len(cand))
    circle = zones.is_circle
    if circle.any():
        gap = np.hypot(zones.cx[circle] - px, zones.cy[circle] - py) - zones.radius_m[circle]
        dist[circle] = np.maximum(gap, 0.0)
    if (~circle).any():
        # a zone clipped away entirely by the scope's square is NaN: farther than the search
        polygon = shapely.distance(zones.geoms[~circle], shapely.Point(px, py))
        dist[~circle] = np.where(np.isnan(polygon), np.inf, polygon)
    out[order] = dist
    return out


def _applies(
    table: ZoneTable, z: int, here: Here, margin_s: float, grants: Sequence[Grant]
) -> bool:
    zone = table.zones[z]
    t0, t1 = here.now_s - margin_s, here.now_s + margin_s
    if not table.permanent[z] and not zone.schedule.active_intervals(t0, t1):
        return False
    if int(table.restriction_code[z]) != AUTHORIZATION_CODE:
        return True
    if here.drone is None or zone.id is None:
        return True
    return not any(g.covers(here.drone, zone.id, t0, t1) for g in grants)
