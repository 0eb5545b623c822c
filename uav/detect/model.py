"""A detection: one sighting of one aircraft by one sensor, as every source reports it.

Every source (MAVLink ADS-B / Remote ID, SBS-1, dump1090 ``aircraft.json``, JSON lines from
RF/radar detectors, replays) turns what it reads into :class:`Detection` s; judgement,
tracking and the evidence log only ever see this type. Positions are WGS-84 degrees; every
altitude carries its frame; instants are UNIX seconds (UTC).
"""

from __future__ import annotations

import copy
import hashlib
import json
import json.encoder
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from operator import attrgetter
from typing import Any


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


@dataclass(frozen=True)
class Detection:
    """One sighting. Fields a source does not know are ``None``.

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
        """The sighting as canonical JSON: every field that is not None but ``received_s``
        and ``extra`` (when uav got it and what a feed added), ``json.dumps(doc,
        sort_keys=True, separators=(",", ":"))``. It is the ``detection`` object of the
        evidence record and the content :attr:`key` hashes."""
        try:
            return _sighting_text(_SIGHTING_VALUES(self))
        except TypeError:  # a field of another type than declared: json's own way
            doc = {k: v for k, v in vars(self).items() if v is not None}
            doc.pop("extra", None)
            doc.pop("received_s", None)
            return canonical_json(doc)

    @property
    def key(self) -> str:
        """Identifies the sighting for idempotent ingest: :func:`sighting_key` of
        :meth:`sighting_json` (the same sighting read twice has the same key)."""
        return sighting_key(self.time_s, self.sighting_json())

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
_PY_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode
# the C encoder JSONEncoder.encode would build on every call, built once (same output)
_C_MAKE_ENCODER: Any = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODER: Any = (
    None
    if _C_MAKE_ENCODER is None
    else _C_MAKE_ENCODER(
        None, None, json.encoder.encode_basestring_ascii, None, ":", ",", True, False, True
    )
)
_encode_str: Any = json.encoder.encode_basestring_ascii  # TypeError for a non-str


def _json_float(v: Any) -> str:
    if type(v) is float and v - v == 0.0:  # finite
        return float.__repr__(v)
    if isinstance(v, float | int) and not isinstance(v, bool):
        return canonical_json(v)  # NaN, infinities, ints, subclasses: as json writes them
    raise TypeError(f"not a number: {v!r}")


def _json_int(v: Any) -> str:
    if type(v) is int:
        return int.__repr__(v)
    raise TypeError(f"not an int: {v!r}")


def _field_encoder(name: str) -> Any:
    declared = str(_FIELD_TYPES[name])
    if "float" in declared:
        return _json_float
    return _json_int if "int" in declared else _encode_str


_FIELD_TYPES = {f.name: f.type for f in fields(Detection)}
_SIGHTING_NAMES = tuple(name for name in sorted(_PLAIN_FIELDS) if name != "received_s")
# the fields a sighting's JSON holds, in key order, read at once (attribute reads: a
# detection's __dict__ is not made, so it stays one object for the garbage collector)
_SIGHTING_VALUES = attrgetter(*_SIGHTING_NAMES)
# ('"name":', encoder) of each: an encoder writes a value of the declared type as json
# does and raises TypeError otherwise
_SIGHTING_FIELDS: tuple[tuple[str, Any], ...] = tuple(
    (f'"{name}":', _field_encoder(name)) for name in _SIGHTING_NAMES
)


def _sighting_text(values: tuple[Any, ...]) -> str:
    """canonical_json of the sighting's fields (``values``: :data:`_SIGHTING_VALUES`),
    written field by field in key order (the same text without building and sorting a
    dict: several times faster, and ingest runs it once per detection)."""
    parts: list[str] = []
    add = parts.append
    number = _json_float
    for (prefix, encode), v in zip(_SIGHTING_FIELDS, values, strict=True):
        if v is None:
            continue
        if encode is number and type(v) is float and v - v == 0.0:  # finite: its repr
            add(prefix + _float_repr(v))
        else:
            add(prefix + encode(v))
    return "{" + ",".join(parts) + "}"


_float_repr = float.__repr__
KEY_TIME_DIGITS = 12  # hex digits of the key's time prefix (milliseconds)
KEY_HASH_DIGITS = 20  # hex digits of SHA-256 after it
_KEY_MS_MAX = 16**KEY_TIME_DIGITS - 1


def canonical_json(doc: Any) -> str:
    """``json.dumps(doc, sort_keys=True, separators=(",", ":"))`` (ASCII), without its
    per-call set-up."""
    if _C_ENCODER is None:
        return _PY_ENCODE(doc)
    return "".join(_C_ENCODER(doc, 0))


def sighting_key(time_s: float, sighting_json: str) -> str:
    """A detection key: the sighting's time in milliseconds as 12 hex digits (0 before
    1970 or NaN, capped in the year 10889), then the first 20 hex digits of
    SHA-256 of ``sighting_json`` (its UTF-8 bytes). The time prefix makes keys sort about
    in time order, so the log's unique index on them grows at one end."""
    return sighting_keys([time_s], [sighting_json])[0]


def sighting_keys(times_s: Sequence[float], sightings: Sequence[str]) -> list[str]:
    """:func:`sighting_key` of each (time, sighting) pair (a batch at once)."""
    sha = hashlib.sha256
    floor = math.floor
    cap = _KEY_MS_MAX
    out: list[str] = []
    append = out.append
    for time_s, text in zip(times_s, sightings, strict=True):
        t_ms = time_s * 1000.0
        # before 1970 and NaN: 0; beyond the cap (infinity too): the cap
        ms = floor(t_ms) if 0.0 <= t_ms <= cap else (cap if t_ms > cap else 0)
        append(f"{ms:012x}{sha(text.encode()).hexdigest()[:KEY_HASH_DIGITS]}")
    return out


def sightings_and_keys(detections: Sequence[Detection]) -> tuple[list[str], list[str]]:
    """Each detection's :meth:`~Detection.sighting_json` and :attr:`~Detection.key`, in one
    pass (ingest runs it per detection)."""
    sha = hashlib.sha256
    floor = math.floor
    cap = _KEY_MS_MAX
    text_of, values_of = _sighting_text, _SIGHTING_VALUES
    sightings: list[str] = []
    keys: list[str] = []
    add_sighting, add_key = sightings.append, keys.append
    for d in detections:
        try:
            text = text_of(values_of(d))
        except TypeError:  # a field of another type than declared: json's own way
            text = d.sighting_json()
        add_sighting(text)
        t_ms = d.time_s * 1000.0
        # before 1970 and NaN: 0; beyond the cap (infinity too): the cap
        ms = floor(t_ms) if 0.0 <= t_ms <= cap else (cap if t_ms > cap else 0)
        add_key(f"{ms:012x}{sha(text.encode()).hexdigest()[:KEY_HASH_DIGITS]}")
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
