"""What the evidence log writes for each record: canonical payloads, the query-table rows,
and a batch of both prepared for the chain (:mod:`uav.detect.evidence` chains and commits).

A detection record's payload is ``{"detection": {...}, "extra": {...}, "judgement": {...},
"received_s": t}``: ``detection`` is the sighting (:meth:`Detection.sighting_json`: every
field not None but ``received_s`` and ``extra``; its SHA-256 gives the detection key),
``extra`` is there only when not empty, ``received_s`` only when known; ``judgement`` holds
the judgement's fields that are not None (``zone_ids`` and ``flags`` only when not empty).
A track or incident record's payload is every field of the
:class:`~uav.detect.model.Track` / :class:`~uav.detect.model.Incident`. All are canonical
JSON (:func:`uav.detect.model.canonical_json`: ``orjson.dumps(doc,
option=orjson.OPT_SORT_KEYS)``, UTF-8; a non-finite number is refused, never written as
null). A detection payload is put together from its canonical parts (the keys sort
``detection`` < ``extra`` < ``judgement`` < ``received_s``), so the sighting is encoded once
for both key and payload; the ``judgement`` text is remembered for judgements that recur (a
track staying in the same zones detection after detection), keyed by the judgement's
values: equal judgements get the same text.

Payloads are made when the log buffers an append (:func:`detection_payloads`,
:func:`state_payload`): what cannot be logged is refused there, before anything is
buffered. :func:`prepare` then numbers, hashes and makes the query row of each record in
one pass, chained from the tip the log last saw; the log chains the batch again in its
transaction only if another writer appended meanwhile or a detection turned out to be
logged already.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
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
    canonical_text,
    sighting_key,
)
from uav.store import schema_evidence as S
from uav.store.evidence import (
    ChainTip,
    EvidenceRow,
    PendingRecord,
    chain,
    chain_rows,
    fast_upsert,
)


def _int_repr(v: Any) -> str:
    if type(v) is not int:
        raise TypeError("not an int")
    return int.__repr__(v)


# ------------------------------------------------------------------------------ payloads


def judgement_json(j: Judgement) -> str:
    """The ``judgement`` object of a detection payload: canonical JSON of its fields that
    are not None, ``zone_ids`` and ``flags`` only when not empty."""
    doc = {k: v for k, v in vars(j).items() if v is not None}
    if not doc.get("zone_ids"):
        doc.pop("zone_ids", None)
    if not doc.get("flags"):
        doc.pop("flags", None)
    return canonical_text(doc)


def detection_payload(det: Detection, judgement: Judgement, sighting: str | None = None) -> str:
    """The canonical payload of a detection record (see the module docstring);
    ``sighting``: ``det.sighting_json()`` when already computed. ValueError for a
    non-finite number or a value canonical JSON cannot hold."""
    if sighting is None:
        sighting = det.sighting_json()
    return _payload(sighting, det.extra, judgement_json(judgement), det.received_s)


def _payload(sighting: str, extra: Any, judgement: str, received_s: Any) -> str:
    text = '{"detection":' + sighting
    if extra:
        text += ',"extra":' + canonical_text(extra)
    text += ',"judgement":' + judgement
    if received_s is not None:
        text += ',"received_s":' + canonical_text(received_s)
    return text + "}"


def detection_payloads(
    dets: Sequence[Detection], js: Sequence[Judgement], sightings: Sequence[str]
) -> tuple[list[str], list[str | None]]:
    """Each detection's payload (:func:`detection_payload`) and ``detections.zone_ids``
    text, in one pass (it runs per detection, when the log buffers them: a value that
    cannot be logged raises ValueError there, before anything is buffered)."""
    payloads: list[str] = []
    zone_lists: list[str | None] = []
    add_payload, add_zones = payloads.append, zone_lists.append
    payload_of, judged_of, texts = _payload, _judged, _JUDGED
    for d, j, s in zip(dets, js, sightings, strict=True):
        jv = vars(j)
        try:
            judged, zone_list = texts[_JUDGEMENT_VALUES(jv)]
        except (KeyError, TypeError):  # not seen yet (or unhashable: a list for a tuple)
            judged, zone_list = judged_of(j, jv)
        extra, received_s = d.extra, d.received_s
        if extra or received_s is not None:
            add_payload(payload_of(s, extra, judged, received_s))
        else:  # the usual case, in one go
            add_payload(f'{{"detection":{s},"judgement":{judged}}}')
        add_zones(zone_list)
    return payloads, zone_lists


def state_payload(obj: Track | Incident) -> str:
    """The canonical payload of a track or incident change: every field."""
    return canonical_text(vars(obj))


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


_DETECTION_AT = len('{"detection":')
_raw_decode = json.JSONDecoder().raw_decode


def stored_sighting(payload: str) -> tuple[float, str]:
    """A detection payload's sighting time and the sighting's text exactly as stored (the
    ``detection`` object, the first member of the payload): what its key hashes, with no
    re-encoding. ValueError when the payload does not start with one."""
    if not payload.startswith('{"detection":{'):
        raise ValueError("the payload does not start with its detection object")
    doc, end = _raw_decode(payload, _DETECTION_AT)
    time_s = doc["time_s"]
    if type(time_s) not in (int, float):
        raise ValueError("the detection object has no numeric time_s")
    return float(time_s), payload[_DETECTION_AT:end]


def stored_key(payload: str) -> str:
    """The key of a detection record, recomputed from its stored payload text:
    :func:`~uav.detect.model.sighting_key` of :func:`stored_sighting`."""
    time_s, text = stored_sighting(payload)
    return sighting_key(time_s, text.encode())


def _num(v: float | None) -> float | None:
    """A float for a query column: NaN (which SQLite would store as NULL) as None."""
    return None if v is None or v != v else v


def zone_ids_text(zone_ids: Sequence[int]) -> str | None:
    """The ``detections.zone_ids`` column: the judgement's zones (the judge lists them
    ascending) comma-separated; None for none."""
    return ",".join(map(str, zone_ids)) if zone_ids else None


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
        zone_ids_text(j.zone_ids),
    )


EVIDENCE_COLS = len(S.evidence.columns)  # seq, kind, time_s, payload, prev_hash, hash
DETECTION_COLS = len(S.detections.columns)


@dataclass
class Batch:
    """Records chained after ``start`` (numbered and hashed), ready to insert.

    ``evidence``: the ``evidence`` rows, in append order, one after another in one flat list
    (``EVIDENCE_COLS`` values each: the driver's parameters as they are sent, with no tuple
    per row to make and take apart); ``rows`` the same of the ``detections`` rows
    (``DETECTION_COLS`` each, seq first), ``rows``' i-th that of the record ``at[i]``,
    ``keys[i]`` its key. ``states``: (record index, the track or incident) of the other
    records. The batch is chained before its transaction, from the tip the log last saw;
    :meth:`rechained` redoes it from another tip (another writer appended meanwhile) or
    without some detections (already logged)."""

    start: ChainTip
    evidence: list[Any] = field(default_factory=list)
    at: list[int] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    rows: list[Any] = field(default_factory=list)
    states: list[tuple[int, Track | Incident]] = field(default_factory=list)

    @property
    def records(self) -> int:
        return len(self.evidence) // EVIDENCE_COLS

    @property
    def end(self) -> ChainTip:
        """The tip after this batch."""
        ev = self.evidence
        return ChainTip(ev[-EVIDENCE_COLS], ev[-1]) if ev else self.start

    def record(self, i: int) -> EvidenceRow:
        """The i-th ``evidence`` row."""
        at = i * EVIDENCE_COLS
        seq, kind, time_s, payload, prev_hash, h = self.evidence[at : at + EVIDENCE_COLS]
        return seq, kind, time_s, payload, prev_hash, h

    def rechained(self, start: ChainTip, drop: set[int] | frozenset[int] = frozenset()) -> Batch:
        """The batch chained from ``start`` without the detections ``drop`` (indexes into
        ``keys``)."""
        gone = {self.at[i] for i in drop}
        new_index: dict[int, int] = {}
        pending: list[PendingRecord] = []
        for i in range(self.records):
            if i not in gone:
                new_index[i] = len(pending)
                _, kind, time_s, payload, _, _ = self.record(i)
                pending.append((kind, time_s, payload))
        records = chain(start, pending)
        keep = [i for i in range(len(self.keys)) if i not in drop]
        at = [new_index[self.at[i]] for i in keep]
        n = DETECTION_COLS
        rows: list[Any] = []
        for a, i in zip(at, keep, strict=True):
            rows.append(records[a][0])
            rows.extend(self.rows[i * n + 1 : (i + 1) * n])
        states = [(new_index[i], st) for i, st in self.states]
        evidence = list(chain_rows(records))
        return Batch(start, evidence, at, [self.keys[i] for i in keep], rows, states)


# (kind, objects, judgements, keys, payloads, zone_lists): what one append buffered, its
# payloads made (and so checked) when it was buffered; for tracks and incidents judgements,
# keys and zone_lists are empty
Entry = tuple[str, Sequence[Any], Sequence[Any], Sequence[str], Sequence[str], Sequence[str | None]]


def require_finite(times_s: list[float], what: str) -> None:
    if not all(map(math.isfinite, times_s)):
        raise ValueError(f"a {what} is not a finite number: not logged")


def prepare(entries: Sequence[Entry], start: ChainTip) -> Batch:
    """Buffered entries, in append order, as records chained after ``start`` and their
    query rows: one pass over the objects (seq, hash, row of each at once)."""
    batch = Batch(start)
    for kind, objs, judgements, keys, payloads, zone_lists in entries:
        if kind == "detection":
            _add_detections(batch, objs, judgements, keys, payloads, zone_lists)
        else:
            _add_states(batch, kind, objs, payloads)
    return batch


def _add_states(
    batch: Batch, kind: str, objs: Sequence[Track | Incident], payloads: Sequence[str]
) -> None:
    tip = batch.end
    seq, prev = tip.seq, tip.hash
    evidence, states = batch.evidence, batch.states
    index = batch.records
    sha = hashlib.sha256
    time_field = "last_s" if kind == "track" else "updated_s"
    for obj, payload in zip(objs, payloads, strict=True):
        seq += 1
        t = float(vars(obj)[time_field])
        h = sha(f"{prev}\n{seq}\n{kind}\n{t!r}\n{payload}".encode()).hexdigest()
        states.append((index, obj))
        index += 1
        evidence += (seq, kind, t, payload, prev, h)
        prev = h


def _add_detections(
    batch: Batch,
    dets: Sequence[Detection],
    js: Sequence[Judgement],
    keys: Sequence[str],
    payloads: Sequence[str],
    zone_lists: Sequence[str | None],
) -> None:
    """Each detection's record (seq, hash) and ``detections`` row, in one pass (it runs per
    detection)."""
    tip = batch.end
    seq, prev = tip.seq, tip.hash
    evidence, rows = batch.evidence, batch.rows
    add_record, add_row = evidence.extend, rows.extend
    first = batch.records
    sha = hashlib.sha256
    for d, j, key, payload, zone_list in zip(dets, js, keys, payloads, zone_lists, strict=True):
        jv = vars(j)
        seq += 1
        t = float(d.time_s)
        h = sha(f"{prev}\n{seq}\ndetection\n{t!r}\n{payload}".encode()).hexdigest()
        add_record((seq, "detection", t, payload, prev, h))
        prev = h
        lat, lon, alt, frame = d.lat_deg, d.lon_deg, d.alt_m, d.alt_frame
        add_row(
            (
                seq, key, t, d.source, jv["track_id"], lat if lat == lat else None,
                lon if lon == lon else None, alt if alt == alt else None,
                None if frame is None else str(frame), str(jv["category"]),
                str(jv["severity"]), bool(jv["authorised"]), jv["zone_id"], zone_list,
            )
        )  # fmt: skip
    batch.at.extend(range(first, batch.records))
    batch.keys.extend(keys)


# the judgement's fields in declaration order: equal judgements have equal keys
_JUDGEMENT_VALUES = itemgetter(*(f.name for f in fields(Judgement)))
_JUDGED: dict[tuple[Any, ...], tuple[str, str | None]] = {}
JUDGED_CACHE_MAX = 16_384  # judgement texts remembered (then forgotten, and again)


def _judged(j: Judgement, jv: dict[str, Any]) -> tuple[str, str | None]:
    """The judgement's payload text and its ``detections.zone_ids`` text; remembered for
    the judgements that recur (the same track, zones and severity, detection after
    detection; a clearance other than 0 rarely does), so equal judgements are encoded
    once. Only judgements of the declared types are remembered (an equal judgement with a
    float for an int would be written otherwise)."""
    judged = judgement_json(j)
    try:  # the zone list once, for the payload and the row
        zone_list = ",".join(map(_int_repr, jv["zone_ids"])) or None
    except TypeError:  # not ints: the general way
        return judged, zone_ids_text(j.zone_ids)
    clearance, zone_id = jv["clearance_m"], jv["zone_id"]
    if (
        (clearance is None or (type(clearance) is float and clearance == 0.0))
        and (zone_id is None or type(zone_id) is int)
        and type(jv["authorised"]) is bool
    ):
        if len(_JUDGED) >= JUDGED_CACHE_MAX:
            _JUDGED.clear()
        _JUDGED[_JUDGEMENT_VALUES(jv)] = (judged, zone_list)
    return judged, zone_list


def upsert_states(
    conn: Connection, base: int, states: Sequence[tuple[int, Track | Incident]]
) -> None:
    """The latest state of each track / incident in the batch into its table: the batch's
    rows replace the stored ones (one executemany ``INSERT ... ON CONFLICT DO UPDATE``).
    ``states``: (record index in the batch, state); seq is ``base`` + that index."""
    latest_tracks: dict[str, tuple[int, Track]] = {}
    latest_incidents: dict[str, tuple[int, Incident]] = {}
    for i, st in states:
        if isinstance(st, Track):
            latest_tracks[st.track_id] = (base + i, st)
        else:
            latest_incidents[st.incident_id] = (base + i, st)
    track_rows = [_TRACK_ROW.row(st, seq) for seq, st in latest_tracks.values()]
    incident_rows = [_INCIDENT_ROW.row(st, seq) for seq, st in latest_incidents.values()]
    fast_upsert(conn, S.tracks, "track_id", track_rows)
    fast_upsert(conn, S.incidents, "incident_id", incident_rows, INCIDENT_FIXED)


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
    "detection_payloads",
    "detection_row_tail",
    "judgement_from_json",
    "judgement_json",
    "prepare",
    "state_payload",
    "stored_key",
    "stored_sighting",
    "upsert_states",
    "zone_ids_text",
]
