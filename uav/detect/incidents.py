"""Incidents: a track's stay in one zone, opened on entry, updated, closed on exit or silence.

The zone of a detection is the one that set its severity (``Judgement.zone_id``, for a
``medium`` or ``high`` judgement of an unauthorised drone or unknown; manned aircraft and
authorised drones never make incidents). A track has at most one open incident:

* a detection in a zone while the track has no open incident opens ``<track>@<zone>#<n>``,
  ``n`` the opening detection's UNIX second (one more than the track's previous stay in the
  zone when that is taken): unique across listening sessions, the same on a replay;
* further detections in the same zone update it: the record is written at most every
  ``update_interval_s`` (of detection time), and at once when its severity rises (a stay
  that began in the buffer and went on inside); the severity is the highest seen;
* a detection elsewhere (another zone, or none) closes it at that detection's time (and may
  open the next); silence of ``timeout_s`` closes it at the last detection in the zone.

The operator's location is the latest one the track's Remote ID gave, inside the zone or
not. Pure and deterministic given the detections (in time order) and ``expire`` times.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from uav.detect.model import (
    Category,
    Detection,
    Incident,
    IncidentState,
    Judgement,
    Severity,
    new_incident,
)


@dataclass(slots=True)
class _Open:
    incident_id: str
    track_id: str
    zone_id: int
    zone_name: str | None
    severity: Severity
    opened_s: float
    updated_s: float  # last detection in the zone
    recorded_s: float  # detection time of the last record
    detections: int
    lat_deg: float | None
    lon_deg: float | None
    alt_m: float | None
    remote_id: str | None
    icao_address: str | None

    def record(
        self, state: IncidentState, operator: tuple[float, float] | None, closed_s: float | None
    ) -> Incident:
        return new_incident(
            self.incident_id,
            self.track_id,
            self.zone_id,
            self.zone_name,
            self.severity,
            state,
            self.opened_s,
            self.updated_s,
            closed_s,
            self.detections,
            False,  # authorised drones make no incidents
            self.lat_deg,
            self.lon_deg,
            self.alt_m,
            self.remote_id,
            self.icao_address,
            None if operator is None else operator[0],
            None if operator is None else operator[1],
        )


def incident_zone(j: Judgement) -> int | None:
    """The zone a judgement puts its track's incident in, or None."""
    if j.zone_id is None or j.authorised or j.category is Category.MANNED:
        return None
    return j.zone_id if j.severity is not Severity.LOW else None


class Incidents:
    """The open incidents and the records their changes make."""

    def __init__(self, *, update_interval_s: float = 30.0, timeout_s: float = 60.0) -> None:
        self.update_interval_s = update_interval_s
        self.timeout_s = timeout_s
        self._open: dict[str, _Open] = {}  # by track id
        self._stays: dict[tuple[str, int], int] = {}
        self._operator: dict[str, tuple[float, float]] = {}
        self._alerted: set[str] = set()

    @property
    def open(self) -> list[Incident]:
        """The open incidents as they stand."""
        return [
            o.record(IncidentState.UPDATED, self._operator.get(o.track_id), None)
            for o in self._open.values()
        ]

    def observe(
        self, detections: Sequence[Detection], judgements: Sequence[Judgement]
    ) -> list[Incident]:
        """Fold a batch (in time order) in; returns the records to write."""
        out: list[Incident] = []
        opened = self._open
        operators = self._operator
        manned, low = Category.MANNED, Severity.LOW
        for d, j in zip(detections, judgements, strict=True):
            if d.operator_lat_deg is not None and d.operator_lon_deg is not None:
                operators[j.track_id] = (d.operator_lat_deg, d.operator_lon_deg)
            zone = j.zone_id  # incident_zone(j), inline (it runs per detection)
            if zone is not None and (j.authorised or j.category is manned or j.severity is low):
                zone = None
            current = opened.get(j.track_id)
            if current is None:
                if zone is not None:
                    out.append(self._start(d, j, zone))
                continue
            if d.time_s < current.updated_s:
                continue  # late: a stay's records follow detection time
            if current.zone_id != zone:
                del opened[j.track_id]
                out.append(self._close(current, d.time_s))
                if zone is not None:
                    out.append(self._start(d, j, zone))
                continue
            record = self._update(current, d, j)
            if record is not None:
                out.append(record)
        return out

    def _start(self, d: Detection, j: Judgement, zone: int) -> Incident:
        n = max(math.floor(d.time_s), self._stays.get((j.track_id, zone), -1) + 1)
        self._stays[(j.track_id, zone)] = n
        o = _Open(
            incident_id=f"{j.track_id}@{zone}#{n}",
            track_id=j.track_id,
            zone_id=zone,
            zone_name=j.zone_name,
            severity=j.severity,
            opened_s=d.time_s,
            updated_s=d.time_s,
            recorded_s=d.time_s,
            detections=1,
            lat_deg=d.lat_deg,
            lon_deg=d.lon_deg,
            alt_m=d.alt_m,
            remote_id=d.remote_id,
            icao_address=d.icao_address,
        )
        self._open[j.track_id] = o
        return o.record(IncidentState.OPEN, self._operator.get(j.track_id), None)

    def _update(self, o: _Open, d: Detection, j: Judgement) -> Incident | None:
        o.detections += 1
        o.updated_s = d.time_s
        lat, lon = d.lat_deg, d.lon_deg
        if lat is not None and lon is not None and lat - lat == 0.0 and lon - lon == 0.0:
            o.lat_deg, o.lon_deg, o.alt_m = lat, lon, d.alt_m  # a finite position
        o.remote_id = o.remote_id or d.remote_id
        o.icao_address = o.icao_address or d.icao_address
        rose = j.severity is not o.severity and j.severity.rank > o.severity.rank
        if rose:
            o.severity = j.severity
        elif d.time_s - o.recorded_s < self.update_interval_s:
            return None
        o.recorded_s = d.time_s
        return o.record(IncidentState.UPDATED, self._operator.get(o.track_id), None)

    def _close(self, o: _Open, closed_s: float) -> Incident:
        return o.record(IncidentState.CLOSED, self._operator.get(o.track_id), closed_s)

    def expire(self, now_s: float) -> list[Incident]:
        """Close the incidents whose track has been silent in the zone for ``timeout_s``."""
        gone = [k for k, o in self._open.items() if now_s - o.updated_s > self.timeout_s]
        return [self._close(o, o.updated_s) for o in (self._open.pop(k) for k in gone)]

    def forget_tracks(self, track_ids: Sequence[str]) -> None:
        """Drop what is kept per track once its track closed (incidents close on their own)."""
        for tid in track_ids:
            if tid not in self._open:
                self._operator.pop(tid, None)

    def new_high(self, records: Sequence[Incident]) -> list[Incident]:
        """The records (in order) at which an incident is first seen at high severity: on
        opening, or when a stay that began in the buffer goes on inside. Call once per
        record, in order."""
        out: list[Incident] = []
        for r in records:
            if r.state is IncidentState.CLOSED:
                if r.incident_id not in self._alerted and r.severity is Severity.HIGH:
                    out.append(r)  # opened and closed within one batch: still new
                self._alerted.discard(r.incident_id)
            elif r.severity is Severity.HIGH and r.incident_id not in self._alerted:
                self._alerted.add(r.incident_id)
                out.append(r)
        return out
