"""The zone model: geometry in WGS-84, a vertical band with explicit references, a schedule.

Coordinates inside shapely are ``(lon, lat)`` in degrees (WGS-84). Altitudes carry their
reference in :class:`AltitudeRef`. Instants are aware datetimes; intervals handed to the
check are epoch seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from shapely.geometry import MultiPolygon, Polygon

from uav.timeutil import get_tz


class Restriction(StrEnum):
    """What a zone means for a drone that enters it."""

    PROHIBITED = "prohibited"  # no entry (altitude limits are prohibited zones with a floor)
    AUTHORIZATION = "authorization"  # entry only with an officer's grant
    WARNING = "warning"  # entry allowed, reported
    OPERATING_AREA = "operating-area"  # the unit may fly only inside these, when any exist


class AltitudeRef(StrEnum):
    """The reference an altitude is measured from.

    uav has no terrain model: ``AGL`` (above ground) is taken as above the take-off point,
    i.e. terrain is assumed level with home. The check reports when it relied on that.
    """

    AGL = "agl"  # above ground level (taken as above take-off)
    AMSL = "amsl"  # above mean sea level (WGS-84 / GPS altitude)

    @classmethod
    def parse(cls, text: str) -> AltitudeRef:
        key = text.strip().lower().replace("_", "-")
        aliases = {
            "agl": cls.AGL,
            "sfc": cls.AGL,
            "gnd": cls.AGL,
            "above-ground": cls.AGL,
            "above-takeoff": cls.AGL,
            "above-take-off": cls.AGL,
            "above-home": cls.AGL,
            "relative": cls.AGL,
            "amsl": cls.AMSL,
            "msl": cls.AMSL,
            "wgs84": cls.AMSL,
        }
        if key not in aliases:
            raise ValueError(f"unknown altitude reference {text!r} (use agl or amsl)")
        return aliases[key]


@dataclass(frozen=True)
class Circle:
    """A circular zone: centre in WGS-84 degrees, radius in metres."""

    lon_deg: float
    lat_deg: float
    radius_m: float

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(min_lon, min_lat, max_lon, max_lat) that surely contains the circle."""
        dlat = self.radius_m / 110_574.0 * 1.001
        coslat = max(math.cos(math.radians(min(abs(self.lat_deg) + dlat, 89.9))), 1e-6)
        dlon = self.radius_m / (111_320.0 * coslat) * 1.001
        return (self.lon_deg - dlon, self.lat_deg - dlat, self.lon_deg + dlon, self.lat_deg + dlat)


ZoneGeometry = Polygon | MultiPolygon | Circle


@dataclass(frozen=True)
class VerticalBand:
    """From ``floor_m`` up to ``ceiling_m``; ``None`` ceiling means unlimited."""

    floor_m: float = 0.0
    floor_ref: AltitudeRef = AltitudeRef.AGL
    ceiling_m: float | None = None
    ceiling_ref: AltitudeRef = AltitudeRef.AGL

    @property
    def is_ground_to_unlimited(self) -> bool:
        return self.floor_m <= 0 and self.floor_ref is AltitudeRef.AGL and self.ceiling_m is None

    def describe(self) -> str:
        floor = (
            "GND"
            if self.floor_m <= 0 and self.floor_ref is AltitudeRef.AGL
            else (f"{self.floor_m:g} m {self.floor_ref.value.upper()}")
        )
        ceiling = (
            "UNL"
            if self.ceiling_m is None
            else (f"{self.ceiling_m:g} m {self.ceiling_ref.value.upper()}")
        )
        return f"{floor} – {ceiling}"


@dataclass(frozen=True)
class DailyWindow:
    """A daily window in the schedule's time zone; ``end <= start`` runs past midnight.

    ``weekdays`` holds ISO weekday numbers (1 = Monday ... 7 = Sunday) of the day the
    window starts on; empty means every day.
    """

    start: time
    end: time
    weekdays: frozenset[int] = frozenset()

    @classmethod
    def parse(cls, text: str) -> DailyWindow:
        """'08:00-20:00' or 'Mon-Fri 08:00-20:00' or 'Sat,Sun 22:00-02:00'."""
        days: frozenset[int] = frozenset()
        parts = text.strip().split()
        if len(parts) == 2:
            days = parse_weekdays(parts[0])
            span = parts[1]
        elif len(parts) == 1:
            span = parts[0]
        else:
            raise ValueError(f"cannot read daily window {text!r} (e.g. 'Mon-Fri 08:00-20:00')")
        try:
            a, b = span.split("-")
            return cls(time.fromisoformat(a), time.fromisoformat(b), days)
        except ValueError:
            raise ValueError(
                f"cannot read daily window {text!r} (e.g. 'Mon-Fri 08:00-20:00')"
            ) from None

    def describe(self) -> str:
        span = f"{self.start.strftime('%H:%M')}-{self.end.strftime('%H:%M')}"
        if not self.weekdays:
            return span
        names = ",".join(WEEKDAY_NAMES[d - 1] for d in sorted(self.weekdays))
        return f"{names} {span}"


WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def parse_weekdays(text: str) -> frozenset[int]:
    """'Mon-Fri', 'Sat,Sun', 'Mon,Wed-Fri' -> ISO weekday numbers."""
    lookup = {n.lower(): i + 1 for i, n in enumerate(WEEKDAY_NAMES)}
    out: set[int] = set()
    for chunk in text.split(","):
        chunk = chunk.strip().lower()[:7]
        if "-" in chunk:
            a, b = (c.strip()[:3] for c in chunk.split("-", 1))
            if a not in lookup or b not in lookup:
                raise ValueError(f"cannot read weekdays {text!r}")
            i, j = lookup[a], lookup[b]
            out.update(range(i, j + 1) if i <= j else [*range(i, 8), *range(1, j + 1)])
        else:
            if chunk[:3] not in lookup:
                raise ValueError(f"cannot read weekdays {text!r}")
            out.add(lookup[chunk[:3]])
    return frozenset(out)


@dataclass(frozen=True)
class Schedule:
    """When a zone is active: between ``start`` and ``end`` (either open), and, when daily
    windows are given, only inside one of them (read in ``timezone``)."""

    start: datetime | None = None
    end: datetime | None = None
    daily: tuple[DailyWindow, ...] = ()
    timezone: str = "UTC"

    @property
    def is_permanent(self) -> bool:
        return self.start is None and self.end is None and not self.daily

    def active_intervals(self, t0: float, t1: float) -> list[tuple[float, float]]:
        """The parts of [t0, t1] (epoch seconds) when the zone is active, in order."""
        lo = t0 if self.start is None else max(t0, self.start.timestamp())
        hi = t1 if self.end is None else min(t1, self.end.timestamp())
        if hi < lo:
            return []
        if not self.daily:
            return [(lo, hi)]
        tz = get_tz(self.timezone)
        first = datetime.fromtimestamp(lo, tz).date() - timedelta(days=1)
        last = datetime.fromtimestamp(hi, tz).date()
        spans: list[tuple[float, float]] = []
        day: date = first
        while day <= last:
            for w in self.daily:
                if w.weekdays and day.isoweekday() not in w.weekdays:
                    continue
                a = datetime.combine(day, w.start, tz)
                end_day = day + timedelta(days=1) if w.end <= w.start else day
                b = datetime.combine(end_day, w.end, tz)
                s, e = max(lo, a.timestamp()), min(hi, b.timestamp())
                if s <= e:
                    spans.append((s, e))
            day += timedelta(days=1)
        return merge_intervals(spans)

    def is_active(self, t: float) -> bool:
        return bool(self.active_intervals(t, t))

    def describe(self) -> str:
        if self.is_permanent:
            return "permanent"
        parts = []
        if self.start:
            parts.append(f"from {self.start.isoformat()}")
        if self.end:
            parts.append(f"until {self.end.isoformat()}")
        if self.daily:
            parts.append("daily " + ", ".join(w.describe() for w in self.daily))
            parts.append(f"({self.timezone})")
        return " ".join(parts)


def merge_intervals(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


@dataclass(frozen=True)
class Provenance:
    """Where a zone came from."""

    source_file: str | None = None
    source_format: str | None = None
    feature_index: int | None = None
    sha256: str | None = None
    loaded_by: str | None = None
    loaded_at: datetime | None = None


@dataclass(frozen=True)
class Zone:
    """One airspace zone. ``id`` is set once the database holds it."""

    name: str
    restriction: Restriction
    geometry: ZoneGeometry
    band: VerticalBand = field(default_factory=VerticalBand)
    schedule: Schedule = field(default_factory=Schedule)
    reason: str | None = None
    authority: str | None = None
    message: str | None = None
    provenance: Provenance = field(default_factory=Provenance)
    id: int | None = None

    def with_id(self, zone_id: int) -> Zone:
        return replace(self, id=zone_id)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(min_lon, min_lat, max_lon, max_lat)."""
        if isinstance(self.geometry, Circle):
            return self.geometry.bounds
        b = self.geometry.bounds
        return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))

    @property
    def geometry_kind(self) -> str:
        if isinstance(self.geometry, Circle):
            return "circle"
        return "multipolygon" if isinstance(self.geometry, MultiPolygon) else "polygon"
