"""Zones: the one model every format loads into."""

from uav.zones.model import (
    AltitudeRef,
    Circle,
    DailyWindow,
    Provenance,
    Restriction,
    Schedule,
    VerticalBand,
    Zone,
    ZoneGeometry,
)

__all__ = [
    "AltitudeRef",
    "Circle",
    "DailyWindow",
    "Provenance",
    "Restriction",
    "Schedule",
    "VerticalBand",
    "Zone",
    "ZoneGeometry",
]
