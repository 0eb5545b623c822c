"""Zone rows <-> :class:`Zone` objects, and the zone queries of the store."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from sqlalchemy import and_, delete, or_, select

from uav.errors import NotFound
from uav.store import schema
from uav.zones.model import (
    AltitudeRef,
    Circle,
    DailyWindow,
    Provenance,
    Restriction,
    Schedule,
    VerticalBand,
    Zone,
)

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from sqlalchemy import Connection, Engine

Z = schema.zones


def zone_row(z: Zone) -> dict[str, Any]:
    min_lon, min_lat, max_lon, max_lat = z.bounds
    g = z.geometry
    row: dict[str, Any] = {
        "name": z.name,
        "restriction": z.restriction.value,
        "geometry_kind": z.geometry_kind,
        "geometry_wkb": None if isinstance(g, Circle) else shapely.to_wkb(g),
        "circle_lon_deg": g.lon_deg if isinstance(g, Circle) else None,
        "circle_lat_deg": g.lat_deg if isinstance(g, Circle) else None,
        "circle_radius_m": g.radius_m if isinstance(g, Circle) else None,
        "min_lon_deg": min_lon,
        "min_lat_deg": min_lat,
        "max_lon_deg": max_lon,
        "max_lat_deg": max_lat,
        "floor_m": z.band.floor_m,
        "floor_ref": z.band.floor_ref.value,
        "ceiling_m": z.band.ceiling_m,
        "ceiling_ref": z.band.ceiling_ref.value,
        "start_s": _ts(z.schedule.start),
        "start_iso": _iso(z.schedule.start),
        "end_s": _ts(z.schedule.end),
        "end_iso": _iso(z.schedule.end),
        "daily": json.dumps([w.describe() for w in z.schedule.daily]) if z.schedule.daily else None,
        "timezone": z.schedule.timezone,
        "reason": z.reason,
        "authority": z.authority,
        "message": z.message,
        "source_file": z.provenance.source_file,
        "source_format": z.provenance.source_format,
        "feature_index": z.provenance.feature_index,
        "source_sha256": z.provenance.sha256,
        "loaded_by": z.provenance.loaded_by,
        "loaded_at_iso": _iso(z.provenance.loaded_at),
    }
    return row


def _ts(dt: datetime | None) -> float | None:
    return None if dt is None else dt.timestamp()


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat()


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def rows_to_zones(rows: Sequence[Any]) -> list[Zone]:
    """Rows -> zones. Polygon WKB is decoded in one vectorised call, and the value objects
    many zones share (bands, schedules, load provenance) are built once each: opening a
    database of 100,000 zones must stay within the 3 s budget."""
    wkbs = [r.geometry_wkb for r in rows if r.geometry_wkb is not None]
    decoded: Iterator[Any] = iter(shapely.from_wkb(np.array(wkbs, dtype=object)) if wkbs else [])
    bands: dict[tuple[Any, ...], VerticalBand] = {}
    schedules: dict[tuple[Any, ...], Schedule] = {}
    loaded_at: dict[str | None, datetime | None] = {}
    out: list[Zone] = []
    for r in rows:
        geometry: Polygon | MultiPolygon | Circle
        if r.geometry_wkb is None:
            geometry = Circle(r.circle_lon_deg, r.circle_lat_deg, r.circle_radius_m)
        else:
            geometry = next(decoded)
        band_key = (r.floor_m, r.floor_ref, r.ceiling_m, r.ceiling_ref)
        band = bands.get(band_key)
        if band is None:
            band = bands[band_key] = VerticalBand(
                r.floor_m, AltitudeRef(r.floor_ref), r.ceiling_m, AltitudeRef(r.ceiling_ref)
            )
        sched_key = (r.start_iso, r.end_iso, r.daily, r.timezone)
        schedule = schedules.get(sched_key)
        if schedule is None:
            daily = tuple(DailyWindow.parse(w) for w in json.loads(r.daily)) if r.daily else ()
            schedule = schedules[sched_key] = Schedule(
                _dt(r.start_iso), _dt(r.end_iso), daily, r.timezone
            )
        if r.loaded_at_iso not in loaded_at:
            loaded_at[r.loaded_at_iso] = _dt(r.loaded_at_iso)
        out.append(
            Zone(
                id=r.id,
                name=r.name,
                restriction=Restriction(r.restriction),
                geometry=geometry,
                band=band,
                schedule=schedule,
                reason=r.reason,
                authority=r.authority,
                message=r.message,
                provenance=Provenance(
                    r.source_file,
                    r.source_format,
                    r.feature_index,
                    r.source_sha256,
                    r.loaded_by,
                    loaded_at[r.loaded_at_iso],
                ),
            )
        )
    return out


class ZonesMixin:
    engine: Engine

    if TYPE_CHECKING:

        def begin(self) -> AbstractContextManager[Connection]: ...

    def add_zones(
        self, zones: Sequence[Zone], *, replace_sources: Iterable[str] = ()
    ) -> tuple[list[Zone], int]:
        """Insert zones in one transaction; first delete zones loaded from
        ``replace_sources`` (source files). Returns (stored zones with ids, removed count)."""
        stored: list[Zone] = []
        removed = 0
        with self.begin() as conn:
            sources = list(replace_sources)
            if sources:
                res = conn.execute(delete(Z).where(Z.c.source_file.in_(sources)))
                removed = int(res.rowcount or 0)
            if zones:
                # One bulk INSERT ... RETURNING (SQLite >= 3.35, PostgreSQL), ids in order.
                ids = (
                    conn.execute(
                        Z.insert().returning(Z.c.id, sort_by_parameter_order=True),
                        [zone_row(z) for z in zones],
                    )
                    .scalars()
                    .all()
                )
                stored = [z.with_id(int(i)) for z, i in zip(zones, ids, strict=True)]
        return stored, removed

    def zones(
        self,
        ids: Sequence[int] | None = None,
        *,
        active_between: tuple[float, float] | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        restrictions: Sequence[Restriction] | None = None,
    ) -> list[Zone]:
        """Zones, optionally only those whose start/end bracket overlaps ``active_between``
        (epoch seconds; daily windows are checked by the caller) or whose bounds meet
        ``bbox`` (min_lon, min_lat, max_lon, max_lat), or of the given restrictions."""
        q = select(Z).order_by(Z.c.id)
        if ids is not None:
            q = q.where(Z.c.id.in_(list(ids)))
        if active_between is not None:
            t0, t1 = active_between
            q = q.where(
                and_(
                    or_(Z.c.start_s.is_(None), Z.c.start_s <= t1),
                    or_(Z.c.end_s.is_(None), Z.c.end_s >= t0),
                )
            )
        if restrictions is not None:
            q = q.where(Z.c.restriction.in_([r.value for r in restrictions]))
        if bbox is not None:
            x0, y0, x1, y1 = bbox
            q = q.where(
                and_(
                    Z.c.min_lon_deg <= x1,
                    Z.c.max_lon_deg >= x0,
                    Z.c.min_lat_deg <= y1,
                    Z.c.max_lat_deg >= y0,
                )
            )
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        return rows_to_zones(rows)

    def zone(self, zone_id: int) -> Zone:
        found = self.zones([zone_id])
        if not found:
            raise NotFound(f"no zone with id {zone_id}")
        return found[0]

    def remove_zones(self, ids: Sequence[int]) -> list[Zone]:
        """Remove all of ``ids`` or, if any is unknown, none (raises NotFound)."""
        with self.begin() as conn:
            rows = conn.execute(select(Z).where(Z.c.id.in_(list(ids)))).all()
            missing = sorted(set(ids) - {r.id for r in rows})
            if missing:
                raise NotFound(f"no zone with id {', '.join(map(str, missing))}; nothing removed")
            conn.execute(delete(schema.grants).where(schema.grants.c.zone_id.in_(list(ids))))
            conn.execute(delete(Z).where(Z.c.id.in_(list(ids))))
        return rows_to_zones(rows)
