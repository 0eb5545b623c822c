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

    @property
    def key(self) -> str:
        """SHA-256 over the sighting's identifying content (not ``received_s``)."""
        # = json.dumps(doc, sort_keys=True, separators=(",", ":")) of the fields but
        # received_s and extra (StrEnum members encode as their values): the same key,
        # several times faster, as ingest computes it for every detection
        raw = _KEY_ENCODE(dict(zip(_KEY_FIELDS, _key_values(self), strict=True)))
        return hashlib.sha256(raw.encode()).hexdigest()

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
_KEY_FIELDS = tuple(sorted(k for k in _PLAIN_FIELDS if k != "received_s"))
_key_values = attrgetter(*_KEY_FIELDS)
_PY_KEY_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode
# the C encoder JSONEncoder.encode would build on every call, built once (same output)
_C_MAKE_ENCODER: Any = getattr(json.encoder, "c_make_encoder", None)
_C_KEY_ENCODER: Any = (
    None
    if _C_MAKE_ENCODER is None
    else _C_MAKE_ENCODER(
        None, None, json.encoder.encode_basestring_ascii, None, ":", ",", True, False, True
    )
)


def _KEY_ENCODE(doc: dict[str, Any]) -> str:
    if _C_KEY_ENCODER is None:
        return _PY_KEY_ENCODE(doc)
    return "".join(_C_KEY_ENCODER(doc, 0))


ADSB_EMITTER_UAV = 14  # ADSB_EMITTER_TYPE_UAV


class Severity(StrEnum):
    HIGH = "high"  # inside a prohibited zone, or an authorization zone without a permit
    MEDIUM = "medium"  # inside a warning zone, or within the buffer of a high-severity zone
    LOW = "low"  # elsewhere

    @property
    def rank(self) -> int:
        return {"high": 2, "medium": 1, "low": 0}[self.value]


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
