"""Helpers for the detection tests: zones and detections placed in metres around a point."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import shapely
from pyproj import Geod

from uav.detect.model import AltFrame, Detection, SensorKind
from uav.zones.model import AltitudeRef, Circle, Restriction, Schedule, VerticalBand, Zone

LAT0, LON0 = 23.1291, 113.3240
T0 = 1_795_000_000.0  # 2026-11-18T...Z, any instant works
_GEOD = Geod(ellps="WGS84")


def at(north_m: float, east_m: float) -> tuple[float, float]:
    """(lat, lon) ``north_m`` then ``east_m`` metres (geodesic) from (LAT0, LON0)."""
    lon, lat, _ = _GEOD.fwd(LON0, LAT0, 0.0, north_m)
    lon, lat, _ = _GEOD.fwd(lon, lat, 90.0, east_m)
    return float(lat), float(lon)


def square(
    zone_id: int,
    restriction: Restriction,
    *,
    south_m: float,
    west_m: float,
    size_m: float,
    band: VerticalBand | None = None,
    schedule: Schedule | None = None,
    name: str | None = None,
) -> Zone:
    (s, w), (n, e) = at(south_m, west_m), at(south_m + size_m, west_m + size_m)
    return Zone(
        name=name or f"zone {zone_id}",
        restriction=restriction,
        geometry=shapely.box(w, s, e, n),
        band=band or VerticalBand(),
        schedule=schedule or Schedule(),
        id=zone_id,
    )


def circle(
    zone_id: int, restriction: Restriction, north_m: float, east_m: float, r_m: float
) -> Zone:
    lat, lon = at(north_m, east_m)
    return Zone(f"circle {zone_id}", restriction, Circle(lon, lat, r_m), id=zone_id)


def band(floor_m: float, ceiling_m: float | None, *, amsl: bool = False) -> VerticalBand:
    ref = AltitudeRef.AMSL if amsl else AltitudeRef.AGL
    return VerticalBand(floor_m, ref, ceiling_m, ref)


def window(start_s: float, end_s: float) -> Schedule:
    from uav.timeutil import from_epoch

    start: datetime = from_epoch(start_s)
    return Schedule(start=start, end=from_epoch(end_s))


@dataclass
class Permit:
    """A stand-in permit for the judge tests (the real ones live in uav.detect.permits)."""

    id: int
    remote_id: str
    zone_id: int | None = None


def stub_permit_for(d: Detection, permits: Any, zone_ids: tuple[int, ...]) -> Permit | None:
    for p in permits:
        if p.remote_id == d.remote_id and (p.zone_id is None or p.zone_id in zone_ids):
            return p  # type: ignore[no-any-return]
    return None


def det(
    north_m: float | None,
    east_m: float | None,
    *,
    t: float = 0.0,
    alt_m: float | None = 50.0,
    frame: AltFrame | None = AltFrame.ABOVE_TAKEOFF,
    remote_id: str | None = "RID-1",
    icao: str | None = None,
    kind: SensorKind = SensorKind.REMOTE_ID,
    emitter_type: int | None = None,
    **kw: Any,
) -> Detection:
    """A detection ``north_m``/``east_m`` from the origin at ``T0 + t``."""
    lat, lon = kw.pop("lat_deg", None), kw.pop("lon_deg", None)
    if north_m is not None and east_m is not None:
        lat, lon = at(north_m, east_m)
    fields: dict[str, Any] = {"source": "test", "sensor_id": "s1", **kw}
    return Detection(
        time_s=T0 + t,
        sensor_kind=kind,
        lat_deg=lat,
        lon_deg=lon,
        alt_m=alt_m,
        alt_frame=frame,
        remote_id=remote_id,
        icao_address=icao,
        emitter_type=emitter_type,
        **fields,
    )
