"""What a detection report holds, and writing it in a format (csv, geojson, kml, html).

The renderers are pure functions of a :class:`ReportData`: sightings (a detection with its
judgement, flattened), track states, incidents. ``write_report`` picks the renderer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from uav.detect.model import Detection, Incident, Judgement, Track
from uav.errors import InputError

FORMATS = ("csv", "geojson", "kml", "html")


@dataclass(frozen=True)
class Sighting:
    """One detection as a report shows it."""

    time_s: float
    track_id: str
    source: str
    lat_deg: float | None
    lon_deg: float | None
    alt_m: float | None
    alt_frame: str | None
    category: str
    severity: str
    authorised: bool
    zone_id: int | None

    @classmethod
    def of(cls, d: Detection, j: Judgement) -> Sighting:
        return cls(
            d.time_s,
            j.track_id,
            d.source,
            d.lat_deg,
            d.lon_deg,
            d.alt_m,
            None if d.alt_frame is None else str(d.alt_frame),
            str(j.category),
            str(j.severity),
            j.authorised,
            j.zone_id,
        )

    @property
    def has_position(self) -> bool:
        return self.lat_deg is not None and self.lon_deg is not None


@dataclass(frozen=True)
class ReportData:
    """Everything one report shows; sightings in time order."""

    sightings: Sequence[Sighting] = ()
    tracks: Sequence[Track] = ()
    incidents: Sequence[Incident] = ()
    since_s: float | None = None
    until_s: float | None = None
    generated_s: float = field(default_factory=lambda: datetime.now(UTC).timestamp())

    def paths(self) -> dict[str, list[Sighting]]:
        """Each track's positioned sightings, in time order."""
        out: dict[str, list[Sighting]] = {}
        for s in self.sightings:
            if s.has_position:
                out.setdefault(s.track_id, []).append(s)
        return out


def iso_utc(t_s: float | None) -> str:
    if t_s is None:
        return ""
    return datetime.fromtimestamp(t_s, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


INCIDENT_COLUMNS = (
    "incident_id",
    "track_id",
    "zone_id",
    "zone_name",
    "severity",
    "state",
    "opened",
    "updated",
    "closed",
    "detections",
    "authorised",
    "lat_deg",
    "lon_deg",
    "alt_m",
    "remote_id",
    "icao_address",
    "operator_lat_deg",
    "operator_lon_deg",
)


def incident_row(i: Incident) -> dict[str, Any]:
    return {
        "incident_id": i.incident_id,
        "track_id": i.track_id,
        "zone_id": i.zone_id,
        "zone_name": i.zone_name,
        "severity": str(i.severity),
        "state": str(i.state),
        "opened": iso_utc(i.opened_s),
        "updated": iso_utc(i.updated_s),
        "closed": iso_utc(i.closed_s),
        "detections": i.detections,
        "authorised": i.authorised,
        "lat_deg": i.lat_deg,
        "lon_deg": i.lon_deg,
        "alt_m": i.alt_m,
        "remote_id": i.remote_id,
        "icao_address": i.icao_address,
        "operator_lat_deg": i.operator_lat_deg,
        "operator_lon_deg": i.operator_lon_deg,
    }


def render(data: ReportData, fmt: str) -> bytes:
    """The report in ``fmt`` (one of :data:`FORMATS`) as the bytes of one file."""
    if fmt == "csv":
        from uav.detect.report_csv import render_csv

        return render_csv(data).encode()
    if fmt == "geojson":
        from uav.detect.report_geojson import render_geojson

        return render_geojson(data).encode()
    if fmt == "kml":
        from uav.detect.report_kml import render_kml

        return render_kml(data)
    if fmt == "html":
        from uav.detect.report_html import render_html

        return render_html(data).encode()
    raise InputError(f"unknown report format {fmt!r} (use {', '.join(FORMATS)})")


def write_report(data: ReportData, fmt: str, path: Path) -> int:
    """Write the report (atomically: a temporary file renamed into place); returns bytes."""
    body = render(data, fmt)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(body)
        tmp.replace(path)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    return len(body)
