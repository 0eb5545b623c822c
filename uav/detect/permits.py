"""Permits: third-party drones (or aircraft) allowed to fly, by Remote ID or ICAO address.

A permit names the aircraft (``remote_id`` and/or ``icao_address``), a time window and,
optionally, where: one zone (``zone_id``) or an area (a lon/lat polygon, the union of a zone
file's features). :func:`permit_for` is the pure matching rule the judge applies; every permit
change is an evidence record (``uav.store.evidence``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from uav.detect.model import Detection
from uav.errors import InputError

ICAO_RE = re.compile(r"^[0-9A-F]{6}$")
CIRCLE_QUAD_SEGS = 32  # a circle in an area file becomes a 128-gon (inside error < 0.05 %)


@dataclass(frozen=True)
class Permit:
    """``remote_id`` / ``icao_address`` may fly from ``start`` to ``end`` (inclusive), only
    inside zone ``zone_id`` or ``area`` when one is given."""

    start: datetime
    end: datetime
    remote_id: str | None = None
    icao_address: str | None = None  # 6 upper-case hex digits
    operator: str | None = None
    zone_id: int | None = None
    area: Polygon | MultiPolygon | None = None  # lon/lat WGS-84
    area_source: str | None = None
    reason: str | None = None
    id: int | None = None
    created_at: datetime | None = None
    revoked_at: datetime | None = None
    start_s: float = field(init=False, repr=False, compare=False)
    end_s: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "start_s", self.start.timestamp())
        object.__setattr__(self, "end_s", self.end.timestamp())
        if self.area is not None:
            shapely.prepare(self.area)

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def label(self) -> str:
        """What ``Judgement.authorised_by`` says: ``permit:<id>``."""
        return f"permit:{self.id}"

    def validate(self) -> None:
        """Raise InputError unless the permit can be stored."""
        if not self.remote_id and not self.icao_address:
            raise InputError("a permit needs --remote-id or --icao")
        if self.icao_address is not None and not ICAO_RE.match(self.icao_address):
            raise InputError(
                f"ICAO address {self.icao_address!r} is not 6 hexadecimal digits (e.g. 7C6B2D)"
            )
        if self.end_s <= self.start_s:
            raise InputError(
                f"permit end {self.end.isoformat()} is not after start {self.start.isoformat()}"
            )
        if self.zone_id is not None and self.area is not None:
            raise InputError("give --zone or --area, not both")
        if self.area is not None and (self.area.is_empty or not self.area.is_valid):
            raise InputError("the permit area is empty or not a valid polygon")

    def matches_id(self, det: Detection) -> bool:
        return bool(
            (self.remote_id is not None and det.remote_id == self.remote_id)
            or (self.icao_address is not None and det.icao_address == self.icao_address)
        )

    def covers(self, det: Detection, zone_ids: Iterable[int]) -> bool:
        """True when this permit authorises ``det`` (inside ``zone_ids``, 3-D + time)."""
        if self.is_revoked or not self.matches_id(det):
            return False
        if not self.start_s <= det.time_s <= self.end_s:
            return False
        if self.zone_id is not None and self.zone_id not in zone_ids:
            return False
        if self.area is not None:
            if not det.has_position:
                return False  # fail closed: an area permit needs a position to hold
            assert det.lon_deg is not None and det.lat_deg is not None
            return bool(shapely.intersects_xy(self.area, det.lon_deg, det.lat_deg))
        return True


def normalise_icao(text: str | None) -> str | None:
    if text is None:
        return None
    s = text.strip().upper()
    return s[2:] if s.startswith("0X") else s


def permit_for(
    detection: Detection, permits: Sequence[Permit], zone_ids: Iterable[int]
) -> Permit | None:
    """The first permit (in the order given) that authorises ``detection``, or None.

    A permit matches by Remote ID or ICAO address, with the detection's time within
    [start, end], and, when the permit has a zone, ``zone_ids`` (the zones the detection is
    inside) containing it, or, when it has an area, the detection's position inside it."""
    zones = zone_ids if isinstance(zone_ids, set | frozenset | tuple) else tuple(zone_ids)
    for p in permits:
        if p.covers(detection, zones):
            return p
    return None


class PermitIndex:
    """Permits looked up by id: :meth:`permit_for` costs a dict probe for the many
    detections no permit names."""

    def __init__(self, permits: Iterable[Permit]) -> None:
        self.permits = [p for p in permits if not p.is_revoked]
        self._by_rid: dict[str, list[Permit]] = {}
        self._by_icao: dict[str, list[Permit]] = {}
        for p in self.permits:
            if p.remote_id is not None:
                self._by_rid.setdefault(p.remote_id, []).append(p)
            if p.icao_address is not None:
                self._by_icao.setdefault(p.icao_address, []).append(p)

    def __len__(self) -> int:
        return len(self.permits)

    def candidates(self, det: Detection) -> list[Permit]:
        found: list[Permit] = []
        if det.remote_id is not None:
            found += self._by_rid.get(det.remote_id, ())
        if det.icao_address is not None:
            found += [p for p in self._by_icao.get(det.icao_address, ()) if p not in found]
        return found

    def permit_for(self, det: Detection, zone_ids: Iterable[int]) -> Permit | None:
        if det.remote_id is None and det.icao_address is None:
            return None
        cands = self.candidates(det)
        return permit_for(det, sorted(cands, key=_order), zone_ids) if cands else None


def _order(p: Permit) -> int:
    return p.id if p.id is not None else 0


def read_area(path: Path) -> Polygon | MultiPolygon:
    """The union of every zone in a zone file (any format uav reads), as one lon/lat area."""
    from uav.formats import read_zone_file
    from uav.zones.model import Circle

    zones = read_zone_file(path)
    if not zones:
        raise InputError(f"{path}: no zones in the area file")
    parts: list[Any] = []
    for z in zones:
        g = z.geometry
        parts.append(circle_polygon(g) if isinstance(g, Circle) else g)
    area = shapely.union_all(parts)
    if not isinstance(area, Polygon | MultiPolygon) or area.is_empty:
        raise InputError(f"{path}: the area's union is not a polygon")
    return area


def circle_polygon(c: Any) -> BaseGeometry:
    """A :class:`uav.zones.Circle` as a lon/lat polygon (buffered in a local metric frame)."""
    from shapely.geometry import Point

    from uav.geo.local import LocalFrame

    frame = LocalFrame(c.lon_deg, c.lat_deg)
    disc = Point(0.0, 0.0).buffer(c.radius_m, quad_segs=CIRCLE_QUAD_SEGS)
    return frame.unproject(disc)


__all__ = ["Permit", "PermitIndex", "normalise_icao", "permit_for", "read_area"]
