"""The judge's zone geometry: restricted zones ready for vectorised point tests.

Polygons are kept in metres about their own bounding-box centre (equirectangular, scaled by
the WGS-84 metres per degree there) and prepared: a point is inside exactly when it is inside
the lon/lat polygon (the scaling is affine). Distances in that frame have a relative error
of about tan(lat) x the latitude difference to the centre, which the judge allows for.
Circles are tested by their distance from the centre on the ellipsoid.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import shapely

from uav.check.index import AUTHORIZATION_CODE, PROHIBITED_CODE, WARNING_CODE, ZoneTable

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]
ObjArray = npt.NDArray[np.object_]

GROWN_MAX_DEG = 0.2
GROWN_QUAD_SEGS = 8
# chords of 8 segments per quarter circle stay within cos(pi/32) of the radius; the scale
# of a zone's local frame stays within 1 % of the true one over zones under GROWN_MAX_DEG
# tall (tan(lat) x 0.1 deg < 1 % up to 80 deg of latitude)
GROWN_FACTOR = 1.0 / math.cos(math.pi / (4 * GROWN_QUAD_SEGS)) * 1.01


def m_per_deg_lat(lat_deg: FloatArray) -> FloatArray:
    phi = np.radians(lat_deg)
    return 111_132.92 - 559.82 * np.cos(2 * phi) + 1.175 * np.cos(4 * phi)


def m_per_deg_lon(lat_deg: FloatArray) -> FloatArray:
    phi = np.radians(lat_deg)
    return np.maximum(111_412.84 * np.cos(phi) - 93.5 * np.cos(3 * phi), 1e-3)


def ellipsoid_distance_m(
    lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray
) -> FloatArray:
    """Distance on the WGS-84 ellipsoid by the mid-latitude formula: within ~1e-5 of the
    geodesic up to tens of kilometres (zones' circles and buffers are far smaller)."""
    mid = (lat1 + lat2) / 2
    return np.hypot((lon2 - lon1) * m_per_deg_lon(mid), (lat2 - lat1) * m_per_deg_lat(mid))


class ZoneGeometry:
    """The restricted zones of an index, ready for point tests: polygons in metres about
    their own box centre (prepared), circles as centre and radius."""

    def __init__(self, table: ZoneTable) -> None:
        self.table = table
        b = table.bounds
        self.lon0: FloatArray = np.where(
            table.is_circle, table.circle_lon_deg, (b[:, 0] + b[:, 2]) / 2
        )
        self.lat0: FloatArray = np.where(
            table.is_circle, table.circle_lat_deg, (b[:, 1] + b[:, 3]) / 2
        )
        self.mx: FloatArray = m_per_deg_lon(self.lat0)
        self.my: FloatArray = m_per_deg_lat(self.lat0)
        self.local = np.empty(len(table), dtype=object)
        poly = np.flatnonzero(~table.is_circle)
        if poly.size:
            geoms = table.geoms[poly].copy()
            coords, owner = shapely.get_coordinates(geoms, return_index=True)
            zi = poly[owner]
            xy = np.column_stack(
                (
                    (coords[:, 0] - self.lon0[zi]) * self.mx[zi],
                    (coords[:, 1] - self.lat0[zi]) * self.my[zi],
                )
            )
            local = shapely.set_coordinates(geoms, xy)
            shapely.prepare(local)
            self.local[poly] = local
        code = table.restriction_code
        self.is_high: BoolArray = (code == PROHIBITED_CODE) | (code == AUTHORIZATION_CODE)
        self.is_warning: BoolArray = code == WARNING_CODE
        self.zone_id: IntArray = np.fromiter(
            (-1 if z.id is None else z.id for z in table.zones), dtype=np.intp, count=len(table)
        )
        self.id_list: list[int] = self.zone_id.tolist()
        self.names: list[str] = [z.name for z in table.zones]
        self._activity: dict[int, tuple[float, float, FloatArray, FloatArray]] = {}
        # zones under ~20 km tall: the metric scale of the local frame is within 1 % of the
        # true one all over them (see the module docstring)
        self.small: BoolArray = (b[:, 3] - b[:, 1]) < GROWN_MAX_DEG
        self._grown = np.empty(len(table), dtype=object)
        self._has_grown = np.zeros(len(table), dtype=bool)
        self._grown_m = -1.0

    def grow_all(self, buffer_m: float) -> None:
        """Grow every small polygon of a high zone now (the judge's set-up), rather than on
        the first detection near each: ingest then never stops to buffer a polygon."""
        wanted = np.flatnonzero(self.small & self.is_high & ~self.table.is_circle)
        if wanted.size:
            self.grown(wanted.astype(np.intp), buffer_m)

    def grown(self, zone: IntArray, buffer_m: float) -> ObjArray:
        """Polygons ``zone`` grown by a little more than ``buffer_m`` (prepared, cached): a
        point outside is surely farther than ``buffer_m`` from the zone."""
        if buffer_m != self._grown_m:
            self._grown[:] = None
            self._has_grown[:] = False
            self._grown_m = buffer_m
        missing = np.unique(zone[~self._has_grown[zone]])
        if missing.size:
            grow_m = buffer_m * GROWN_FACTOR + 0.01
            grown = shapely.buffer(self.local[missing], grow_m, quad_segs=GROWN_QUAD_SEGS)
            shapely.prepare(grown)
            self._grown[missing] = grown
            self._has_grown[missing] = True
        out: ObjArray = self._grown[zone]
        return out

    def active(self, zone: IntArray, t_s: FloatArray) -> BoolArray:
        """Whether zone ``zone[k]`` is active at ``t_s[k]``."""
        out = self.table.permanent[zone].copy()
        timed = np.flatnonzero(~out)
        if not timed.size:
            return out
        zt, tt = zone[timed], t_s[timed]
        order = np.argsort(zt, kind="stable")
        zs = zt[order]
        starts = np.flatnonzero(np.r_[True, zs[1:] != zs[:-1]])
        ends = np.r_[starts[1:], len(zs)]
        result = np.zeros(len(zs), dtype=bool)
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            sel = order[a:b]
            result[a:b] = self._active_one(int(zs[a]), tt[sel])
        out[timed[order]] = result
        return out

    def _active_one(self, zone: int, t_s: FloatArray) -> BoolArray:
        lo, hi = float(t_s.min()), float(t_s.max())
        cached = self._activity.get(zone)
        if cached is None or lo < cached[0] or hi > cached[1]:
            span = (lo - 3600.0, hi + 3600.0)
            spans = self.table.zones[zone].schedule.active_intervals(*span)
            starts = np.array([s for s, _ in spans], dtype=float)
            ends = np.array([e for _, e in spans], dtype=float)
            cached = (span[0], span[1], starts, ends)
            self._activity[zone] = cached
        _, _, starts, ends = cached
        if not starts.size:
            return np.zeros(len(t_s), dtype=bool)
        k = np.searchsorted(starts, t_s, side="right") - 1
        return (k >= 0) & (t_s <= ends[np.maximum(k, 0)])
