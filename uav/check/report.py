"""What a flight-plan check found: findings (violations and warnings) and the report.

A :class:`Finding` names the rule, the zone (when one is involved), the leg as ``"i→j"`` from
the two points' labels and where the drone first breaks the rule (:class:`Entry`). The
:class:`CheckReport` is ``clear`` when it holds no violation; warnings never block a flight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

# Rule names, as they appear in findings and in the JSON report.
ENTERS_ZONE = "enters-zone"
ENTERS_WARNING_ZONE = "enters-warning-zone"
WITHIN_BUFFER = "within-buffer"
ABOVE_CEILING = "above-ceiling"
OUTSIDE_OPERATING_AREA = "outside-operating-area"
HOME_IN_ZONE = "home-in-zone"


class Entry(TypedDict):
    """Where (and when) the drone first breaks a rule."""

    lat_deg: float
    lon_deg: float
    alt_m: float  # above home (take-off point)
    alt_amsl_m: float | None  # None when the plan does not give home's altitude
    time: str  # ISO 8601, UTC


@dataclass(frozen=True)
class Finding:
    """One violation or warning."""

    rule: str
    zone_id: int | None
    zone: str | None
    restriction: str | None
    leg: str
    leg_index: int
    entry: Entry
    message: str
    clearance_m: float | None = None
    last_leg_index: int | None = None  # the last leg of the stay (not in to_json)

    @property
    def leg_indices(self) -> range:
        """Every leg this finding's stay covers (one finding per stay, see the engine)."""
        last = self.leg_index if self.last_leg_index is None else self.last_leg_index
        return range(self.leg_index, last + 1)

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "zone_id": self.zone_id,
            "zone": self.zone,
            "restriction": self.restriction,
            "leg": self.leg,
            "leg_index": self.leg_index,
            "entry": dict(self.entry),
            "clearance_m": self.clearance_m,
            "message": self.message,
        }


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """By leg, then entry time (ISO strings in one format sort as the instants do)."""
    return sorted(findings, key=lambda f: (f.leg_index, f.entry["time"], f.rule, f.zone_id or 0))


@dataclass(frozen=True)
class CheckReport:
    """The outcome of checking one flight path against the zones."""

    violations: list[Finding]
    warnings: list[Finding]
    notes: list[str]
    start: datetime
    duration_s: float
    legs: int
    zones_considered: int

    @property
    def clear(self) -> bool:
        """True when the path breaks no rule (warnings allowed)."""
        return not self.violations

    def to_json(self) -> dict[str, Any]:
        return {
            "clear": self.clear,
            "violations": [f.to_json() for f in self.violations],
            "warnings": [f.to_json() for f in self.warnings],
            "notes": list(self.notes),
            "start": self.start.isoformat(),
            "duration_s": self.duration_s,
            "legs": self.legs,
            "zones_considered": self.zones_considered,
        }


def describe_position(entry: Entry) -> str:
    """'23.10660 N, 113.32450 E, 85 m above home (100 m AMSL), 2026-11-24 06:00:05 UTC'."""
    lat, lon = entry["lat_deg"], entry["lon_deg"]
    ns = "N" if lat >= 0 else "S"
    ew = "E" if lon >= 0 else "W"
    alt = f"{entry['alt_m']:.0f} m above home"
    if entry["alt_amsl_m"] is not None:
        alt += f" ({entry['alt_amsl_m']:.0f} m AMSL)"
    when = entry["time"][:19].replace("T", " ") + " UTC"
    return f"{abs(lat):.5f} {ns}, {abs(lon):.5f} {ew}, {alt}, {when}"
