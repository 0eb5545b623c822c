"""What the evidence log writes for each record: canonical payloads, the query-table rows,
and a batch of both prepared for the chain (:mod:`uav.detect.evidence` chains and commits).

A detection record's payload is ``{"detection": {...}, "extra": {...}, "judgement": {...},
"received_s": t}``: ``detection`` is the sighting (:meth:`Detection.sighting_json`: every
field not None but ``received_s`` and ``extra``; its SHA-256 gives the detection key),
``extra`` is there only when not empty, ``received_s`` only when known; ``judgement`` holds
the judgement's fields that are not None (``zone_ids`` and ``flags`` only when not empty).
A track or incident record's payload is every field of the
:class:`~uav.detect.model.Track` / :class:`~uav.detect.model.Incident`. All are canonical
JSON: ``json.dumps(doc, sort_keys=True, separators=(",", ":"))``. A detection payload is
put together from its canonical parts (the keys sort ``detection`` < ``extra`` <
``judgement`` < ``received_s``), so the sighting is encoded once for both key and payload.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection

from uav.detect.model import (
    Category,
    Detection,
    Incident,
    Judgement,
    Severity,
    Track,
    canonical_json,
    sighting_key,
)
from uav.store import schema_evidence as S
from uav.store.evidence import PendingRecord, fast_upsert

_float_repr = float.__repr__
_encode_str: Any = encode_basestring_ascii  # a str's JSON text; TypeError for others


def _int_repr(v: Any) -> str:
    if type(v) is not int:
        raise TypeError("not an int")
    return int.__repr__(v)


# ------------------------------------------------------------------------------ payloads


def judgement_json(j: Judgement) -> str:
    """The ``judgement`` object of a detection payload: canonical JSON of its fields that
    are not None, ``zone_ids`` and ``flags`` only when not empty."""
    try:
        return _judgement_text(vars(j))
    except (TypeError, KeyError):  # a field of an unexpected type: the general way
        doc = {k: v for k, v in vars(j).items() if v is not None}
        if not j.zone_ids:
            del doc["zone_ids"]
        if not j.flags:
            del doc["flags"]
        return canonical_json(doc)


_BOOL = {True: "true", False: "false"}


def _judgement_text(d: dict[str, Any]) -> str:
    """canonical_json of the judgement's document, written out field by field in key
    order (several times faster; ingest runs it per detection). Raises TypeError or
    KeyError on a field of another type than declared (the caller then encodes the dict)."""
    by, clearance, flags = d["authorised_by"], d["clearance_m"], d["flags"]
    zone_id, zone_ids, zone_name = d["zone_id"], d["zone_ids"], d["zone_name"]
    text = '{"authorised":' + _BOOL[d["authorised"]]
    if by is not None:
        text += ',"authorised_by":' + _encode_str(by)
    text += ',"category":' + _encode_str(d["category"])
    if clearance is not None:
        if type(clearance) is not float or clearance - clearance != 0.0:
            raise TypeError("clearance_m")
        text += ',"clearance_m":' + _float_repr(clearance)
    if flags:
        text += ',"flags":[' + ",".join(map(_encode_str, flags)) + "]"
    text += ',"severity":' + _encode_str(d["severity"])
    text += ',"track_id":' + _encode_str(d["track_id"])
    if zone_id is not None:
        text += ',"zone_id":' + _int_repr(zone_id)
    if zone_ids:
        text += ',"zone_ids":[' + ",".join(map(_int_repr, zone_ids)) + "]"
    if zone_name is not None:
        text += ',"zone_name":' + _encode_str(zone_name)
    return text + "}"


def detection_payload(det: Detection, judgement: Judgement, sighting: str | None = None) -> str:
    """The canonical payload of a detection record (see the module docstring);
    ``sighting``: ``det.sighting_json()`` when already computed."""
    if sighting is None:
        sighting = det.sighting_json()
    return _payload(sighting, det.extra, judgement_json(judgement), det.received_s)


def _payload(sighting: str, extra: Any, judgement: str, received_s: Any) -> str:
    text = '{"detection":' + sighting
    if extra:
        text += ',"extra":' + canonical_json(extra)
    text += ',"judgement":' + judgement
    if received_s is not None:
        number = (
            _float_repr(received_s)
            if type(received_s) is float and math.isfinite(received_s)
            else canonical_json(received_s)
        )
        text += ',"received_s":' + number
    return text + "}"


def state_payload(obj: Track | Incident) -> str:
    """The canonical payload of a track or incident change: every field."""
    return canonical_json(vars(obj))


def detection_from_payload(payload: str) -> tuple[Detection, Judgement]:
    """A detection record's payload back to the objects it was written from."""
    doc = json.loads(payload)
    fields = dict(doc["detection"])
    fields["received_s"] = doc.get("received_s")
    fields["extra"] = doc.get("extra", {})
    return Detection.from_json(fields), judgement_from_json(doc["judgement"])


def judgement_from_json(doc: dict[str, Any]) -> Judgement:
    return Judgement(
        track_id=doc["track_id"],
        category=Category(doc["category"]),
        authorised=bool(doc["authorised"]),
        authorised_by=doc.get("authorised_by"),
        severity=Severity(doc["severity"]),
        zone_ids=tuple(doc.get("zone_ids", ())),
        zone_id=doc.get("zone_id"),
        zone_name=doc.get("zone_name"),
        clearance_m=doc.get("clearance_m"),
        flags=tuple(doc.get("flags", ())),
    )


def detection_key_of(detection_doc: dict[str, Any]) -> str:
    """``Detection.key`` recomputed from a payload's ``detection`` object (the sighting):
    its time in milliseconds as 12 hex digits, then SHA-256 of its canonical JSON (the
    first 20 hex digits)."""
    return sighting_key(detection_doc["time_s"], canonical_json(detection_doc))


def _num(v: float | None) -> float | None:
    """A float for a query column: NaN (which SQLite would store as NULL) as None."""
    return None if v is None or v != v else v


def detection_row_tail(det: Detection, j: Judgement, key: str) -> tuple[Any, ...]:
    """A ``detections`` row without its seq, in column order."""
    return (
        key,
        float(det.time_s),
        det.source,
        j.track_id,
        _num(det.lat_deg),
        _num(det.lon_deg),
        _num(det.alt_m),
        None if det.alt_frame is None else str(det.alt_frame),
        str(j.category),
        str(j.severity),
        bool(j.authorised),
        j.zone_id,
    )


@dataclass
class Batch:
    """Records prepared for the chain (everything but seq and hashes)."""

    records: list[PendingRecord] = field(default_factory=list)
    keys: list[str | None] = field(default_factory=list)  # per record; None: not a detection
    tails: list[tuple[Any, ...] | None] = field(default_factory=list)
    zones: list[tuple[int, ...]] = field(default_factory=list)
    states: list[Track | Incident | None] = field(default_factory=list)

    def add(self, rec: PendingRecord, key: str | None, tail: Any, zones: Any, state: Any) -> None:
        self.records.append(rec)
        self.keys.append(key)
        self.tails.append(tail)
        self.zones.append(zones)
        self.states.append(state)

    def without(self, drop: set[int]) -> Batch:
        keep = [i for i in range(len(self.records)) if i not in drop]
        return Batch(
            [self.records[i] for i in keep],
            [self.keys[i] for i in keep],
            [self.tails[i] for i in keep],
            [self.zones[i] for i in keep],
            [self.states[i] for i in keep],
        )


# (kind, objects, judgements, keys, sightings): what one append buffered; for tracks and
# incidents the last three are empty, for detections ``sightings`` may be None (computed)
Entry = tuple[str, Sequence[Any], Sequence[Any], Sequence[str], Sequence[str] | None]


def require_finite(times_s: list[float], what: str) -> None:
    if not all(map(math.isfinite, times_s)):
        raise ValueError(f"a {what} is not a finite number: not logged")


def prepare(entries: Sequence[Entry]) -> Batch:
    """Payloads and query-table rows for buffered entries, in append order (the hot loop)."""
    batch = Batch()
    add = batch.add
    for kind, objs, judgements, keys, sightings in entries:
        if kind == "detection":
            _add_detections(batch, objs, judgements, keys, sightings)
        elif kind == "track":
            for t in objs:
                add(("track", t.last_s, state_payload(t)), None, None, (), t)
        else:
            for inc in objs:
                add(("incident", inc.updated_s, state_payload(inc)), None, None, (), inc)
    return batch


def _add_detections(
    batch: Batch,
    dets: Sequence[Detection],
    js: Sequence[Judgement],
    keys: Sequence[str],
    sightings: Sequence[str] | None,
) -> None:
    if sightings is None:
        sightings = [d.sighting_json() for d in dets]
    payload = _payload
    batch.records.extend(
        [
            ("detection", d.time_s, payload(s, d.extra, judgement_json(j), d.received_s))
            for d, j, s in zip(dets, js, sightings, strict=True)
        ]
    )
    batch.keys.extend(keys)
    batch.tails.extend(map(detection_row_tail, dets, js, keys))
    batch.zones.extend([j.zone_ids for j in js])
    batch.states.extend([None] * len(dets))


def upsert_states(conn: Connection, base: int, states: Sequence[Track | Incident | None]) -> None:
    """The latest state of each track / incident in the batch into its table: the batch's
    rows replace the stored ones (one executemany ``INSERT ... ON CONFLICT DO UPDATE``)."""
    latest_tracks: dict[str, tuple[Any, ...]] = {}
    latest_incidents: dict[str, tuple[Any, ...]] = {}
    for i, st in enumerate(states):
        if st is None:
            continue
        if isinstance(st, Track):
            latest_tracks[st.track_id] = _TRACK_ROW.row(st, base + i)
        else:
            latest_incidents[st.incident_id] = _INCIDENT_ROW.row(st, base + i)
    fast_upsert(conn, S.tracks, "track_id", list(latest_tracks.values()))
    fast_upsert(conn, S.incidents, "incident_id", list(latest_incidents.values()), INCIDENT_FIXED)


# what an incident's records never change (its id says so): kept on update, indexes untouched
INCIDENT_FIXED = ("track_id", "zone_id", "zone_name", "opened_s")


class _StateRow:
    """A state table's row from a Track / Incident: its fields in column order, enums as
    their text, ``seq`` given."""

    def __init__(self, table: Any) -> None:
        cols = [c.name for c in table.columns]
        self.seq_at = cols.index("seq")
        fields = [c for c in cols if c != "seq"]
        self.get = itemgetter(*fields)
        self.enums = [i for i, c in enumerate(fields) if c in _ENUM_COLS]

    def row(self, obj: Any, seq: int) -> tuple[Any, ...]:
        values = list(self.get(vars(obj)))
        for i in self.enums:
            if values[i] is not None:
                values[i] = str(values[i])
        values.insert(self.seq_at, seq)
        return tuple(values)


_ENUM_COLS = frozenset({"category", "alt_frame", "severity", "state"})
_TRACK_ROW = _StateRow(S.tracks)
_INCIDENT_ROW = _StateRow(S.incidents)


__all__ = [
    "Entry",
    "detection_from_payload",
    "detection_key_of",
    "detection_payload",
    "detection_row_tail",
    "judgement_from_json",
    "judgement_json",
    "prepare",
    "state_payload",
    "upsert_states",
]
