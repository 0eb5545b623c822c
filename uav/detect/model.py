"""A detection: one sighting of one aircraft by one sensor, as every source reports it.

Every source (MAVLink ADS-B / Remote ID, SBS-1, dump1090 ``aircraft.json``, JSON lines from
RF/radar detectors, replays) turns what it reads into :class:`Detection` s; judgement,
tracking and the evidence log only ever see this type. Positions are WGS-84 degrees; every
altitude carries its frame; instants are UNIX seconds (UTC).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from enum import StrEnum
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
        doc = {k: v for k, v in self.to_json().items() if k not in ("received_s", "extra")}
        raw = json.dumps(doc, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(raw.encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, StrEnum) else v) for k, v in asdict(self).items()}


ADSB_EMITTER_UAV = 14  # ADSB_EMITTER_TYPE_UAV
