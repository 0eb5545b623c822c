"""A detection: one sighting of one aircraft by one sensor, as every source reports it.

Every source (MAVLink ADS-B / Remote ID, SBS-1, dump1090 ``aircraft.json``, JSON lines from
RF/radar detectors, replays) turns what it reads into :class:`Detection` s; judgement,
tracking and the evidence log only ever see this type. Positions are WGS-84 degrees; every
altitude carries its frame; instants are UNIX seconds (UTC).
"""

from __future__ import annotations

import copy
import hashlib
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from operator import attrgetter, countOf
from typing import Any

import orjson


class SensorKind(StrEnum):
    ADSB = "adsb"  # ADS-B (ADSB_VEHICLE, SBS-1, aircraft.json)
    REMOTE_ID = "remote-id"  # ASTM F3411 / ASD-STAN broadcast Remote ID (OPEN_DRONE_ID_*)
    RF = "rf"  # RF detector
    RADAR = "radar"
    OTHER = "other"


class AltFrame(StrEnum):
    """What a detection's altitude is measured from."""

    AMSL = "amsl"  # geometric, above mean sea level (GPS / WGS-84 geoid)
    PRESSURE = "pressure"  # barometric pressure altitude (ADS-B "altitude", Remote ID baro)
    ABOVE_TAKEOFF = "above-takeoff"  # Remote ID height reference 0
    ABOVE_GROUND = "above-ground"  # Remote ID height reference 1, radar AGL


class Category(StrEnum):
    DRONE = "drone"
    MANNED = "manned"  # ADS-B emitter types other than UAV
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Detection:
    """One sighting. Fields a source does not know are ``None``.

    Slotted: ingest reads the fields of every detection a dozen times (sort, keys, judge,
    tracks, incidents, records), and a slot is read several times faster than an
    instance dict's entry, the object a quarter of the size.

    ``source`` names the feed as given on the command line (``sbs:tcp:127.0.0.1:30003``);
    ``sensor_id`` the sensor inside it (a receiver, a fleet drone relaying, a detector id).
    ``key`` (computed) identifies the sighting for idempotent ingest: the same sighting read
    twice (a replay, a reconnect) has the same key.
    """

    time_s: float  # when the sensor saw it (sensor time when the feed gives one)
    source: str
    sensor_id: str
    sensor_kind: SensorKind
    lat_deg: float | None = None
    lon_deg: float | None = None
    alt_m: float | None = None
    alt_frame: AltFrame | None = None
    position_error_m: float | None = None  # horizontal 1-sigma-ish accuracy when known
    ground_speed_mps: float | None = None
    track_deg: float | None = None  # course over ground, degrees true
    vertical_rate_mps: float | None = None  # up positive
    icao_address: str | None = None  # 6 upper-case hex digits
    callsign: str | None = None
    emitter_type: int | None = None  # ADSB_EMITTER_TYPE (14 = UAV)
    remote_id: str | None = None  # UAS ID (serial number / registration) from BASIC_ID
    remote_id_type: int | None = None  # MAV_ODID_ID_TYPE
    ua_type: int | None = None  # MAV_ODID_UA_TYPE
    operator_id: str | None = None
    operator_lat_deg: float | None = None
    operator_lon_deg: float | None = None
    self_id: str | None = None  # SELF_ID description
    mavlink_sysid: int | None = None  # the system that sent it (fleet drones: their own sysid)
    confidence: float | None = None  # 0..1 when the detector gives one
    received_s: float | None = None  # when uav received it (ground clock)
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def has_position(self) -> bool:
        return (
            self.lat_deg is not None
            and self.lon_deg is not None
            and math.isfinite(self.lat_deg)
            and math.isfinite(self.lon_deg)
        )

    @property
    def category(self) -> Category:
        if self.sensor_kind == SensorKind.REMOTE_ID:
            return Category.DRONE
        if self.emitter_type is None:
            return Category.UNKNOWN
        return Category.DRONE if self.emitter_type == ADSB_EMITTER_UAV else Category.MANNED

    @property
    def identity(self) -> str | None:
        """The id a track is kept under, when the sighting carries one."""
        if self.remote_id:
            return f"rid:{self.remote_id}"
        if self.icao_address:
            return f"icao:{self.icao_address}"
        return None

    def sighting_json(self) -> str:
        """The sighting as canonical JSON text (:func:`canonical_json`, decoded): every field
        that is not None but ``received_s`` and ``extra`` (when uav got it and what a feed
        added). It is the ``detection`` object of the evidence record and the content
        :attr:`key` hashes. ValueError for a non-finite number (never written as null)."""
        return sighting_bytes(self).decode()

    @property
    def key(self) -> str:
        """Identifies the sighting for idempotent ingest: :func:`sighting_key` of
        :meth:`sighting_json` (the same sighting read twice has the same key)."""
        return sighting_key(self.time_s, sighting_bytes(self))

    def to_json(self) -> dict[str, Any]:
        # what asdict() gives, field by field: several times faster (ingest runs this per
        # detection); ``extra`` is deep-copied as asdict would
        doc = {k: _plain(getattr(self, k)) for k in _PLAIN_FIELDS}
        doc["extra"] = copy.deepcopy(self.extra) if self.extra else {}
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Detection:
        """The inverse of :meth:`to_json` (same key). Keys that are not fields (a listing's
        judgement columns) are left out; a missing required field or a bad enum value raises
        ``KeyError``/``ValueError``/``TypeError``."""
        values = {k: doc[k] for k in _PLAIN_FIELDS if k in doc}
        values["sensor_kind"] = SensorKind(doc["sensor_kind"])
        if values.get("alt_frame") is not None:
            values["alt_frame"] = AltFrame(values["alt_frame"])
        extra = doc.get("extra")
        if extra is not None and not isinstance(extra, dict):
            raise TypeError(f"extra must be an object, not {type(extra).__name__}")
        return cls(**values, extra=dict(extra or {}))


def _plain(v: Any) -> Any:
    return str(v) if isinstance(v, StrEnum) else v


_PLAIN_FIELDS = tuple(f.name for f in fields(Detection) if f.name != "extra")
_SORTED = orjson.OPT_SORT_KEYS
_dumps = orjson.dumps
_NOT_IN_SIGHTING = ("extra", "received_s")
_SIGHTING_FIELDS = tuple(f for f in _PLAIN_FIELDS if f not in _NOT_IN_SIGHTING)
# (zips of the two need no strict=True: one length by construction, and the check costs
# a fifth of the sighting's encoding)
_sighting_values = attrgetter(*_SIGHTING_FIELDS)


def _default(v: Any) -> Any:
    """What orjson calls for a type it does not know: a float subclass (numpy's float64)
    as its float; anything else refused."""
    if isinstance(v, float):
        return float(v)
    raise TypeError(f"{type(v).__name__} is not JSON")


def canonical_json(doc: Any) -> bytes:
    """The canonical JSON of ``doc``, as UTF-8 bytes: ``orjson.dumps(doc,
    option=orjson.OPT_SORT_KEYS)`` (keys sorted, compact, non-ASCII as is, floats in their
    shortest round-trip form: ``1e-7``, ``1e+16``, ``0.1``; enums as their value). What the
    evidence log hashes and keys. A non-finite float (which orjson would write as null)
    or a value orjson cannot write (an int beyond 64 bits, an unknown type) raises
    ValueError: not logged."""
    return canonical_text(doc).encode()


def canonical_text(doc: Any) -> str:
    """:func:`canonical_json` as text (what the evidence log stores)."""
    try:
        text = _dumps(doc, _default, option=_SORTED).decode()
    except orjson.JSONEncodeError as exc:
        raise ValueError(f"not loggable as canonical JSON: {exc}") from None
    # (searched in the text: ``in`` on bytes first tries the needle as an int, and costs
    # more than the decode)
    if "null" in text and not _nulls_are_nones(text, doc):
        _require_finite_tree(doc)  # a string holding "null", or a NaN written as null?
    return text


def _nulls_are_nones(text: str, doc: Any) -> bool:
    """Whether every null in ``text`` (``doc``'s JSON) is one of a flat dict's None values
    (the usual case: no need to look for a NaN written as null)."""
    return type(doc) is dict and text.count("null") == countOf(doc.values(), None)


def _require_finite_tree(doc: Any) -> None:
    if type(doc) is float:
        if doc - doc != 0.0:
            raise ValueError(f"a number is not finite ({doc!r}): not logged")
    elif isinstance(doc, dict):
        for v in doc.values():
            _require_finite_tree(v)
    elif isinstance(doc, list | tuple):
        for v in doc:
            _require_finite_tree(v)
    elif isinstance(doc, float) and not math.isfinite(doc):  # a float subclass
        raise ValueError(f"a number is not finite ({doc!r}): not logged")
    elif hasattr(doc, "__dataclass_fields__"):  # orjson writes dataclasses' fields
        for name in doc.__dataclass_fields__:
            _require_finite_tree(getattr(doc, name, None))


def sighting_bytes(d: Detection) -> bytes:
    """:meth:`Detection.sighting_json` as the bytes the key hashes (no decode)."""
    return canonical_json(_sighting_doc(d))


def _sighting_doc(d: Detection) -> dict[str, Any]:
    """The sighting's fields that are not None (not ``received_s`` nor ``extra``)."""
    values = _sighting_values(d)
    return {k: v for k, v in zip(_SIGHTING_FIELDS, values, strict=False) if v is not None}


KEY_TIME_DIGITS = 12  # hex digits of the key's time prefix (milliseconds)
KEY_HASH_DIGITS = 20  # hex digits of SHA-256 after it
_KEY_MS_MAX = 16**KEY_TIME_DIGITS - 1
# the key from (milliseconds, the sighting's SHA-256 hex digest): its time as hex digits,
# then the digest's first digits
_KEY_FORMAT = f"%0{KEY_TIME_DIGITS}x%.{KEY_HASH_DIGITS}s"
_SIGHTING_TIME_AT = _SIGHTING_FIELDS.index("time_s")


def sighting_key(time_s: float, sighting_json: bytes | str) -> str:
    """A detection key: the sighting's time in milliseconds as 12 hex digits (0 before
    1970 or NaN, capped in the year 10889), then the first 20 hex digits of
    SHA-256 of ``sighting_json`` (its UTF-8 bytes). The time prefix makes keys sort about
    in time order, so the log's unique index on them grows at one end."""
    text = sighting_json.decode() if isinstance(sighting_json, bytes) else sighting_json
    return sighting_keys([time_s], [text])[0]


def sighting_keys(times_s: Sequence[float], sightings: Sequence[str]) -> list[str]:
    """:func:`sighting_key` of each (time, sighting text) pair (a batch at once)."""
    sha = hashlib.sha256
    floor = math.floor
    cap = _KEY_MS_MAX
    key_format = _KEY_FORMAT
    out: list[str] = []
    append = out.append
    for time_s, text in zip(times_s, sightings, strict=True):
        t_ms = time_s * 1000.0
        # before 1970 and NaN: 0; beyond the cap (infinity too): the cap
        ms = floor(t_ms) if 0.0 <= t_ms <= cap else (cap if t_ms > cap else 0)
        append(key_format % (ms, sha(text.encode()).hexdigest()))
    return out


def sightings_and_keys(detections: Sequence[Detection]) -> tuple[list[str], list[str]]:
    """Each detection's :meth:`~Detection.sighting_json` and :attr:`~Detection.key`, in
    one pass (ingest runs it per detection). The sightings are kept as str: orjson's bytes
    are let go at once (kept, 12,500 of them a batch cost more to allocate than to
    encode). ValueError when a detection cannot be logged:
    a non-finite number or a value canonical JSON cannot hold, in its sighting or its
    ``extra`` (checked here, before anything is judged or buffered)."""
    sha = hashlib.sha256
    floor = math.floor
    cap = _KEY_MS_MAX
    dumps, default, sort = _dumps, _default, _SORTED
    names, values = _SIGHTING_FIELDS, _sighting_values
    sightings: list[str] = []
    keys: list[str] = []
    add_sighting, add_key = sightings.append, keys.append
    key_format, time_at = _KEY_FORMAT, _SIGHTING_TIME_AT
    try:
        for d in detections:
            # _sighting_doc(d), inline (it runs per detection; zip without strict=: a
            # keyword argument costs more than the rest of the call)
            vals = values(d)
            doc = {k: v for k, v in zip(names, vals) if v is not None}  # noqa: B905
            text = dumps(doc, default, sort)
            sighting = text.decode()
            if "null" in sighting:  # a NaN written as null? (or a string holding "null")
                _require_finite_tree(doc)
            if d.extra:
                canonical_json(d.extra)
            add_sighting(sighting)
            t_ms = vals[time_at] * 1000.0
            # before 1970 and NaN: 0; beyond the cap (infinity too): the cap
            ms = floor(t_ms) if 0.0 <= t_ms <= cap else (cap if t_ms > cap else 0)
            add_key(key_format % (ms, sha(text).hexdigest()))
    except orjson.JSONEncodeError as exc:
        raise ValueError(f"not loggable as canonical JSON: {exc}") from None
    return sightings, keys


def key_time_ms(time_s: float) -> int:
    """The time prefix of the key of a sighting at ``time_s``, as an int: milliseconds,
    clamped as :func:`sighting_key` does (never decreasing with the time, so a time range
    is a key range)."""
    t_ms = time_s * 1000.0
    return math.floor(t_ms) if 0.0 <= t_ms <= _KEY_MS_MAX else (_KEY_MS_MAX if t_ms > 0 else 0)


KEY_MS_MAX = _KEY_MS_MAX


ADSB_EMITTER_UAV = 14  # ADSB_EMITTER_TYPE_UAV


class Severity(StrEnum):
    HIGH = "high"  # inside a prohibited zone, or an authorization zone without a permit
    MEDIUM = "medium"  # inside a warning zone, or within the buffer of a high-severity zone
    LOW = "low"  # elsewhere

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.HIGH: 2, Severity.MEDIUM: 1, Severity.LOW: 0}


@dataclass(frozen=True)
class Judgement:
    """What uav made of one detection: whose it is, where it is, how bad."""

    track_id: str  # "rid:<id>", "icao:<hex>", or "plot:<n>" for id-less plots
    category: Category
    authorised: bool
    authorised_by: str | None  # "fleet:TH-01", "permit:12"; None when not authorised
    severity: Severity
    zone_ids: tuple[int, ...] = ()  # every active zone the detection is inside (3-D + time)
    zone_id: int | None = None  # the zone that set the severity
    zone_name: str | None = None
    clearance_m: float | None = None  # to the nearest high-severity zone, when within reach
    # what the judgement had to assume: "no-altitude", "pressure-altitude",
    # "altitude-frame-assumed", "no-position" (see uav.detect.judge)
    flags: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, StrEnum) else v) for k, v in asdict(self).items()}


_new_object = object.__new__
_set_attr = object.__setattr__


def new_judgement(
    track_id: str,
    category: Category,
    authorised: bool,
    authorised_by: str | None,
    severity: Severity,
    zone_ids: tuple[int, ...],
    zone_id: int | None,
    zone_name: str | None,
    clearance_m: float | None,
    flags: tuple[str, ...],
) -> Judgement:
    """``Judgement(...)`` with every field given, without the frozen dataclass's per-field
    ``__setattr__`` (the judge makes one per detection): an equal object."""
    j: Judgement = _new_object(Judgement)
    _set_attr(
        j,
        "__dict__",
        {
            "track_id": track_id,
            "category": category,
            "authorised": authorised,
            "authorised_by": authorised_by,
            "severity": severity,
            "zone_ids": zone_ids,
            "zone_id": zone_id,
            "zone_name": zone_name,
            "clearance_m": clearance_m,
            "flags": flags,
        },
    )
    return j


class IncidentState(StrEnum):
    OPEN = "open"
    UPDATED = "updated"
    CLOSED = "closed"


class TrackChange(StrEnum):
    """Why a track was recorded: it appeared, moved significantly, or went silent."""

    NEW = "new"
    MOVED = "moved"
    CLOSED = "closed"


@dataclass(frozen=True)
class Track:
    """A track as it stands after a change (each change is one evidence record)."""

    track_id: str
    category: Category
    first_s: float
    last_s: float
    detections: int
    lat_deg: float | None
    lon_deg: float | None
    alt_m: float | None
    alt_frame: AltFrame | None
    authorised: bool
    authorised_by: str | None
    remote_id: str | None = None
    icao_address: str | None = None
    operator_lat_deg: float | None = None
    operator_lon_deg: float | None = None
    change: TrackChange = TrackChange.MOVED

    def to_json(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, StrEnum) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Incident:
    """A track's stay inside one zone: opened on entry, updated, closed on exit or silence."""

    incident_id: str  # "<track_id>@<zone_id>#<n>"
    track_id: str
    zone_id: int | None
    zone_name: str | None
    severity: Severity
    state: IncidentState
    opened_s: float
    updated_s: float
    closed_s: float | None
    detections: int
    authorised: bool
    lat_deg: float | None
    lon_deg: float | None
    alt_m: float | None
    remote_id: str | None = None
    icao_address: str | None = None
    operator_lat_deg: float | None = None
    operator_lon_deg: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, StrEnum) else v) for k, v in asdict(self).items()}


_TRACK_FIELDS = tuple(f.name for f in fields(Track))
_INCIDENT_FIELDS = tuple(f.name for f in fields(Incident))


def new_track(*values: Any) -> Track:
    """``Track(*values)`` with every field given, in order, without the frozen dataclass's
    per-field ``__setattr__`` (the tracker makes one per recorded change): an equal
    object."""
    t: Track = _new_object(Track)
    _set_attr(t, "__dict__", dict(zip(_TRACK_FIELDS, values, strict=True)))
    return t


def new_incident(*values: Any) -> Incident:
    """``Incident(*values)`` with every field given, in order, as :func:`new_track`."""
    i: Incident = _new_object(Incident)
    _set_attr(i, "__dict__", dict(zip(_INCIDENT_FIELDS, values, strict=True)))
    return i
