"""Fence shapes <-> the MISSION_ITEM_INT items of mission type FENCE.

Items as ArduCopter takes them (trace scenario 3): frame 0 (GLOBAL), x/y the vertex or
centre in degE7, z 0; a polygon is n consecutive items of command 5001 (inclusion) or 5002
(exclusion) each with param1 = n; a circle is one item 5003/5004 with param1 = radius (m);
5000 is the return point. A download gives the items back with frame 0, autocontinue 0, z 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from uav.errors import UavError
from uav.fence.budget import fence_bytes, fence_items
from uav.link.mission_items import MissionItemInt

FENCE = 1  # MAV_MISSION_TYPE_FENCE
MAV_FRAME_GLOBAL = 0
CMD_RETURN_POINT = 5000
CMD_POLYGON_INCLUSION = 5001
CMD_POLYGON_EXCLUSION = 5002
CMD_CIRCLE_INCLUSION = 5003
CMD_CIRCLE_EXCLUSION = 5004

LatLonE7 = tuple[int, int]


class FenceItemsError(UavError):
    """Fence items that do not group into shapes (as the vehicle would refuse them)."""


@dataclass(frozen=True)
class FencePolygon:
    inclusion: bool
    vertices: tuple[LatLonE7, ...]  # (lat_e7, lon_e7)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "inclusion" if self.inclusion else "exclusion",
            "vertices": len(self.vertices),
            "points_deg": [[la / 1e7, lo / 1e7] for la, lo in self.vertices],
        }


@dataclass(frozen=True)
class FenceCircle:
    inclusion: bool
    lat_e7: int
    lon_e7: int
    radius_m: float  # as float32 carries it

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "inclusion" if self.inclusion else "exclusion",
            "lat_deg": self.lat_e7 / 1e7,
            "lon_deg": self.lon_e7 / 1e7,
            "radius_m": self.radius_m,
        }


@dataclass(frozen=True)
class FenceShapes:
    polygons: tuple[FencePolygon, ...] = ()
    circles: tuple[FenceCircle, ...] = ()
    return_point: LatLonE7 | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def is_empty(self) -> bool:
        return not self.polygons and not self.circles and self.return_point is None

    @property
    def bytes_used(self) -> int:
        counts = [len(p.vertices) for p in self.polygons]
        return fence_bytes(counts, len(self.circles), self.return_point is not None)

    @property
    def item_count(self) -> int:
        counts = [len(p.vertices) for p in self.polygons]
        return fence_items(counts, len(self.circles), self.return_point is not None)

    def to_items(self) -> list[MissionItemInt]:
        """Polygons first (inclusions, then exclusions, in order), then circles, then the
        return point; numbered 0, 1, ..."""
        out: list[MissionItemInt] = []
        for poly in self.polygons:
            command = CMD_POLYGON_INCLUSION if poly.inclusion else CMD_POLYGON_EXCLUSION
            for la, lo in poly.vertices:
                out.append(_item(len(out), command, la, lo, float(len(poly.vertices))))
        for c in self.circles:
            command = CMD_CIRCLE_INCLUSION if c.inclusion else CMD_CIRCLE_EXCLUSION
            out.append(_item(len(out), command, c.lat_e7, c.lon_e7, c.radius_m))
        if self.return_point is not None:
            out.append(_item(len(out), CMD_RETURN_POINT, *self.return_point, 0.0))
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "polygons": [p.to_json() for p in self.polygons],
            "circles": [c.to_json() for c in self.circles],
            "return_point_deg": None
            if self.return_point is None
            else [self.return_point[0] / 1e7, self.return_point[1] / 1e7],
            "items": self.item_count,
            "bytes": self.bytes_used,
        }


def _item(seq: int, command: int, lat_e7: int, lon_e7: int, param1: float) -> MissionItemInt:
    return MissionItemInt(
        seq=seq,
        command=command,
        frame=MAV_FRAME_GLOBAL,
        x=lat_e7,
        y=lon_e7,
        z=0.0,
        param1=param1,
        autocontinue=0,
        mission_type=FENCE,
    )


def shapes_of(items: Sequence[MissionItemInt]) -> FenceShapes:
    """Group downloaded fence items into shapes; unknown commands are kept as notes."""
    polygons: list[FencePolygon] = []
    circles: list[FenceCircle] = []
    ret: LatLonE7 | None = None
    notes: list[str] = []
    i = 0
    while i < len(items):
        item = items[i]
        if item.command in (CMD_POLYGON_INCLUSION, CMD_POLYGON_EXCLUSION):
            poly = _polygon_at(items, i)
            polygons.append(poly)
            i += len(poly.vertices)
            continue
        if item.command in (CMD_CIRCLE_INCLUSION, CMD_CIRCLE_EXCLUSION):
            inclusion = item.command == CMD_CIRCLE_INCLUSION
            circles.append(FenceCircle(inclusion, item.x, item.y, float(item.param1)))
        elif item.command == CMD_RETURN_POINT:
            ret = (item.x, item.y)
        else:
            notes.append(f"item {item.seq}: command {item.command} is not a fence item")
        i += 1
    return FenceShapes(tuple(polygons), tuple(circles), ret, tuple(notes))


def _polygon_at(items: Sequence[MissionItemInt], start: int) -> FencePolygon:
    first = items[start]
    count = int(first.param1)
    run = items[start : start + count]
    if (
        count < 3
        or len(run) < count
        or any(it.command != first.command or int(it.param1) != count for it in run)
    ):
        raise FenceItemsError(
            f"fence item {first.seq}: a polygon declaring {count} vertices does not have them"
        )
    return FencePolygon(first.command == CMD_POLYGON_INCLUSION, tuple((it.x, it.y) for it in run))
