"""Selecting zones: active at an instant, near a point."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import shapely
from shapely.geometry import Point

from uav.geo.local import LocalFrame
from uav.zones.model import Circle, Zone


def active_at(zones: Sequence[Zone], when: datetime) -> list[Zone]:
    t = when.timestamp()
    return [z for z in zones if z.schedule.is_active(t)]


def distance_m(zone: Zone, lat_deg: float, lon_deg: float, frame: LocalFrame) -> float:
    """Horizontal distance from the point to the zone (0 inside), in metres."""
    if isinstance(zone.geometry, Circle):
        x, y = frame.to_xy(zone.geometry.lon_deg, zone.geometry.lat_deg)
        px, py = frame.to_xy(lon_deg, lat_deg)
        d = float(((x - px) ** 2 + (y - py) ** 2) ** 0.5)
        return max(0.0, d - zone.geometry.radius_m)
    px, py = frame.to_xy(lon_deg, lat_deg)
    return float(shapely.distance(frame.project(zone.geometry), Point(float(px), float(py))))


def near(zones: Sequence[Zone], lat_deg: float, lon_deg: float, radius_m: float) -> list[Zone]:
    """Zones within ``radius_m`` of the point (horizontal), nearest first."""
    frame = LocalFrame(lon_deg, lat_deg)
    scored = [(distance_m(z, lat_deg, lon_deg, frame), z) for z in zones]
    return [z for d, z in sorted(scored, key=lambda p: p[0]) if d <= radius_m]
