"""A prepared neighbourhood: the zones around one point, projected once, for many checks there.

:func:`~uav.check.engine.check_path` projects the candidate zones of every path it checks
into a frame centred on that path. The monitor checks a short path for every drone ten
times a second, mostly in the same place: a :class:`LocalScope` holds the zones of an index
whose boxes reach a square of ``radius_m`` around a point, clipped to it, projected into a
frame centred there and prepared, once. ``check_path(..., scope=scope)`` then computes in
the scope's frame and takes its candidates from the scope instead of projecting them, for
every path whose surroundings (the box the check would clip zones to: the path's box grown
by the buffer and 1 km) lie inside the square; for any other path it projects as usual.
The answers are the same either way (within the frame's sub-metre scale error): every zone
near the path is in the scope, whole within the path's surroundings.

A scope belongs to one index: build a new one when the zones change.
"""

from __future__ import annotations

import numpy as np
import shapely

from uav.check.geometry import ProjectedZones
from uav.check.index import ZoneIndex, ZoneTable
from uav.errors import InputError
from uav.geo.local import LocalFrame, metres_to_deg_lat, metres_to_deg_lon

Box = tuple[float, float, float, float]


class LocalScope:
    """The zones of ``index`` within ``radius_m`` (a square) of (``lon_deg``, ``lat_deg``)."""

    def __init__(self, index: ZoneIndex, lon_deg: float, lat_deg: float, radius_m: float) -> None:
        if not (np.isfinite(radius_m) and radius_m > 0):
            raise InputError(f"scope radius {radius_m} m must be a distance > 0")
        if not (-90.0 <= lat_deg <= 90.0 and -180.0 <= lon_deg <= 180.0):
            raise InputError(f"scope centre ({lat_deg}, {lon_deg}) is not a lat/lon")
        self.index = index
        self.lon_deg = lon_deg
        self.lat_deg = lat_deg
        self.radius_m = radius_m
        self.frame = LocalFrame(lon_deg, lat_deg)
        # an under-estimate of radius_m in degrees keeps the box inside the square
        dlat = metres_to_deg_lat(radius_m) / 1.02
        dlon = metres_to_deg_lon(radius_m, min(abs(lat_deg), 89.0)) / 1.02
        self.box: Box = (
            lon_deg - dlon,
            max(lat_deg - dlat, -90.0),
            lon_deg + dlon,
            min(lat_deg + dlat, 90.0),
        )
        self._zones = {
            id(index.restricted): _project(index.restricted, self.frame, self.box),
            id(index.areas): _project(index.areas, self.frame, self.box),
        }

    def covers(self, box: Box) -> bool:
        """Whether the lon/lat ``box`` lies inside the scope's square."""
        return (
            self.box[0] <= box[0]
            and self.box[1] <= box[1]
            and box[2] <= self.box[2]
            and box[3] <= self.box[3]
        )

    def holds(self, lon_deg: float, lat_deg: float, margin_m: float) -> bool:
        """Whether the point with ``margin_m`` around it lies inside the scope's square."""
        dlat = metres_to_deg_lat(margin_m)
        dlon = metres_to_deg_lon(margin_m, min(abs(lat_deg) + 1.0, 89.0))
        return self.covers((lon_deg - dlon, lat_deg - dlat, lon_deg + dlon, lat_deg + dlat))

    def zones(self, table: ZoneTable, cand: np.ndarray) -> ProjectedZones | None:
        """Zones ``cand`` of ``table`` as projected here; None when they are not all here."""
        prepared = self._zones.get(id(table))
        if prepared is None:
            return None
        return prepared.select(cand)


def _project(table: ZoneTable, frame: LocalFrame, box: Box) -> ProjectedZones:
    cand = np.unique(np.asarray(table.tree.query(shapely.box(*box)), dtype=np.intp))
    return ProjectedZones(table, cand, frame, box)
