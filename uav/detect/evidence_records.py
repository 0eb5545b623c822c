"""What the evidence log writes for each record: canonical payloads, the query-table rows,
and a batch of both prepared for the chain (:mod:`uav.detect.evidence` chains and commits).

A detection record's payload is ``{"detection": {...}, "judgement": {...}}`` with the fields
that are not None (``extra`` only when not empty); a track or incident record's payload is
every field of the :class:`~uav.detect.model.Track` / :class:`~uav.detect.model.Incident`.
Both are canonical JSON: ``json.dumps(doc, sort_keys=True, separators=(",", ":"))``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from json import encoder as _json_encoder
from typing import Any

from sqlalchemy import Connection, delete

from uav.detect.model import (
    Category,
    Detection,
    Incident,
    Judgement,
    Severity,
    Track,
)
from uav.store import schema_evidence as S
from uav.store.evidence import KEY_QUERY_CHUNK, PendingRecord, fast_insert

# json.dumps(doc, sort_keys=True, separators=(",", ":")) without its per-call set-up
_C_MAKE_ENCODER: Any = getattr(_json_encoder, "c_make_encoder", None)
_c_encode: Any = None
if _C_MAKE_ENCODER is not None:
    _c_encode = _C_MAKE_ENCODER(
        None, None, _json_encoder.encode_basestring_ascii, None, ":", ",", True, False, True
    )
_py_encode = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode
_TRACK_COLS = tuple(c.name for c in S.tracks.columns)
_INCIDENT_COLS = tuple(c.name for c in S.incidents.columns)


# ------------------------------------------------------------------------------ payloads


def _encode(doc: Any) -> str:
    if _c_encode is None:
        return _py_encode(doc)
    return "".join(_c_encode(doc, 0))


def detection_payload(det: Detection, judgement: Judgement) -> str:
    """The canonical payload of a detection record: ``{"detection": {...}, "judgement":
    {...}}``, each holding the fields that are not None (``extra`` only when not empty)."""
    d = {k: v for k, v in vars(det).items() if v is not None}
    if not det.extra:
        del d["extra"]
    j = {k: v for k, v in vars(judgement).items() if v is not None}
    return _encode({"detection": d, "judgement": j})


def state_payload(obj: Track | Incident) -> str:
    """The canonical payload of a track or incident change: every field."""
    return _encode(vars(obj))


def detection_from_payload(payload: str) -> tuple[Detection, Judgement]:
    """A detection record's payload back to the objects it was written from."""
    doc = json.loads(payload)
    return Detection.from_json(doc["detection"]), judgement_from_json(doc["judgement"])


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
    """``Detection.key`` recomputed from a payload's ``detection`` object."""
    return Detection.from_json(detection_doc).key


def _enum_value(v: Any) -> Any:
    return None if v is None else str(v)


def _num(v: float | None) -> float | None:
    """A float for a query column: NaN (which SQLite would store as NULL) as None."""
    return None if v is None or v != v else v


def detection_row_tail(det: Detection, j: Judgement, key: str) -> tuple[Any, ...]:
    """A ``detections`` row without its seq, in column order."""
    return (
        key,
        int(key[:15], 16),
        float(det.time_s),
        det.source,
        j.track_id,
        det.identity,
        _num(det.lat_deg),
        _num(det.lon_deg),
        _num(det.alt_m),
        _enum_value(det.alt_frame),
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


Entry = tuple[str, Sequence[Any], Sequence[Any], Sequence[str]]


def require_finite(times_s: list[float], what: str) -> None:
    if not all(map(math.isfinite, times_s)):
        raise ValueError(f"a {what} is not a finite number: not logged")


def prepare(entries: Sequence[Entry]) -> Batch:
    """Payloads and query-table rows for buffered entries, in append order (the hot loop)."""
    batch = Batch()
    add = batch.add
    for kind, objs, judgements, keys in entries:
        if kind == "detection":
            _add_detections(batch, objs, judgements, keys)
        elif kind == "track":
            for t in objs:
                add(("track", t.last_s, state_payload(t)), None, None, (), t)
        else:
            for inc in objs:
                add(("incident", inc.updated_s, state_payload(inc)), None, None, (), inc)
    return batch


def _add_detections(
    batch: Batch, dets: Sequence[Detection], js: Sequence[Judgement], keys: Sequence[str]
) -> None:
    pairs = list(zip(dets, js, strict=True))
    batch.records.extend([("detection", d.time_s, detection_payload(d, j)) for d, j in pairs])
    batch.keys.extend(keys)
    tail = detection_row_tail
    batch.tails.extend([tail(d, j, k) for (d, j), k in zip(pairs, keys, strict=True)])
    batch.zones.extend([j.zone_ids for j in js])
    batch.states.extend([None] * len(pairs))


def upsert_states(conn: Connection, base: int, states: Sequence[Track | Incident | None]) -> None:
    """The latest state of each track / incident in the batch into its table: the batch's
    rows replace the stored ones (DELETE by id, then one executemany INSERT)."""
    latest_tracks: dict[str, tuple[Any, ...]] = {}
    latest_incidents: dict[str, tuple[Any, ...]] = {}
    for i, st in enumerate(states):
        if st is None:
            continue
        if isinstance(st, Track):
            latest_tracks[st.track_id] = _state_row(st, _TRACK_COLS, base + i)
        else:
            latest_incidents[st.incident_id] = _state_row(st, _INCIDENT_COLS, base + i)
    _replace(conn, S.tracks, "track_id", latest_tracks)
    _replace(conn, S.incidents, "incident_id", latest_incidents)


def _state_row(obj: Any, cols: Sequence[str], seq: int) -> tuple[Any, ...]:
    """A row in table column order (``seq`` included)."""
    d = vars(obj)
    return tuple(
        seq if c == "seq" else _enum_value(d[c]) if c in _ENUM_COLS else d[c] for c in cols
    )


_ENUM_COLS = frozenset({"category", "alt_frame", "severity", "state"})


def _replace(conn: Connection, table: Any, id_col: str, rows: dict[str, tuple[Any, ...]]) -> None:
    if not rows:
        return
    ids = list(rows)
    col = table.c[id_col]
    for i in range(0, len(ids), KEY_QUERY_CHUNK):
        conn.execute(delete(table).where(col.in_(ids[i : i + KEY_QUERY_CHUNK])))
    fast_insert(conn, table, list(rows.values()))


__all__ = [
    "Entry",
    "detection_from_payload",
    "detection_key_of",
    "detection_payload",
    "detection_row_tail",
    "judgement_from_json",
    "prepare",
    "state_payload",
    "upsert_states",
]
