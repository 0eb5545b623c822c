"""The uploaded fence: items grouped into polygons, circles and a return point, and checked.

ArduCopter checks and writes a fence only once the whole upload has arrived (README,
scenario 3). Observed and reproduced here:

* A polygon whose items do not match its declared vertex count (param1) is refused with
  ``Incorrect item count`` (severity 6), ``Fence validation failed`` (4) and ACK ERROR.
* Storage is 560 bytes: 4 bytes of header, plus 2 + 8·n per polygon of n vertices, 13 per
  circle and 9 per return point. A fence needing more is refused with
  ``Fence exceeds storage size`` (4) and ACK ERROR. At most 70 items may be announced.
* FENCE_TOTAL, which the vehicle saves after a good upload, was 11 for the 10-item mixed
  fence (one return point) and n + 2 for polygon-only fences of n items; this module
  reproduces that as ``items - return points + 2`` (the formula is inferred).

*Inferred, not recorded:* the refusal texts for a polygon of fewer than 3 vertices
(``Bad vertex count``), a circle whose radius is not positive (``Bad radius``) and a second
return point (``Multiple return points``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from uav.sim.mission_items import (
    CMD_FENCE_CIRCLE_EXCLUSION,
    CMD_FENCE_CIRCLE_INCLUSION,
    CMD_FENCE_POLYGON_EXCLUSION,
    CMD_FENCE_POLYGON_INCLUSION,
    CMD_FENCE_RETURN_POINT,
    StoredItem,
)

FENCE_STORAGE_BYTES = 560
FENCE_MAX_ITEMS = FENCE_STORAGE_BYTES // 8  # 70, the MISSION_COUNT limit
_HEADER_BYTES = 4
_POLYGON_BYTES = 2
_VERTEX_BYTES = 8
_CIRCLE_BYTES = 13
_RETURN_POINT_BYTES = 9


@dataclass(frozen=True)
class FencePolygon:
    inclusion: bool
    vertices_deg: tuple[tuple[float, float], ...]  # (lat_deg, lon_deg)


@dataclass(frozen=True)
class FenceCircle:
    inclusion: bool
    lat_deg: float
    lon_deg: float
    radius_m: float


@dataclass(frozen=True)
class FenceSet:
    polygons: tuple[FencePolygon, ...] = ()
    circles: tuple[FenceCircle, ...] = ()
    return_point_deg: tuple[float, float] | None = None

    @property
    def is_empty(self) -> bool:
        return not self.polygons and not self.circles

    def storage_bytes(self) -> int:
        polygons = sum(_POLYGON_BYTES + _VERTEX_BYTES * len(p.vertices_deg) for p in self.polygons)
        circles = _CIRCLE_BYTES * len(self.circles)
        ret = _RETURN_POINT_BYTES if self.return_point_deg is not None else 0
        return _HEADER_BYTES + polygons + circles + ret


class FenceInvalid(Exception):
    """A fence upload that ArduCopter refuses; ``reason`` is its STATUSTEXT."""

    def __init__(self, reason: str, storage: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.storage = storage  # True: storage exceeded (no "Fence validation failed" text)


def parse_fence(items: Sequence[StoredItem]) -> FenceSet:
    """Group fence items into shapes; FenceInvalid when ArduCopter would refuse them."""
    polygons: list[FencePolygon] = []
    circles: list[FenceCircle] = []
    return_point: tuple[float, float] | None = None
    i = 0
    while i < len(items):
        item = items[i]
        if item.command in (CMD_FENCE_POLYGON_INCLUSION, CMD_FENCE_POLYGON_EXCLUSION):
            polygon = _polygon_at(items, i)
            polygons.append(polygon)
            i += len(polygon.vertices_deg)
            continue
        if item.command in (CMD_FENCE_CIRCLE_INCLUSION, CMD_FENCE_CIRCLE_EXCLUSION):
            circles.append(_circle(item))
        elif item.command == CMD_FENCE_RETURN_POINT:
            if return_point is not None:
                raise FenceInvalid("Multiple return points")
            return_point = (item.x * 1e-7, item.y * 1e-7)
        i += 1
    fence = FenceSet(tuple(polygons), tuple(circles), return_point)
    if fence.storage_bytes() > FENCE_STORAGE_BYTES:
        raise FenceInvalid("Fence exceeds storage size", storage=True)
    return fence


def _polygon_at(items: Sequence[StoredItem], start: int) -> FencePolygon:
    first = items[start]
    count = int(first.param1)
    if count < 3:
        raise FenceInvalid("Bad vertex count")
    run = items[start : start + count]
    if len(run) < count or any(
        it.command != first.command or int(it.param1) != count for it in run
    ):
        raise FenceInvalid("Incorrect item count")
    vertices = tuple((it.x * 1e-7, it.y * 1e-7) for it in run)
    return FencePolygon(first.command == CMD_FENCE_POLYGON_INCLUSION, vertices)


def _circle(item: StoredItem) -> FenceCircle:
    if not item.param1 > 0:
        raise FenceInvalid("Bad radius")
    inclusion = item.command == CMD_FENCE_CIRCLE_INCLUSION
    return FenceCircle(inclusion, item.x * 1e-7, item.y * 1e-7, float(item.param1))


def fence_total(items: Sequence[StoredItem]) -> int:
    """The FENCE_TOTAL value the vehicle saves for an accepted fence (0 for no fence)."""
    if not items:
        return 0
    returns = sum(1 for it in items if it.command == CMD_FENCE_RETURN_POINT)
    return len(items) - returns + 2
