"""The fence's vertex budget shared out between its polygons.

* :func:`build_pieces`: the polygons to upload (exclusion zones clipped to the square around
  the fence circle, one per part; the inclusion and its holes) and the exclusion circles.
* :func:`make_feasible`: when even triangles do not fit, multipolygons become the convex
  hull of their parts (most parts first), then the exclusion zones farthest from home are
  left to the monitor. The inclusion and its holes are never dropped.
* :func:`allocate`: every polygon starts with all its vertices; one vertex at a time is taken
  from the polygon whose simplification step changes the area least, until the fence fits.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

from uav.fence import simplify
from uav.fence.budget import Budget
from uav.fence.flat import FlatFrame
from uav.fence.select import Choice, Role, Selection
from uav.zones.model import Circle

# ---------------------------------------------------------------------- pieces


@dataclass(frozen=True)
class CirclePiece:
    choice: Choice
    distance_m: float  # from home to the circle's edge


@dataclass(eq=False)
class Piece:
    """One polygon to upload: its ring in the flat frame, what it must cover (exclusion) or
    stay inside (inclusion; its holes are exclusions of their own), and the zone(s) it
    stands for."""

    ring: simplify.Ring
    original: BaseGeometry  # lon/lat: the outline to cover or to stay inside
    reported: BaseGeometry  # lon/lat: what the report measures (holes taken out)
    inclusion: bool
    choice: Choice
    distance_m: float
    original_vertices: int
    hull_of_parts: bool = False
    _steps: list[simplify.Ring] | None = field(default=None, repr=False)
    _areas: dict[int, float] | None = field(default=None, repr=False)

    @property
    def n(self) -> int:
        return len(self.ring)

    def steps(self) -> list[simplify.Ring]:
        """The whole simplification sequence, computed once."""
        if self._steps is None:
            run = simplify.inner_steps if self.inclusion else simplify.outer_steps
            self._steps = list(run(self.ring))
        return self._steps

    def areas(self) -> dict[int, float]:
        if self._areas is None:
            self._areas = simplify.step_areas(self.steps())
        return self._areas

    def ring_for(self, k: int) -> simplify.Ring:
        if k >= self.n:
            return self.ring
        return next(r for r in self.steps() if len(r) <= k)


def build_pieces(sel: Selection) -> tuple[list[Piece], list[CirclePiece]]:
    pieces: list[Piece] = []
    circles: list[CirclePiece] = []
    for choice in sel.with_role(Role.EXCLUSION):
        g = choice.zone.geometry
        if isinstance(g, Circle):
            x, y = sel.frame.to_xy(g.lon_deg, g.lat_deg)
            edge_m = max(math.hypot(float(x), float(y)) - g.radius_m, 0.0)
            circles.append(CirclePiece(choice, edge_m))
            continue
        for part in _clipped_parts(g, sel.box_lonlat()):
            pieces.append(_piece(sel.frame, part, False, choice))
    if sel.inclusion is not None and sel.inclusion_choice is not None:
        area_choice = sel.inclusion_choice
        pieces.append(_piece(sel.frame, sel.inclusion, True, area_choice))
        for hole in sel.inclusion.interiors:
            pieces.append(_piece(sel.frame, Polygon(hole), False, area_choice))
    return pieces, circles


def _clipped_parts(geometry: BaseGeometry, box: Polygon) -> list[Polygon]:
    """The polygons of a zone inside the box around the fence circle (see
    :meth:`~uav.fence.select.Selection.box_lonlat`)."""
    if not shapely.covers(box, geometry):
        geometry = shapely.intersection(geometry, box)
    parts = shapely.get_parts(geometry).tolist()
    return [p for p in parts if isinstance(p, Polygon) and p.area > 0]


def _piece(frame: FlatFrame, part: Polygon, inclusion: bool, choice: Choice) -> Piece:
    outline = Polygon(part.exterior)
    local = frame.project(outline)
    ring = simplify.ring_of(local)
    distance = float(shapely.distance(local, Point(0.0, 0.0)))
    return Piece(ring, outline, part, inclusion, choice, distance, len(ring))


# ---------------------------------------------------------------------- budget


def make_feasible(pieces: list[Piece], circles: list[CirclePiece], budget: Budget) -> list[Choice]:
    """Hull multipolygons, then drop the farthest exclusion zones, until triangles fit.
    Returns the zones dropped (left to the monitor)."""
    dropped: list[Choice] = []
    if _minimal_fits(pieces, circles, budget):
        return dropped
    for zone_id in _multipart_zones(pieces):
        _merge_parts(pieces, zone_id)
        if _minimal_fits(pieces, circles, budget):
            return dropped
    while not _minimal_fits(pieces, circles, budget):
        victim = _farthest(pieces, circles)
        if victim is None:
            raise simplify.SimplificationError(
                "the operating area and its holes alone do not fit the fence budget"
            )
        dropped.append(victim)
        pieces[:] = [p for p in pieces if p.choice is not victim]
        circles[:] = [c for c in circles if c.choice is not victim]
    return dropped


def _minimal_fits(pieces: Sequence[Piece], circles: Sequence[CirclePiece], budget: Budget) -> bool:
    return budget.fits([min(p.n, 3) for p in pieces], len(circles))


def _multipart_zones(pieces: Sequence[Piece]) -> list[int]:
    """Zones with several pieces, most pieces first (ids of their Choice objects)."""
    counts: dict[int, int] = {}
    for p in pieces:
        if p.choice.role is Role.EXCLUSION:
            counts[id(p.choice)] = counts.get(id(p.choice), 0) + 1
    return sorted((k for k, v in counts.items() if v > 1), key=lambda k: -counts[k])


def _merge_parts(pieces: list[Piece], choice_id: int) -> None:
    parts = [p for p in pieces if id(p.choice) == choice_id]
    choice = parts[0].choice
    everything = shapely.union_all([p.original for p in parts])
    rings = np.vstack([p.ring for p in parts])
    hull = simplify.convex_hull_ring(rings)
    merged = Piece(
        hull,
        everything,
        everything,
        False,
        choice,
        min(p.distance_m for p in parts),
        sum(p.original_vertices for p in parts),
        hull_of_parts=True,
    )
    pieces[:] = [p for p in pieces if all(p is not q for q in parts)] + [merged]


def _farthest(pieces: Sequence[Piece], circles: Sequence[CirclePiece]) -> Choice | None:
    """The exclusion zone farthest from home (the inclusion and its holes are never dropped)."""
    candidates = [(p.distance_m, p.choice) for p in pieces if p.choice.role is Role.EXCLUSION]
    candidates += [(c.distance_m, c.choice) for c in circles]
    if not candidates:
        return None
    return max(candidates, key=lambda dc: dc[0])[1]


def allocate(pieces: Sequence[Piece], circles: int, budget: Budget) -> list[int]:
    """Vertex counts: start from every vertex, take one at a time where the area changes
    least, until the fence fits."""
    counts = [p.n for p in pieces]
    if budget.fits(counts, circles):
        return counts
    heap: list[tuple[float, int]] = []
    for i, p in enumerate(pieces):
        if counts[i] > 3:
            heapq.heappush(heap, (_cost(p, counts[i]), i))
    while not budget.fits(counts, circles):
        if not heap:
            raise AssertionError("triangles were checked to fit")
        _, i = heapq.heappop(heap)
        counts[i] -= 1
        if counts[i] > 3:
            heapq.heappush(heap, (_cost(pieces[i], counts[i]), i))
    return counts


def _cost(p: Piece, count: int) -> float:
    areas = p.areas()
    return abs(areas[count - 1] - areas[count])
