"""Reading the evidence log's query tables for ``uav detect list``, ``stats`` and ``report``.

The tables (``uav.store.schema_evidence``) are written by the evidence log in the same
transaction as the chained records they index. ``--unauthorised`` means not authorised and
not a manned aircraft. Times are UNIX seconds; ``since`` and ``until`` are inclusive.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, Select, and_, case, cast, func, literal, or_, select

from uav.detect.model import (
    KEY_MS_MAX,
    AltFrame,
    Category,
    Incident,
    IncidentState,
    Severity,
    Track,
    TrackChange,
    key_time_ms,
)
from uav.detect.report import ReportData, Sighting
from uav.store import Store
from uav.store import schema_evidence as S


@dataclass(frozen=True)
class Filters:
    since_s: float | None = None
    until_s: float | None = None
    zone_id: int | None = None
    unauthorised: bool = False
    track_id: str | None = None


def _detection_filter(stmt: Select[Any], f: Filters) -> Select[Any]:
    D = S.detections
    if f.since_s is not None:
        stmt = stmt.where(D.c.time_s >= f.since_s)
        if math.isfinite(f.since_s):  # the key starts with the time: a range of its index
            stmt = stmt.where(D.c.key >= f"{key_time_ms(f.since_s):012x}")
    if f.until_s is not None:
        stmt = stmt.where(D.c.time_s <= f.until_s)
        if math.isfinite(f.until_s) and key_time_ms(f.until_s) < KEY_MS_MAX:
            stmt = stmt.where(D.c.key < f"{key_time_ms(f.until_s) + 1:012x}")
    if f.track_id is not None:
        stmt = stmt.where(D.c.track_id == f.track_id)
    if f.unauthorised:
        stmt = stmt.where(D.c.authorised.is_(False), D.c.category != str(Category.MANNED))
    if f.zone_id is not None:
        listed = (literal(",") + D.c.zone_ids + literal(",")).contains(f",{f.zone_id},")
        stmt = stmt.where(or_(D.c.zone_id == f.zone_id, listed))
    return stmt


def _sighting_columns() -> tuple[Any, ...]:
    D = S.detections
    return (
        D.c.time_s,
        D.c.track_id,
        D.c.source,
        D.c.lat_deg,
        D.c.lon_deg,
        D.c.alt_m,
        D.c.alt_frame,
        D.c.category,
        D.c.severity,
        D.c.authorised,
        D.c.zone_id,
    )


def _sighting(r: Any) -> Sighting:
    return Sighting(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], bool(r[9]), r[10])


def sightings(store: Store, f: Filters, limit: int | None = None) -> list[Sighting]:
    """Detections matching ``f``, in time order."""
    D = S.detections
    stmt = _detection_filter(select(*_sighting_columns()), f).order_by(D.c.time_s, D.c.seq)
    if limit is not None:
        stmt = stmt.limit(limit)
    with store.engine.connect() as conn:
        return [_sighting(r) for r in conn.execute(stmt)]


def sighting_records(store: Store, f: Filters, limit: int | None = None) -> list[dict[str, Any]]:
    """As :func:`sightings`, each row with ``seq`` (its evidence record) and ``detection``:
    the sighting exactly as logged, so ``replay:`` of the printed list gives the same keys."""
    D, E = S.detections, S.evidence
    cols = (*_sighting_columns(), D.c.seq, E.c.payload)
    stmt = select(*cols).join(E, E.c.seq == D.c.seq)
    stmt = _detection_filter(stmt, f).order_by(D.c.time_s, D.c.seq)
    if limit is not None:
        stmt = stmt.limit(limit)
    with store.engine.connect() as conn:
        return [
            {**asdict(_sighting(r)), "seq": r[-2], "detection": json.loads(r[-1])["detection"]}
            for r in conn.execute(stmt)
        ]


def incidents(store: Store, f: Filters) -> list[Incident]:
    """Incidents (latest state) whose stay overlaps [since, until], matching ``f``."""
    I = S.incidents  # noqa: E741
    stmt = select(I)
    if f.since_s is not None:
        stmt = stmt.where(or_(I.c.closed_s.is_(None), I.c.closed_s >= f.since_s))
    if f.until_s is not None:
        stmt = stmt.where(I.c.opened_s <= f.until_s)
    if f.zone_id is not None:
        stmt = stmt.where(I.c.zone_id == f.zone_id)
    if f.track_id is not None:
        stmt = stmt.where(I.c.track_id == f.track_id)
    if f.unauthorised:
        stmt = stmt.where(I.c.authorised.is_(False))
    with store.engine.connect() as conn:
        rows = conn.execute(stmt.order_by(I.c.opened_s, I.c.incident_id)).all()
    return [_incident(r) for r in rows]


def _incident(r: Any) -> Incident:
    return Incident(
        incident_id=r.incident_id,
        track_id=r.track_id,
        zone_id=r.zone_id,
        zone_name=r.zone_name,
        severity=Severity(r.severity),
        state=IncidentState(r.state),
        opened_s=r.opened_s,
        updated_s=r.updated_s,
        closed_s=r.closed_s,
        detections=r.detections,
        authorised=bool(r.authorised),
        lat_deg=r.lat_deg,
        lon_deg=r.lon_deg,
        alt_m=r.alt_m,
        remote_id=r.remote_id,
        icao_address=r.icao_address,
        operator_lat_deg=r.operator_lat_deg,
        operator_lon_deg=r.operator_lon_deg,
    )


def tracks(store: Store, track_ids: set[str]) -> list[Track]:
    """The latest state of the named tracks."""
    if not track_ids:
        return []
    T = S.tracks
    out: list[Track] = []
    ids = sorted(track_ids)
    with store.engine.connect() as conn:
        for i in range(0, len(ids), 500):
            stmt = select(T).where(T.c.track_id.in_(ids[i : i + 500]))
            out.extend(_track(r) for r in conn.execute(stmt))
    return sorted(out, key=lambda t: (t.first_s, t.track_id))


def _track(r: Any) -> Track:
    return Track(
        track_id=r.track_id,
        category=Category(r.category),
        first_s=r.first_s,
        last_s=r.last_s,
        detections=r.detections,
        lat_deg=r.lat_deg,
        lon_deg=r.lon_deg,
        alt_m=r.alt_m,
        alt_frame=None if r.alt_frame is None else AltFrame(r.alt_frame),
        authorised=bool(r.authorised),
        authorised_by=r.authorised_by,
        remote_id=r.remote_id,
        icao_address=r.icao_address,
        operator_lat_deg=r.operator_lat_deg,
        operator_lon_deg=r.operator_lon_deg,
        change=TrackChange.MOVED,
    )


def report_data(store: Store, f: Filters) -> ReportData:
    seen = sightings(store, f)
    found = incidents(store, f)
    ids = {s.track_id for s in seen} | {i.track_id for i in found}
    return ReportData(seen, tracks(store, ids), found, f.since_s, f.until_s)


# --- stats ---------------------------------------------------------------------------------


@dataclass
class Stats:
    detections: int = 0
    unauthorised: int = 0
    manned: int = 0
    by_severity: dict[str, int] = field(default_factory=dict)
    per_zone: list[dict[str, Any]] = field(default_factory=list)
    per_hour: list[dict[str, Any]] = field(default_factory=list)
    per_source: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "detections": self.detections,
            "unauthorised": self.unauthorised,
            "manned": self.manned,
            "by_severity": self.by_severity,
            "per_zone": self.per_zone,
            "per_hour": self.per_hour,
            "per_source": self.per_source,
        }


def stats(store: Store, f: Filters) -> Stats:
    """Counts per zone (detections inside it, unauthorised ones, incidents), per UTC hour
    and per source, over the detections matching ``f``."""
    D = S.detections
    unauth = and_(D.c.authorised.is_(False), D.c.category != str(Category.MANNED))
    out = Stats()
    with store.engine.connect() as conn:
        for sev, cat, auth, n in conn.execute(
            _detection_filter(
                select(D.c.severity, D.c.category, D.c.authorised, func.count()), f
            ).group_by(D.c.severity, D.c.category, D.c.authorised)
        ):
            out.detections += n
            out.by_severity[sev] = out.by_severity.get(sev, 0) + n
            if cat == str(Category.MANNED):
                out.manned += n
            elif not auth:
                out.unauthorised += n
        out.per_zone = _per_zone(conn, f)
        out.per_hour = _per_hour(conn, f)
        out.per_source = [
            {"source": src, "detections": n, "unauthorised": int(u or 0)}
            for src, n, u in conn.execute(
                _detection_filter(select(D.c.source, func.count(), _count_if(unauth)), f)
                .group_by(D.c.source)
                .order_by(D.c.source)
            )
        ]
    return out


def _count_if(cond: Any) -> Any:
    return func.sum(case((cond, 1), else_=0))


def _per_zone(conn: Any, f: Filters) -> list[dict[str, Any]]:
    D, I = S.detections, S.incidents  # noqa: E741
    unauth = and_(D.c.authorised.is_(False), D.c.category != str(Category.MANNED))
    # per distinct zone list (few): how many detections, how many unauthorised; then per zone
    stmt = _detection_filter(
        select(D.c.zone_ids, func.count(), _count_if(unauth)).where(D.c.zone_ids.is_not(None)),
        f,
    ).group_by(D.c.zone_ids)
    zones: dict[int, dict[str, Any]] = {}
    for listed, n, u in conn.execute(stmt):
        for zone_id in {int(z) for z in str(listed).split(",")}:
            z = zones.setdefault(zone_id, {"zone_id": zone_id, "detections": 0, "unauthorised": 0})
            z["detections"] += n
            z["unauthorised"] += int(u or 0)
    inc = select(I.c.zone_id, I.c.severity, func.count()).where(I.c.zone_id.is_not(None))
    if f.since_s is not None:
        inc = inc.where(or_(I.c.closed_s.is_(None), I.c.closed_s >= f.since_s))
    if f.until_s is not None:
        inc = inc.where(I.c.opened_s <= f.until_s)
    for zone_id, sev, n in conn.execute(inc.group_by(I.c.zone_id, I.c.severity)):
        z = zones.setdefault(zone_id, {"zone_id": zone_id, "detections": 0, "unauthorised": 0})
        z[f"incidents_{sev}"] = n
    if f.zone_id is not None:
        zones = {k: v for k, v in zones.items() if k == f.zone_id}
    rows = sorted(zones.values(), key=lambda z: (-z["detections"], z["zone_id"]))
    for z in rows:
        z.setdefault("incidents_high", 0)
        z.setdefault("incidents_medium", 0)
    return rows


def _per_hour(conn: Any, f: Filters) -> list[dict[str, Any]]:
    D = S.detections
    hour = cast(D.c.time_s / 3600.0, Integer)  # truncation = floor for times after 1970
    unauth = and_(D.c.authorised.is_(False), D.c.category != str(Category.MANNED))
    stmt = _detection_filter(select(hour, func.count(), _count_if(unauth)), f)
    rows = []
    for h, n, u in conn.execute(stmt.group_by(hour).order_by(hour)):
        start = datetime.fromtimestamp(int(h) * 3600, UTC)
        rows.append(
            {
                "hour": start.isoformat(timespec="minutes").replace("+00:00", "Z"),
                "detections": n,
                "unauthorised": int(u or 0),
            }
        )
    return rows
