"""ArduCopter 4.7's fence storage model, as observed (README of the SITL traces, scenario 3).

* MISSION_COUNT may announce at most :data:`MAX_ITEMS` (70) fence items; above that the
  vehicle answers NO_SPACE at once (``Only 70 items are supported``).
* The real limit is storage, checked only after the whole transfer: 560 bytes, of which a
  fence needs 4 bytes of header, 2 + 8·n per polygon of n vertices, 13 per circle and 9 per
  return point. A fence needing more is refused with ACK ERROR (``Fence exceeds storage
  size``) and the old fence is kept. So one polygon holds at most 69 vertices (558 bytes;
  70 need 566) and at most 16 four-vertex polygons fit (548 bytes; 17 need 582).

``uav fence push --max-points N`` lowers the item budget below 70 (e.g. for a drone whose
firmware keeps less); the byte budget stays 560.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from uav.errors import InputError

STORAGE_BYTES = 560
MAX_ITEMS = 70  # STORAGE_BYTES // 8: the MISSION_COUNT limit
HEADER_BYTES = 4
POLYGON_BYTES = 2  # per polygon, plus VERTEX_BYTES per vertex
VERTEX_BYTES = 8
CIRCLE_BYTES = 13
RETURN_POINT_BYTES = 9
MIN_VERTICES = 3


def fence_bytes(
    polygon_vertices: Iterable[int], circles: int = 0, return_point: bool = False
) -> int:
    """The storage a fence needs: polygons given by their vertex counts."""
    counts = list(polygon_vertices)
    polygons = sum(POLYGON_BYTES + VERTEX_BYTES * n for n in counts)
    return (
        HEADER_BYTES
        + polygons
        + CIRCLE_BYTES * circles
        + (RETURN_POINT_BYTES if return_point else 0)
    )


def fence_items(
    polygon_vertices: Iterable[int], circles: int = 0, return_point: bool = False
) -> int:
    """The number of MISSION_ITEM_INTs the fence takes (one per vertex, circle, return point)."""
    return sum(polygon_vertices) + circles + (1 if return_point else 0)


@dataclass(frozen=True)
class Budget:
    """What a fence may use: items announced in MISSION_COUNT and bytes of storage."""

    max_items: int = MAX_ITEMS
    max_bytes: int = STORAGE_BYTES

    @classmethod
    def for_max_points(cls, max_points: int | None) -> Budget:
        """The budget for ``--max-points N`` (None: the vehicle's 70)."""
        if max_points is None:
            return cls()
        if not MIN_VERTICES <= max_points <= MAX_ITEMS:
            raise InputError(
                f"--max-points {max_points}: must be {MIN_VERTICES} to {MAX_ITEMS} "
                "(ArduCopter accepts at most 70 fence items)"
            )
        return cls(max_items=max_points)

    def fits(
        self, polygon_vertices: Iterable[int], circles: int = 0, return_point: bool = False
    ) -> bool:
        counts = list(polygon_vertices)
        return (
            fence_items(counts, circles, return_point) <= self.max_items
            and fence_bytes(counts, circles, return_point) <= self.max_bytes
        )

    def why_not(
        self, polygon_vertices: Iterable[int], circles: int = 0, return_point: bool = False
    ) -> str | None:
        """None when the fence fits, else which limit it breaks (in the vehicle's terms)."""
        counts = list(polygon_vertices)
        items = fence_items(counts, circles, return_point)
        if items > self.max_items:
            return f"{items} items where at most {self.max_items} are supported"
        used = fence_bytes(counts, circles, return_point)
        if used > self.max_bytes:
            return f"{used} bytes where the fence storage holds {self.max_bytes}"
        return None
