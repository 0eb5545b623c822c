"""Conservative simplification, as properties: for random simple polygons (star-shaped,
often far from convex), any budget k >= 3, after rounding to 1e-7 degrees: a simplified
exclusion covers its zone, a simplified inclusion lies inside its area, with at most k
vertices, and the polygon stays simple."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon

from uav.fence import simplify
from uav.fence.flat import FlatFrame

HOME_LON, HOME_LAT = 113.3240, 23.1291
FRAME = FlatFrame(HOME_LON, HOME_LAT)


@st.composite
def star_rings(draw: st.DrawFn, max_vertices: int = 40) -> np.ndarray:
    """A simple polygon: vertices at increasing angles around a centre, radii varying up to
    3x (deep notches), centre up to 2 km from home, size 20 m to 1 km."""
    n = draw(st.integers(3, max_vertices))
    gaps = draw(st.lists(st.floats(1.0, 10.0), min_size=n, max_size=n))
    scale = 360.0 / sum(gaps)
    angles = np.radians(np.cumsum(gaps) * scale)
    size = draw(st.floats(20.0, 1000.0))
    radii = np.array(draw(st.lists(st.floats(0.33, 1.0), min_size=n, max_size=n))) * size
    cx, cy = draw(st.floats(-2000, 2000)), draw(st.floats(-2000, 2000))
    ring = np.column_stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)])
    polygon = Polygon(ring.tolist())
    assume(polygon.is_valid)  # a gap over 180 degrees can make the outline cross itself
    return simplify.ring_of(polygon)


def lonlat(ring: np.ndarray) -> Polygon:
    polygon: Polygon = FRAME.unproject(Polygon(ring.tolist()))
    return polygon


@settings(max_examples=150, deadline=None)
@given(ring=star_rings(), k=st.integers(3, 69))
def test_exclusions_cover_their_zone_within_budget(ring: np.ndarray, k: int) -> None:
    zone = lonlat(ring)
    assert zone.is_valid
    simplified = simplify.outer(ring, k)
    assert len(simplified) <= k
    vertices = simplify.exclusion_vertices(zone, simplified, FRAME)
    pushed = simplify.vertices_polygon(vertices)
    assert len(vertices) <= k and pushed.is_valid
    assert pushed.covers(zone)
    if len(ring) <= k:  # nothing to simplify: only the rounding pad (mitred) is added
        moved_m = shapely.hausdorff_distance(FRAME.project(pushed), FRAME.project(zone))
        assert moved_m <= simplify.ROUND_PAD_M * simplify.MAX_MITRE + 0.02


@settings(max_examples=150, deadline=None)
@given(ring=star_rings(), k=st.integers(3, 69))
def test_inclusions_lie_inside_their_area_within_budget(ring: np.ndarray, k: int) -> None:
    area = lonlat(ring)
    simplified = simplify.inner(ring, k)
    assert len(simplified) <= k
    vertices = simplify.inclusion_vertices(area, simplified, FRAME)
    pushed = simplify.vertices_polygon(vertices)
    assert len(vertices) <= k and pushed.is_valid
    assert area.covers(pushed)


@settings(max_examples=60, deadline=None)
@given(ring=star_rings())
def test_each_step_covers_the_previous_and_areas_are_monotonic(ring: np.ndarray) -> None:
    outer = [Polygon(r.tolist()) for r in simplify.outer_steps(ring)]
    inner = [Polygon(r.tolist()) for r in simplify.inner_steps(ring)]
    for bigger, smaller in zip(outer[1:], outer, strict=False):
        assert bigger.is_valid and bigger.buffer(1e-6).covers(smaller)
    for smaller, bigger in zip(inner[1:], inner, strict=False):
        assert smaller.is_valid and bigger.buffer(1e-6).covers(smaller)
    assert len(outer[-1].exterior.coords) - 1 == 3 == len(inner[-1].exterior.coords) - 1
    areas = simplify.step_areas(simplify.outer_steps(ring))
    counts = sorted(areas)
    assert counts[0] == 3 and counts[-1] == len(ring)
    assert all(areas[a] >= areas[b] - 1e-6 for a, b in itertools.pairwise(counts))


def test_a_square_needs_the_enclosing_triangle_for_three_vertices() -> None:
    square = simplify.ring_of(Polygon([(0, 0), (100, 0), (100, 100), (0, 100)]))
    triangle = simplify.outer(square, 3)
    assert len(triangle) == 3
    assert Polygon(triangle.tolist()).covers(Polygon(square.tolist()))
    assert Polygon(triangle.tolist()).area == pytest.approx(2 * 100 * 100)


def test_an_octagon_loses_its_cheapest_corners_first() -> None:
    octagon = simplify.ring_of(shapely.Point(0, 0).buffer(100, quad_segs=2))
    six = simplify.outer(octagon, 6)
    assert len(six) == 6 and Polygon(six.tolist()).buffer(1e-6).covers(Polygon(octagon.tolist()))
    r = 100 / math.cos(math.pi / 8)  # extending two edges of a regular octagon
    assert np.max(np.hypot(six[:, 0], six[:, 1])) <= r * math.sqrt(2) + 1e-6


def test_a_failed_verification_raises_and_never_returns_vertices() -> None:
    ring = simplify.ring_of(Polygon([(0, 0), (100, 0), (100, 100), (0, 100)]))
    bigger_zone = lonlat(ring * 1.5)  # the ring cannot cover this
    with pytest.raises(simplify.SimplificationError, match="does not cover"):
        simplify.exclusion_vertices(bigger_zone, ring, FRAME)
    smaller_area = lonlat(ring * 0.5)
    with pytest.raises(simplify.SimplificationError, match="not inside"):
        simplify.inclusion_vertices(smaller_area, ring, FRAME)


@pytest.mark.parametrize("k", [3, 12, 69])
def test_large_rings_lose_vertices_in_batches_and_stay_conservative(k: int) -> None:
    rng = np.random.default_rng(7)
    n = 3000
    angles = np.linspace(0, 2 * math.pi, n, endpoint=False)
    radii = 300 * (0.5 + 0.5 * rng.random(n))
    ring = simplify.ring_of(
        Polygon(np.column_stack([radii * np.cos(angles), radii * np.sin(angles)]).tolist())
    )
    zone, area = lonlat(ring), lonlat(ring)
    outer = simplify.exclusion_vertices(zone, simplify.outer(ring, k), FRAME)
    inner = simplify.inclusion_vertices(area, simplify.inner(ring, k), FRAME)
    assert len(outer) <= k and simplify.vertices_polygon(outer).covers(zone)
    assert len(inner) <= k and area.covers(simplify.vertices_polygon(inner))
    counts = [len(r) for r in simplify.outer_steps(ring)]
    assert counts[1] < n - 1  # the first step took a batch
    assert counts[-1] == 3
