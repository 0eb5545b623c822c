"""A flight path as straight 3-D, timed legs in a local metric frame.

Every leg runs from ``(x0, y0, alt0)`` at ``t0_s`` to ``(x1, y1, alt1)`` at ``t1_s`` (seconds
after take-off), position, altitude and time all linear in one parameter ``s`` in [0, 1]. A
point's hold is a leg of its own, of zero length, lasting ``hold_s``; it comes before the leg
that leaves the point. Legs shorter than :data:`POINT_LEG_M` horizontally (holds, vertical
climbs and descents) are "point legs": inside a zone for all ``s`` or for none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely

from uav.errors import CheckUncertain, PlanError
from uav.geo.local import LocalFrame, metres_to_deg_lat, metres_to_deg_lon
from uav.plans.model import FlightPath

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]

POINT_LEG_M = 0.01  # legs shorter than this horizontally are taken as vertical / in place


@dataclass(frozen=True)
class Legs:
    """The legs of one path, as parallel arrays (index = leg index)."""

    names: list[str]
    from_point: IntArray
    to_point: IntArray
    x0: FloatArray
    y0: FloatArray
    x1: FloatArray
    y1: FloatArray
    lon0: FloatArray
    lat0: FloatArray
    lon1: FloatArray
    lat1: FloatArray
    alt0: FloatArray
    alt1: FloatArray
    t0_s: FloatArray
    t1_s: FloatArray
    is_hold: BoolArray

    def __len__(self) -> int:
        return len(self.names)

    @property
    def length_m(self) -> FloatArray:
        return np.hypot(self.x1 - self.x0, self.y1 - self.y0)

    @property
    def is_point(self) -> BoolArray:
        return self.length_m < POINT_LEG_M

    def xy_at(self, leg: IntArray, s: FloatArray) -> tuple[FloatArray, FloatArray]:
        return (
            self.x0[leg] + (self.x1[leg] - self.x0[leg]) * s,
            self.y0[leg] + (self.y1[leg] - self.y0[leg]) * s,
        )

    def alt_at(self, leg: IntArray, s: FloatArray) -> FloatArray:
        return self.alt0[leg] + (self.alt1[leg] - self.alt0[leg]) * s

    def time_at(self, leg: IntArray, s: FloatArray) -> FloatArray:
        return self.t0_s[leg] + (self.t1_s[leg] - self.t0_s[leg]) * s

    def geometries(self) -> npt.NDArray[np.object_]:
        """LineStrings in local metres; Points for point legs."""
        out = np.empty(len(self), dtype=object)
        point = self.is_point
        line = ~point
        coords = np.stack(
            [np.column_stack([self.x0, self.y0]), np.column_stack([self.x1, self.y1])], axis=1
        )
        if line.any():
            out[line] = shapely.linestrings(coords[line])
        if point.any():
            out[point] = shapely.points(self.x0[point], self.y0[point])
        return out

    def sub_lines(self, leg: IntArray, s0: FloatArray, s1: FloatArray) -> npt.NDArray[np.object_]:
        """The parts [s0, s1] of legs ``leg`` as LineStrings (Points where they have no length)."""
        xa, ya = self.xy_at(leg, s0)
        xb, yb = self.xy_at(leg, s1)
        out = np.empty(len(leg), dtype=object)
        point = np.hypot(xb - xa, yb - ya) < POINT_LEG_M
        if (~point).any():
            coords = np.stack([np.column_stack([xa, ya]), np.column_stack([xb, yb])], axis=1)
            out[~point] = shapely.linestrings(coords[~point])
        if point.any():
            out[point] = shapely.points(xa[point], ya[point])
        return out

    def query_boxes(self, pad_m: float) -> npt.NDArray[np.object_]:
        """Each leg's lon/lat box, grown by ``pad_m`` plus a margin for long legs.

        A leg straight in the local frame bows slightly in lon/lat; 1 m + 0.1 % of its length
        covers that with room to spare.
        """
        grow_m = pad_m + 1.0 + 0.001 * self.length_m
        max_lat = float(np.max(np.abs(np.concatenate([self.lat0, self.lat1]))))
        dlat = metres_to_deg_lat(1.0) * grow_m
        dlon = metres_to_deg_lon(1.0, min(max_lat + 1.0, 89.0)) * grow_m
        return shapely.box(
            np.minimum(self.lon0, self.lon1) - dlon,
            np.minimum(self.lat0, self.lat1) - dlat,
            np.maximum(self.lon0, self.lon1) + dlon,
            np.maximum(self.lat0, self.lat1) + dlat,
        )

    def lonlat_bounds(self) -> tuple[float, float, float, float]:
        lons = np.concatenate([self.lon0, self.lon1])
        lats = np.concatenate([self.lat0, self.lat1])
        return float(lons.min()), float(lats.min()), float(lons.max()), float(lats.max())


def path_frame(path: FlightPath) -> LocalFrame:
    """The local frame centred on the path's lon/lat bounding-box centre."""
    check_points(path)
    lons = [p.lon_deg for p in path.points]
    lats = [p.lat_deg for p in path.points]
    return LocalFrame((min(lons) + max(lons)) / 2.0, (min(lats) + max(lats)) / 2.0)


def check_points(path: FlightPath) -> None:
    """PlanError for a path without points, or with a non-finite or impossible coordinate."""
    if not path.points:
        raise PlanError("the flight path has no point")
    lons = [p.lon_deg for p in path.points]
    lats = [p.lat_deg for p in path.points]
    values = [*lons, *lats, *(p.alt_m for p in path.points), *(p.t_s for p in path.points)]
    if not all(math.isfinite(v) for v in values):
        raise PlanError("the flight path has a point with a non-finite coordinate or time")
    for p in path.points:
        if not (-90.0 <= p.lat_deg <= 90.0 and -180.0 <= p.lon_deg <= 180.0):
            raise PlanError(f"point {p.label}: ({p.lat_deg}, {p.lon_deg}) is not a lat/lon")


def build_legs(path: FlightPath, frame: LocalFrame) -> Legs:
    """The path's legs in ``frame``; raise CheckUncertain when a point is beyond its extent."""
    pts = path.points
    lon = np.array([p.lon_deg for p in pts])
    lat = np.array([p.lat_deg for p in pts])
    x, y = frame.to_xy(lon, lat)
    far = np.flatnonzero(np.hypot(x, y) > frame.max_extent_m)
    if far.size:
        p = pts[int(far[0])]
        raise CheckUncertain(
            f"the path is too long for one local frame: point {p.label} is "
            f"{math.hypot(x[far[0]], y[far[0]]) / 1000:.0f} km from the path's centre "
            f"(limit {frame.max_extent_m / 1000:.0f} km); split the plan"
        )
    src, dst, t0, t1, hold = _leg_table(path)
    alt = np.array([p.alt_m for p in pts])
    return Legs(
        names=[f"{pts[a].label}→{pts[b].label}" for a, b in zip(src, dst, strict=True)],
        from_point=src,
        to_point=dst,
        x0=x[src],
        y0=y[src],
        x1=x[dst],
        y1=y[dst],
        lon0=lon[src],
        lat0=lat[src],
        lon1=lon[dst],
        lat1=lat[dst],
        alt0=alt[src],
        alt1=alt[dst],
        t0_s=t0,
        t1_s=t1,
        is_hold=hold,
    )


def _leg_table(path: FlightPath) -> tuple[IntArray, IntArray, FloatArray, FloatArray, BoolArray]:
    """(from point, to point, start s, end s, is hold) for every leg, in flight order."""
    pts = path.points
    rows: list[tuple[int, int, float, float, bool]] = []
    for i, p in enumerate(pts):
        if not (math.isfinite(p.hold_s) and p.hold_s >= 0):
            raise PlanError(f"point {p.label}: hold {p.hold_s} s is not a duration")
        leave_s = p.t_s + p.hold_s
        if p.hold_s > 0 or len(pts) == 1:
            rows.append((i, i, p.t_s, leave_s, True))
        if i + 1 < len(pts):
            nxt = pts[i + 1]
            if nxt.t_s < leave_s:
                raise PlanError(
                    f"point {nxt.label} is reached at {nxt.t_s:g} s, before the drone leaves "
                    f"point {p.label} at {leave_s:g} s"
                )
            rows.append((i, i + 1, leave_s, nxt.t_s, False))
    src, dst, t0, t1, hold = zip(*rows, strict=True)
    return (
        np.array(src, dtype=np.intp),
        np.array(dst, dtype=np.intp),
        np.array(t0, dtype=float),
        np.array(t1, dtype=float),
        np.array(hold, dtype=bool),
    )
