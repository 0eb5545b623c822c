"""Conservative polygon simplification for the onboard fence, verified after rounding.

Rings are ``(n, 2)`` arrays of x/y metres in a :class:`~uav.fence.flat.FlatFrame`,
counter-clockwise, without the closing point. Because that frame is affine in lon/lat,
containment shown here holds in lon/lat exactly.

Exclusions (the fence must hold the whole zone): :func:`outer_steps` grows the ring one
vertex at a time. First it removes reflex vertices, smallest added triangle first, when the
triangle holds no other vertex (so the ring stays simple and only gains area). When none can
go, it takes the convex hull. On a convex ring it removes an edge by extending its two
neighbours to where they meet, smallest added triangle first. A quadrilateral whose
neighbouring edges are parallel (a parallelogram) becomes an enclosing triangle of twice
the area of its smallest bounding rectangle.

Inclusions (the fence must lie inside the area): :func:`inner_steps` clips ears (a convex
vertex whose triangle holds no other vertex), smallest lost triangle first; by the two-ears
theorem every simple ring of more than 3 vertices has one, so any budget >= 3 is reachable.

Rounding (:func:`exclusion_vertices`, :func:`inclusion_vertices`): the ring is offset by
:data:`ROUND_PAD_M` (outward for an exclusion, inward for an inclusion, mitred so the vertex
count stays), converted to lon/lat, rounded to 1e-7 degrees (MAVLink's integers), and then
checked with shapely: the rounded polygon must be valid and ``covers`` the zone (exclusion)
or be covered by it (inclusion). When a check fails, :class:`SimplificationError` is raised:
an unverified fence is never uploaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from uav.errors import UavError
from uav.fence.flat import FlatFrame

Ring = npt.NDArray[np.float64]
Vertices = list[tuple[int, int]]  # (lat_e7, lon_e7), as fence items carry them

ROUND_PAD_M = 0.05  # >> the 8 mm that rounding to 1e-7 degrees can move a vertex
MIN_VERTICES = 3
BATCH_ABOVE = 200  # rings larger than this lose a batch of vertices per step
BATCH_FRACTION = 0.05  # ... of up to this fraction of the excess
MAX_MITRE = 100.0  # a vertex moves at most this many times the pad
_EPS = 1e-12


class SimplificationError(UavError):
    """A simplified fence shape could not be verified: nothing is uploaded."""


# ---------------------------------------------------------------------- rings


def ring_of(polygon: Polygon) -> Ring:
    """The exterior of ``polygon`` as a counter-clockwise ring without repeated points."""
    coords = np.asarray(shapely.get_coordinates(polygon.exterior), float)[:-1]
    keep = np.any(coords != np.roll(coords, 1, axis=0), axis=1)
    ring = coords[keep] if keep.any() else coords[:1]
    if ring_area(ring) < 0:
        ring = ring[::-1].copy()
    return ring


def ring_area(ring: Ring) -> float:
    """Signed area (positive when counter-clockwise)."""
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def ring_polygon(ring: Ring) -> Polygon:
    return Polygon(ring.tolist())


def _turns(ring: Ring) -> npt.NDArray[np.float64]:
    """cross(v - prev, next - v) at every vertex: > 0 convex, < 0 reflex (CCW ring)."""
    prev, nxt = np.roll(ring, 1, axis=0), np.roll(ring, -1, axis=0)
    d1, d2 = ring - prev, nxt - ring
    return np.asarray(d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0], float)


def _straight(ring: Ring, i: int) -> bool:
    """Vertex ``i`` lies between its neighbours on one line (removing it changes nothing)."""
    a, v, b = ring[i - 1], ring[i], ring[(i + 1) % len(ring)]
    return float(np.dot(v - a, b - v)) > 0


class _XIndex:
    """The ring's vertices sorted by x, to find those near a triangle quickly."""

    def __init__(self, ring: Ring) -> None:
        self.order = np.argsort(ring[:, 0], kind="stable")
        self.xs = ring[self.order, 0]

    def near(self, ring: Ring, lo: Ring, hi: Ring) -> npt.NDArray[np.intp]:
        """Indices of vertices inside the box [lo, hi] (x and y)."""
        start = int(np.searchsorted(self.xs, lo[0], side="left"))
        stop = int(np.searchsorted(self.xs, hi[0], side="right"))
        idx = self.order[start:stop]
        ys = ring[idx, 1]
        return np.asarray(idx[(ys >= lo[1]) & (ys <= hi[1])], np.intp)


def _triangle_empty(ring: Ring, i: int, index: _XIndex | None = None) -> bool:
    """No other vertex of the ring in the closed triangle (prev, i, next)."""
    n = len(ring)
    a, v, b = ring[i - 1], ring[i], ring[(i + 1) % n]
    tri = np.array([a, v, b])
    scale = float(np.max(np.abs(np.array([a - v, b - v])))) ** 2 + 1.0
    pad = 1e-9 * (scale**0.5)
    lo, hi = tri.min(axis=0) - pad, tri.max(axis=0) + pad
    near = (index or _XIndex(ring)).near(ring, lo, hi)
    near = near[(near != (i - 1) % n) & (near != i) & (near != (i + 1) % n)]
    if not len(near):
        return True
    others = ring[near]
    orient = np.sign((v[0] - a[0]) * (b[1] - a[1]) - (v[1] - a[1]) * (b[0] - a[0]))
    if orient == 0:
        return True

    def side(p: Ring, q: Ring) -> npt.NDArray[np.float64]:
        d = q - p
        rel = others - p
        return np.asarray(orient * (d[0] * rel[:, 1] - d[1] * rel[:, 0]), float)

    eps = -_EPS * scale
    inside = (side(a, v) >= eps) & (side(v, b) >= eps) & (side(b, a) >= eps)
    return not bool(inside.any())


def _remove_vertex(ring: Ring, want_reflex: bool) -> Ring | None:
    """Remove the removable vertex of least triangle area (reflex ones to grow the ring,
    ears to shrink it); None when there is none. On a ring of more than
    :data:`BATCH_ABOVE` vertices, several of the cheapest go at once, no two of them
    neighbours (so each triangle is the one measured), which keeps big zones fast."""
    n = len(ring)
    batch = max(1, int((n - BATCH_ABOVE) * BATCH_FRACTION)) if n > BATCH_ABOVE else 1
    turns = _turns(ring)
    candidates = turns <= 0 if want_reflex else turns >= 0
    order = np.argsort(np.abs(turns), kind="stable")
    chosen: list[int] = []
    blocked: set[int] = set()
    index = _XIndex(ring)
    for i in order.tolist():
        if len(chosen) == batch:
            break
        if not candidates[i] or i in blocked:
            continue
        if turns[i] == 0 and not _straight(ring, i):
            continue  # a spike: not a simple ring; leave it to the verification
        if _triangle_empty(ring, i, index):
            chosen.append(i)
            blocked.update(((i - 1) % n, i, (i + 1) % n))
    if not chosen:
        return None
    return np.delete(ring, chosen, axis=0)


# ---------------------------------------------------------------------- exclusions


def outer_steps(ring: Ring) -> Iterator[Ring]:
    """Rings that each cover the previous one, with fewer and fewer vertices, down to 3.
    The first is ``ring`` itself. A step may drop more than one vertex (convex hull, or a
    batch on a large ring, see :func:`_remove_vertex`)."""
    current = ring
    yield current
    while len(current) > MIN_VERTICES and (_turns(current) < 0).any():
        smaller = _remove_vertex(current, want_reflex=True)
        if smaller is None:
            break
        current = smaller
        yield current
    if (_turns(current) < 0).any():
        current = convex_hull_ring(current)
        yield current
    while len(current) > MIN_VERTICES:
        current = _remove_edge(current)
        yield current


def convex_hull_ring(ring: Ring) -> Ring:
    hull = shapely.convex_hull(shapely.multipoints(ring))
    if not isinstance(hull, Polygon):
        raise SimplificationError("a zone polygon has no area")
    return ring_of(hull)


def _remove_edge(ring: Ring) -> Ring:
    """Convex ``ring``: drop the edge whose neighbours, extended, add the least area."""
    m = len(ring)
    prev = np.roll(ring, 1, axis=0)
    nxt = np.roll(ring, -1, axis=0)
    nxt2 = np.roll(ring, -2, axis=0)
    d1, w, d2 = ring - prev, nxt - ring, nxt2 - nxt
    denom = d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]
    scale = np.hypot(d1[:, 0], d1[:, 1]) * np.hypot(d2[:, 0], d2[:, 1])
    ok = denom > 1e-9 * scale
    if not ok.any():
        if (_turns(ring) == 0).any():
            return _remove_vertex(ring, want_reflex=True) or _enclosing_triangle(ring)
        return _enclosing_triangle(ring)
    safe = np.where(ok, denom, 1.0)
    t = (w[:, 0] * d2[:, 1] - w[:, 1] * d2[:, 0]) / safe
    p = ring + t[:, None] * d1
    added = 0.5 * np.abs((p - ring)[:, 0] * w[:, 1] - (p - ring)[:, 1] * w[:, 0])
    added = np.where(ok & (t >= 0), added, np.inf)
    i = int(np.argmin(added))
    if not np.isfinite(added[i]):
        return _enclosing_triangle(ring)
    out = ring.copy()
    out[i] = p[i]
    return np.delete(out, (i + 1) % m, axis=0)


def _enclosing_triangle(ring: Ring) -> Ring:
    """A triangle holding ``ring``: on the smallest bounding rectangle (w × h) side, base
    2w, apex 2h above (twice the rectangle's area)."""
    rect = shapely.minimum_rotated_rectangle(shapely.multipoints(ring))
    corners = np.asarray(shapely.get_coordinates(rect), float)[:4]
    o, u, v = corners[0], corners[1] - corners[0], corners[3] - corners[0]
    tri = np.array([o - 0.5 * u, o + 1.5 * u, o + 0.5 * u + 2.0 * v])
    return tri if ring_area(tri) > 0 else tri[::-1].copy()


def outer(ring: Ring, max_vertices: int) -> Ring:
    """The first ring of :func:`outer_steps` with at most ``max_vertices`` vertices."""
    return _first_within(outer_steps(ring), max_vertices)


# ---------------------------------------------------------------------- inclusions


def inner_steps(ring: Ring) -> Iterator[Ring]:
    """Rings that each lie inside the previous one, one vertex fewer each, down to 3."""
    current = ring
    yield current
    while len(current) > MIN_VERTICES:
        smaller = _remove_vertex(current, want_reflex=False)
        if smaller is None:
            raise SimplificationError(
                "an operating area's outline could not be simplified (no ear found)"
            )
        current = smaller
        yield current


def inner(ring: Ring, max_vertices: int) -> Ring:
    """The first ring of :func:`inner_steps` with at most ``max_vertices`` vertices."""
    return _first_within(inner_steps(ring), max_vertices)


def _first_within(steps: Iterator[Ring], max_vertices: int) -> Ring:
    if max_vertices < MIN_VERTICES:
        raise ValueError(f"a fence polygon needs at least {MIN_VERTICES} vertices")
    for ring in steps:
        if len(ring) <= max_vertices:
            return ring
    raise AssertionError("the steps end at 3 vertices")


def step_areas(steps: Iterable[Ring]) -> dict[int, float]:
    """Vertex count -> area of the first ring of ``steps`` with at most that many vertices."""
    areas: dict[int, float] = {}
    last_count: int | None = None
    for ring in steps:
        n = len(ring)
        area = abs(ring_area(ring))
        top = n if last_count is None else last_count - 1
        for count in range(n, top + 1):
            areas[count] = area
        last_count = n
    return areas


# ---------------------------------------------------------------------- rounding


def offset_ring(ring: Ring, distance_m: float) -> Ring:
    """Each edge moved ``distance_m`` outward (negative: inward), vertices mitred. At a very
    sharp vertex the mitre is cut to :data:`MAX_MITRE` times the distance (the vertex then
    moves less than a true offset; the verification after rounding decides)."""
    prev, nxt = np.roll(ring, 1, axis=0), np.roll(ring, -1, axis=0)
    e1, e2 = ring - prev, nxt - ring
    e1 = e1 / np.hypot(e1[:, 0], e1[:, 1])[:, None]
    e2 = e2 / np.hypot(e2[:, 0], e2[:, 1])[:, None]
    n1 = np.column_stack([e1[:, 1], -e1[:, 0]])
    n2 = np.column_stack([e2[:, 1], -e2[:, 0]])
    denom = np.maximum(1.0 + np.sum(n1 * n2, axis=1), 1e-12)
    move = distance_m * (n1 + n2) / denom[:, None]
    length = np.hypot(move[:, 0], move[:, 1])
    limit = MAX_MITRE * abs(distance_m)
    scale = np.where(length > limit, limit / np.maximum(length, 1e-300), 1.0)
    return np.asarray(ring + move * scale[:, None], float)


def exclusion_vertices(zone_lonlat: BaseGeometry, ring: Ring, frame: FlatFrame) -> Vertices:
    """``ring`` padded outward and rounded; verified to cover ``zone_lonlat``."""
    vertices, polygon = _rounded(offset_ring(ring, ROUND_PAD_M), frame)
    if not shapely.covers(polygon, zone_lonlat):
        raise SimplificationError(
            "a simplified exclusion polygon does not cover its zone after rounding"
        )
    return vertices


def inclusion_vertices(area_lonlat: BaseGeometry, ring: Ring, frame: FlatFrame) -> Vertices:
    """``ring`` padded inward and rounded; verified to lie inside ``area_lonlat``."""
    vertices, polygon = _rounded(offset_ring(ring, -ROUND_PAD_M), frame)
    if not shapely.covers(area_lonlat, polygon):
        raise SimplificationError(
            "a simplified inclusion polygon is not inside its operating area after rounding"
        )
    return vertices


def _rounded(ring: Ring, frame: FlatFrame) -> tuple[Vertices, Polygon]:
    lon, lat = frame.to_lonlat(ring[:, 0], ring[:, 1])
    lat_e7 = np.round(lat * 1e7).astype(np.int64)
    lon_e7 = np.round(lon * 1e7).astype(np.int64)
    vertices: Vertices = []
    for la, lo in zip(lat_e7.tolist(), lon_e7.tolist(), strict=True):
        if not vertices or vertices[-1] != (la, lo):
            vertices.append((la, lo))
    if len(vertices) > 1 and vertices[0] == vertices[-1]:
        vertices.pop()
    if len(vertices) < MIN_VERTICES:
        raise SimplificationError("a fence polygon collapsed when rounded to 1e-7 degrees")
    polygon = vertices_polygon(vertices)
    if not polygon.is_valid or polygon.area <= 0:
        raise SimplificationError("a fence polygon is not simple after rounding to 1e-7 degrees")
    return vertices, polygon


def vertices_polygon(vertices: Vertices) -> Polygon:
    """A fence polygon's (lat_e7, lon_e7) vertices as a lon/lat shapely polygon."""
    return Polygon([(lo / 1e7, la / 1e7) for la, lo in vertices])
