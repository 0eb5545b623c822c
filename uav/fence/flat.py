"""The affine local frame fence geometry is simplified in.

``x = (lon - lon0)·cos(lat0)·R`` and ``y = (lat - lat0)·R`` (metres, R the mean Earth
radius). The map from lon/lat is *affine*, so straight lines, convexity and containment are
the same in this frame as in lon/lat: a polygon that covers another here covers it in
lon/lat, exactly. ArduPilot itself checks fence polygons in a flat north-east frame, so an
edge is straight in lon/lat for it too (within millimetres over a few kilometres). Areas are
metric to well under 1 % within a few kilometres of the origin: good enough for reports.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely

EARTH_RADIUS_M = 6_371_008.8


class FlatFrame:
    """x east, y north, metres, origin at (lon0_deg, lat0_deg); affine in lon/lat."""

    def __init__(self, lon0_deg: float, lat0_deg: float) -> None:
        self.lon0_deg = float(lon0_deg)
        self.lat0_deg = float(lat0_deg)
        self.m_per_deg_lat = math.radians(1.0) * EARTH_RADIUS_M
        self.m_per_deg_lon = self.m_per_deg_lat * math.cos(math.radians(self.lat0_deg))

    def to_xy(self, lon_deg: Any, lat_deg: Any) -> tuple[np.ndarray, np.ndarray]:
        x = (np.asarray(lon_deg, float) - self.lon0_deg) * self.m_per_deg_lon
        y = (np.asarray(lat_deg, float) - self.lat0_deg) * self.m_per_deg_lat
        return x, y

    def to_lonlat(self, x_m: Any, y_m: Any) -> tuple[np.ndarray, np.ndarray]:
        lon = np.asarray(x_m, float) / self.m_per_deg_lon + self.lon0_deg
        lat = np.asarray(y_m, float) / self.m_per_deg_lat + self.lat0_deg
        return lon, lat

    def project(self, geom: Any) -> Any:
        """A shapely geometry in lon/lat -> the same in this frame."""

        def fwd(coords: np.ndarray) -> np.ndarray:
            x, y = self.to_xy(coords[:, 0], coords[:, 1])
            return np.column_stack([x, y])

        return shapely.transform(geom, fwd)

    def unproject(self, geom: Any) -> Any:
        def inv(coords: np.ndarray) -> np.ndarray:
            lon, lat = self.to_lonlat(coords[:, 0], coords[:, 1])
            return np.column_stack([lon, lat])

        return shapely.transform(geom, inv)
