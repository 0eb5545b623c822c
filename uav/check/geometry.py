"""Candidate zones in the check's local frame, and where legs run inside them.

Polygons are clipped (in lon/lat) to the path's surroundings when they reach beyond them,
densified so that edges longer than :data:`SEGMENT_DEG` stay straight in lon/lat (the
GeoJSON reading of an edge), projected to local metres and prepared. Circles stay analytic:
centre in local metres, radius grown by the projection's tangential scale at the centre (at
most ~1e-4 within the frame's extent) so the projected circle holds the true one.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely

from uav.check.index import ZoneTable
from uav.check.intervals import Pieces
from uav.check.legs import POINT_LEG_M, Legs
from uav.errors import CheckUncertain
from uav.geo.local import LocalFrame, metres_to_deg_lat, metres_to_deg_lon

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]
ObjArray = npt.NDArray[np.object_]

SEGMENT_DEG = 0.01  # densify polygon edges longer than this (about 1 km) before projecting
EARTH_RADIUS_M = 6_371_008.8
BUFFER_QUAD_SEGS = 16  # arcs of a buffered polygon stay within ~2.5 cm of a 20 m buffer


class ProjectedZones:
    """Zones ``cand`` (sorted indices into ``table``) in local metres, for one check."""

    def __init__(
        self,
        table: ZoneTable,
        cand: IntArray,
        frame: LocalFrame,
        clip_box: tuple[float, float, float, float],
    ) -> None:
        self.table = table
        self.cand = cand
        self.is_circle: BoolArray = table.is_circle[cand]
        self.geoms: ObjArray = np.empty(len(cand), dtype=object)
        self.cx = np.full(len(cand), np.nan)
        self.cy = np.full(len(cand), np.nan)
        self.radius_m = np.full(len(cand), np.nan)
        self._buffered: dict[tuple[int, float], object] = {}
        self._project_polygons(frame, clip_box)
        self._project_circles(frame)

    def __len__(self) -> int:
        return len(self.cand)

    def select(self, cand: IntArray) -> ProjectedZones | None:
        """Zones ``cand`` (sorted table indices) of these, sharing their projected geometry
        (nothing is projected again); None when one of them is not among these."""
        if not len(self.cand):
            return None if len(cand) else self
        pos = np.minimum(np.searchsorted(self.cand, cand), len(self.cand) - 1)
        if (self.cand[pos] != cand).any():
            return None
        out = object.__new__(ProjectedZones)
        out.table = self.table
        out.cand = cand
        out.is_circle = self.is_circle[pos]
        out.geoms = self.geoms[pos]
        out.cx, out.cy, out.radius_m = self.cx[pos], self.cy[pos], self.radius_m[pos]
        out._buffered = {}
        return out

    def local(self, zone_idx: IntArray) -> IntArray:
        """Positions in this object of table zone indices (all must be candidates)."""
        return np.searchsorted(self.cand, zone_idx).astype(np.intp)

    def _project_polygons(
        self, frame: LocalFrame, clip_box: tuple[float, float, float, float]
    ) -> None:
        pos = np.flatnonzero(~self.is_circle)
        if not pos.size:
            return
        zone_idx = self.cand[pos]
        geoms = self.table.geoms[zone_idx]
        b = self.table.bounds[zone_idx]
        beyond = (
            (b[:, 0] < clip_box[0])
            | (b[:, 1] < clip_box[1])
            | (b[:, 2] > clip_box[2])
            | (b[:, 3] > clip_box[3])
        )
        if beyond.any():
            geoms = geoms.copy()
            geoms[beyond] = shapely.intersection(geoms[beyond], shapely.box(*clip_box))
        local = frame.project(shapely.segmentize(geoms, SEGMENT_DEG))
        coords, owner = shapely.get_coordinates(local, return_index=True)
        if len(coords):
            dist = np.hypot(coords[:, 0], coords[:, 1])
            worst = int(np.argmax(dist))
            if dist[worst] > frame.max_extent_m:
                self._too_far(int(zone_idx[owner[worst]]), float(dist[worst]), frame)
        shapely.prepare(local)
        self.geoms[pos] = local

    def _project_circles(self, frame: LocalFrame) -> None:
        pos = np.flatnonzero(self.is_circle)
        if not pos.size:
            return
        zone_idx = self.cand[pos]
        cx, cy = frame.to_xy(
            self.table.circle_lon_deg[zone_idx], self.table.circle_lat_deg[zone_idx]
        )
        rho = np.hypot(cx, cy)
        angle = rho / EARTH_RADIUS_M
        scale = np.where(angle > 1e-9, angle / np.sin(np.maximum(angle, 1e-9)), 1.0)
        radius = self.table.circle_radius_m[zone_idx] * scale * (1.0 + 1e-6)
        far = np.flatnonzero(rho + radius > frame.max_extent_m)
        if far.size:
            k = int(far[0])
            self._too_far(int(zone_idx[k]), float(rho[k] + radius[k]), frame)
        self.cx[pos], self.cy[pos], self.radius_m[pos] = cx, cy, radius

    def _too_far(self, zone_idx: int, dist_m: float, frame: LocalFrame) -> None:
        zone = self.table.zones[zone_idx]
        raise CheckUncertain(
            f"zone {zone.name!r} (id {zone.id}) reaches {dist_m / 1000:.0f} km from the path's "
            f"centre, beyond the {frame.max_extent_m / 1000:.0f} km the local frame is "
            "trusted for; split the plan"
        )

    def buffered(self, pos: IntArray, grow_m: float) -> ObjArray:
        """Polygons at ``pos`` grown by ``grow_m`` (computed once per check and cached)."""
        missing = [int(p) for p in np.unique(pos) if (int(p), grow_m) not in self._buffered]
        if missing:
            grown = shapely.buffer(self.geoms[missing], grow_m, quad_segs=BUFFER_QUAD_SEGS)
            shapely.prepare(grown)
            for p, g in zip(missing, grown, strict=True):
                self._buffered[(p, grow_m)] = g
        out = np.empty(len(pos), dtype=object)
        out[:] = [self._buffered[(int(p), grow_m)] for p in pos]
        return out


def spatial_pieces(
    legs: Legs,
    leg_geoms: ObjArray,
    zones: ProjectedZones,
    leg_idx: IntArray,
    pos: IntArray,
    grow_m: float = 0.0,
) -> Pieces:
    """Where each leg ``leg_idx[k]`` runs inside zone ``pos[k]`` grown by ``grow_m``.

    Piece ``pair`` values index the input arrays. Zone boundaries count as inside.
    """
    circle = zones.is_circle[pos]
    parts: list[Pieces] = []
    poly = np.flatnonzero(~circle)
    if poly.size:
        geoms = zones.geoms[pos[poly]] if grow_m <= 0 else zones.buffered(pos[poly], grow_m)
        got = polygon_pieces(legs, leg_geoms, leg_idx[poly], geoms)
        parts.append(Pieces(poly[got.pair], got.s0, got.s1))
    circ = np.flatnonzero(circle)
    if circ.size:
        p = pos[circ]
        ok, s0, s1 = circle_params(
            legs, leg_idx[circ], zones.cx[p], zones.cy[p], zones.radius_m[p] + grow_m
        )
        parts.append(Pieces(circ[ok], s0[ok], s1[ok]))
    return Pieces.concat(parts)


def polygon_pieces(
    legs: Legs, leg_geoms: ObjArray, leg_idx: IntArray, zone_geoms: ObjArray
) -> Pieces:
    """Pieces of each leg inside its polygon: intersection mapped back to the leg parameter."""
    lines = leg_geoms[leg_idx]
    hit = np.flatnonzero(shapely.intersects(lines, zone_geoms))
    if not hit.size:
        return Pieces.empty()
    legs_hit = leg_idx[hit]
    inter = shapely.intersection(lines[hit], zone_geoms[hit])
    parts, part_pair = shapely.get_parts(inter, return_index=True)
    coords, coord_part = shapely.get_coordinates(parts, return_index=True)
    found = Pieces.empty()
    if len(coords):
        s = _param_of(legs, legs_hit[part_pair[coord_part]], coords[:, 0], coords[:, 1])
        starts = np.flatnonzero(np.r_[True, coord_part[1:] != coord_part[:-1]])
        pair = part_pair[coord_part[starts]]
        found = Pieces(pair, np.minimum.reduceat(s, starts), np.maximum.reduceat(s, starts))
    missing = np.setdiff1d(np.arange(len(hit)), found.pair)
    if missing.size:  # touching so lightly that the intersection came out empty
        found = Pieces.concat(
            [found, _touch_pieces(legs, lines[hit], zone_geoms[hit], legs_hit, missing)]
        )
    point = legs.is_point[legs_hit[found.pair]]
    s0 = np.where(point, 0.0, found.s0)
    s1 = np.where(point, 1.0, found.s1)
    return Pieces(hit[found.pair], s0, s1)


def _touch_pieces(
    legs: Legs, lines: ObjArray, zone_geoms: ObjArray, legs_hit: IntArray, which: IntArray
) -> Pieces:
    nearest = shapely.get_point(shapely.shortest_line(lines[which], zone_geoms[which]), 0)
    x, y = shapely.get_x(nearest), shapely.get_y(nearest)
    s = _param_of(legs, legs_hit[which], x, y)
    return Pieces(which.astype(np.intp), s, s)


def _param_of(legs: Legs, leg: IntArray, x: FloatArray, y: FloatArray) -> FloatArray:
    """The parameter of points lying on their legs (orthogonal projection, clamped)."""
    dx = legs.x1[leg] - legs.x0[leg]
    dy = legs.y1[leg] - legs.y0[leg]
    len2 = dx * dx + dy * dy
    safe = np.where(len2 > 0, len2, 1.0)
    s = ((x - legs.x0[leg]) * dx + (y - legs.y0[leg]) * dy) / safe
    return np.clip(np.where(len2 > 0, s, 0.0), 0.0, 1.0)


def circle_params(
    legs: Legs, leg: IntArray, cx: FloatArray, cy: FloatArray, radius_m: FloatArray
) -> tuple[BoolArray, FloatArray, FloatArray]:
    """Where each leg is within ``radius_m`` of (cx, cy): solve |p(s) - c| = r for s."""
    dx = legs.x1[leg] - legs.x0[leg]
    dy = legs.y1[leg] - legs.y0[leg]
    fx = legs.x0[leg] - cx
    fy = legs.y0[leg] - cy
    a = dx * dx + dy * dy
    b = 2.0 * (fx * dx + fy * dy)
    c = fx * fx + fy * fy - radius_m * radius_m
    point = a < POINT_LEG_M * POINT_LEG_M
    safe_a = np.where(point, 1.0, a)
    disc = b * b - 4.0 * safe_a * c
    root = np.sqrt(np.maximum(disc, 0.0))
    s0 = (-b - root) / (2.0 * safe_a)
    s1 = (-b + root) / (2.0 * safe_a)
    ok = np.where(point, c <= 0.0, (disc >= 0.0) & (s1 >= 0.0) & (s0 <= 1.0))
    s0 = np.where(point, 0.0, np.clip(s0, 0.0, 1.0))
    s1 = np.where(point, 1.0, np.clip(s1, 0.0, 1.0))
    return ok, s0, s1


def circle_clearance(
    legs: Legs,
    leg: IntArray,
    s0: FloatArray,
    s1: FloatArray,
    cx: FloatArray,
    cy: FloatArray,
    radius_m: FloatArray,
) -> FloatArray:
    """The least distance from the leg parts [s0, s1] to the circles' edges (0 inside)."""
    dx = legs.x1[leg] - legs.x0[leg]
    dy = legs.y1[leg] - legs.y0[leg]
    fx = legs.x0[leg] - cx
    fy = legs.y0[leg] - cy
    len2 = dx * dx + dy * dy
    s_near = np.where(len2 > 0, -(fx * dx + fy * dy) / np.where(len2 > 0, len2, 1.0), 0.0)
    s_near = np.clip(s_near, s0, s1)
    dist = np.hypot(fx + s_near * dx, fy + s_near * dy)
    return np.maximum(dist - radius_m, 0.0)


def clip_box_around(legs: Legs, pad_m: float) -> tuple[float, float, float, float]:
    """The legs' lon/lat bounds grown by ``pad_m`` (over-estimated in degrees)."""
    lon0, lat0, lon1, lat1 = legs.lonlat_bounds()
    dlat = metres_to_deg_lat(pad_m)
    dlon = metres_to_deg_lon(pad_m, min(max(abs(lat0), abs(lat1)) + 1.0, 89.0))
    return (lon0 - dlon, max(lat0 - dlat, -90.0), lon1 + dlon, min(lat1 + dlat, 90.0))
