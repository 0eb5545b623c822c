"""The zone index a check queries: built once, e.g. after loading the zones from the database.

Zones are split into two :class:`ZoneTable` s: the restrictive ones (prohibited, authorization,
warning) and the operating areas. Each table holds the zones' attributes as numpy arrays and a
shapely ``STRtree`` over their lon/lat bounding boxes (circles through ``Circle.bounds``).
Nothing is projected here: a check projects only the zones its legs may touch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import shapely
from shapely import STRtree

from uav.errors import Location, ZoneValidationError
from uav.gcpause import paused_gc
from uav.zones.model import AltitudeRef, Circle, Restriction, Zone

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]

RESTRICTION_ORDER = (
    Restriction.PROHIBITED,
    Restriction.AUTHORIZATION,
    Restriction.WARNING,
    Restriction.OPERATING_AREA,
)
PROHIBITED_CODE = 0
AUTHORIZATION_CODE = 1
WARNING_CODE = 2


class ZoneTable:
    """Zones of one group, their attributes as arrays and an STRtree over their boxes.

    Tree index ``i`` is zone ``zones[i]`` and row ``i`` of every array.
    """

    def __init__(self, zones: Sequence[Zone]) -> None:
        self.zones: tuple[Zone, ...] = tuple(zones)
        n = len(self.zones)
        geoms = [z.geometry for z in self.zones]
        self.is_circle: BoolArray = np.fromiter(
            (isinstance(g, Circle) for g in geoms), dtype=bool, count=n
        )
        self.geoms = np.empty(n, dtype=object)  # Polygon / MultiPolygon; None at circles
        self.circle_lon_deg: FloatArray = np.full(n, np.nan)
        self.circle_lat_deg: FloatArray = np.full(n, np.nan)
        self.circle_radius_m: FloatArray = np.full(n, np.nan)
        self.bounds: FloatArray = self._bounds(geoms)
        self._check_bounds()
        b = self.bounds
        self.tree = STRtree(shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3]))
        self._band_arrays()
        self.restriction_code: npt.NDArray[np.int8] = np.fromiter(
            (RESTRICTION_ORDER.index(z.restriction) for z in self.zones), dtype=np.int8, count=n
        )
        self.permanent: BoolArray = np.fromiter(
            (z.schedule.is_permanent for z in self.zones), dtype=bool, count=n
        )

    def __len__(self) -> int:
        return len(self.zones)

    def _bounds(self, geoms: Sequence[object]) -> FloatArray:
        n = len(geoms)
        bounds = np.empty((n, 4))
        poly_idx = np.flatnonzero(~self.is_circle)
        if poly_idx.size:
            polys = np.empty(poly_idx.size, dtype=object)
            polys[:] = [geoms[i] for i in poly_idx.tolist()]
            self.geoms[poly_idx] = polys
            bounds[poly_idx] = shapely.bounds(polys)
        for i in np.flatnonzero(self.is_circle).tolist():
            circle = geoms[i]
            assert isinstance(circle, Circle)
            bounds[i] = circle.bounds
            self.circle_lon_deg[i] = circle.lon_deg
            self.circle_lat_deg[i] = circle.lat_deg
            self.circle_radius_m[i] = circle.radius_m
        return bounds

    def _check_bounds(self) -> None:
        """An empty or non-finite geometry would silently drop out of the tree: refuse it."""
        bad = np.flatnonzero(~np.isfinite(self.bounds).all(axis=1))
        if bad.size:
            zone = self.zones[int(bad[0])]
            raise ZoneValidationError(
                f"zone {zone.name!r} (id {zone.id}) has an empty or non-finite geometry",
                Location(
                    file=zone.provenance.source_file,
                    feature_name=zone.name,
                    feature_index=zone.provenance.feature_index,
                ),
            )

    def _band_arrays(self) -> None:
        n = len(self.zones)
        bands = [z.band for z in self.zones]
        amsl = AltitudeRef.AMSL
        self.floor_m: FloatArray = np.fromiter((b.floor_m for b in bands), float, n)
        self.floor_amsl: BoolArray = np.fromiter((b.floor_ref is amsl for b in bands), bool, n)
        self.ceiling_m: FloatArray = np.fromiter(
            (np.inf if b.ceiling_m is None else b.ceiling_m for b in bands), float, n
        )
        self.ceiling_amsl: BoolArray = np.fromiter(
            (b.ceiling_ref is amsl and b.ceiling_m is not None for b in bands), bool, n
        )

    def query(self, boxes: npt.NDArray[np.object_]) -> tuple[IntArray, IntArray]:
        """(box index, zone index) of every box/zone pair whose bounding boxes overlap."""
        if not len(self.zones) or not len(boxes):
            empty = np.empty(0, dtype=np.intp)
            return empty, empty
        pairs = self.tree.query(boxes)
        return pairs[0].astype(np.intp), pairs[1].astype(np.intp)


class ZoneIndex:
    """All zones a check looks at: restrictive zones and operating areas, kept apart."""

    def __init__(self, zones: Sequence[Zone]) -> None:
        zones = tuple(zones)
        area = Restriction.OPERATING_AREA
        with paused_gc():
            self.restricted = ZoneTable([z for z in zones if z.restriction is not area])
            self.areas = ZoneTable([z for z in zones if z.restriction is area])

    def __len__(self) -> int:
        return len(self.restricted) + len(self.areas)

    @property
    def has_operating_areas(self) -> bool:
        return len(self.areas) > 0
