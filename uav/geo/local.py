"""A local metric frame: azimuthal equidistant projection centred on the area of interest.

Within a few tens of kilometres of the centre its scale error is far below a metre, which
is what the airspace check needs. ``LocalFrame.max_extent_m`` bounds where it is trusted.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from pyproj.enums import TransformDirection


class LocalFrame:
    """x east, y north, metres, origin at (lon0_deg, lat0_deg)."""

    # Beyond this distance from the centre the AEQD scale error along a ring exceeds ~0.1 %.
    max_extent_m = 150_000.0

    def __init__(self, lon0_deg: float, lat0_deg: float) -> None:
        self.lon0_deg = lon0_deg
        self.lat0_deg = lat0_deg
        # A pipeline (degrees in, x east / y north metres out) is built in microseconds;
        # Transformer.from_crs takes ~10 ms, which would dominate a plan check.
        pipeline = (
            "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
            f"+step +proj=aeqd +lat_0={lat0_deg:.9f} +lon_0={lon0_deg:.9f} +ellps=WGS84"
        )
        self._tr = Transformer.from_pipeline(pipeline)

    def _fwd(self, lon: Any, lat: Any) -> tuple[Any, Any]:
        return self._tr.transform(lon, lat)

    def _inv(self, x: Any, y: Any) -> tuple[Any, Any]:
        return self._tr.transform(x, y, direction=TransformDirection.INVERSE)

    def to_xy(self, lon_deg: Any, lat_deg: Any) -> tuple[np.ndarray, np.ndarray]:
        x, y = self._fwd(np.asarray(lon_deg, float), np.asarray(lat_deg, float))
        return np.asarray(x, float), np.asarray(y, float)

    def to_lonlat(self, x_m: Any, y_m: Any) -> tuple[np.ndarray, np.ndarray]:
        lon, lat = self._inv(np.asarray(x_m, float), np.asarray(y_m, float))
        return np.asarray(lon, float), np.asarray(lat, float)

    def project(self, geom: Any) -> Any:
        """A shapely geometry (or array of them) in lon/lat -> the same in local metres."""

        def fwd(coords: np.ndarray) -> np.ndarray:
            x, y = self._fwd(coords[:, 0], coords[:, 1])
            return np.column_stack([x, y])

        return shapely.transform(geom, fwd)

    def unproject(self, geom: Any) -> Any:
        def inv(coords: np.ndarray) -> np.ndarray:
            lon, lat = self._inv(coords[:, 0], coords[:, 1])
            return np.column_stack([lon, lat])

        return shapely.transform(geom, inv)


def metres_to_deg_lat(d_m: float) -> float:
    """A conservative (over-) estimate of ``d_m`` metres in degrees of latitude."""
    return d_m / 110_574.0 * 1.01


def metres_to_deg_lon(d_m: float, lat_deg: float) -> float:
    """A conservative estimate of ``d_m`` metres in degrees of longitude at ``lat_deg``."""
    return d_m / (111_320.0 * max(math.cos(math.radians(min(abs(lat_deg), 89.0))), 0.01)) * 1.01
