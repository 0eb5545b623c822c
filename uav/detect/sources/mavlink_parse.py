"""MAVLink messages -> detections: ADSB_VEHICLE and OPEN_DRONE_ID_* (pure, no I/O).

:class:`MavlinkParser` takes pymavlink messages (live, or read back from a tlog) and their
receive time. It never raises on bad input: a malformed message is counted in
``stats.skipped``; a well-formed one that carries no detection in ``stats.ignored``.

**ADSB_VEHICLE** -> one :class:`Detection` (sensor kind ``adsb``): ``ICAO_address`` as 6 hex
digits; altitude (mm) in the frame ``altitude_type`` gives (0 pressure/QNH -> ``pressure``,
1 geometric -> ``amsl``); heading cdeg, velocities cm/s (vertical up positive); callsign
stripped; ``emitter_type`` as sent. Only the fields the ``flags`` mark valid are used
(ADSB_FLAGS_VALID_COORDS, _ALTITUDE, _HEADING, _VELOCITY, _CALLSIGN, _SQUAWK, and
VERTICAL_VELOCITY_VALID for the vertical rate); without valid coordinates the message is
ignored. ``time_s`` = receive time - ``tslc`` (seconds since the aircraft was last heard).

**OPEN_DRONE_ID_*** are merged per broadcaster: (sender sysid, compid, ``id_or_mac``). BASIC_ID
(uas_id, id_type, ua_type; a serial number is preferred when both a serial and another id are
broadcast), SYSTEM / SYSTEM_UPDATE (operator location), OPERATOR_ID and SELF_ID are
remembered; each LOCATION becomes one detection (sensor kind ``remote-id``) carrying the latest
of them. All-zero static messages (ArduPilot before a ground station fills them in) leave the
fields unknown. Invalid markers per the MAVLink ODID definitions give ``None``: lat/lon 0
(then the LOCATION is ignored), altitudes -1000, speed 25500, vertical speed 6300, direction
36100. The altitude is the geodetic one (``amsl``) when known, else ``height`` over take-off
or ground, else the barometric one (``pressure``); the others are kept in ``extra``.

LOCATION ``timestamp`` is seconds after the full hour (0xFFFF unknown). It is placed in the
hour nearest the receive time. The MAVLink definition says UTC, but ArduPilot sends GPS time,
18 s ahead of UTC (README scenario 6: 793.2 received at 775.9 s past the hour): when the
UTC reading lies 8-20 s in the future and the GPS reading fits, the 18 s are taken off
(``extra["odid_clock"] = "gps"``). A timestamp that fits neither (unknown, or a sender whose
clock is off, like an emulator at a speed-up) gives the receive time
(``extra["time_from"] = "received"``).

**Held until the ID comes** (:meth:`MavlinkParser.receive`): a broadcaster's static messages
take turns (ArduPilot sends one every 0.8 s, so BASIC_ID every 3.2 s), so a new broadcaster's
first LOCATIONs usually arrive before its ID. Tracked as they are, they would start an id-less
plot track beside the ID's track. While a broadcaster is new (first heard less than
``hold_s`` ago, default ``ODID_ID_HOLD_S``) and has given no ID, its LOCATIONs are held: its
BASIC_ID releases them with the ID (and the other static fields they lack) filled in and
``extra["id_received_after_s"]``, how long after the LOCATION the ID came; when ``hold_s``
has passed without one they go on without (a broadcaster that sends none waits
``hold_s`` once, at first sight). :meth:`~MavlinkParser.release_due` releases what is due
at a time (a quiet feed), :meth:`~MavlinkParser.release_all` everything (the feed ends).
:meth:`~MavlinkParser.parse` is the same without holding.

``mavlink_sysid`` is set only for a sender's own Remote ID (``id_or_mac`` all zero): the fleet
recognises its drones by it. ADSB_VEHICLE and relayed Remote ID (non-zero ``id_or_mac``)
describe *other* aircraft; the relaying system is kept in ``extra["relayed_by_sysid"]`` so a
fleet drone's sysid never vouches for the traffic it reports.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from uav.detect.model import AltFrame, Detection, SensorKind
from uav.detect.sources.base import SourceStats, clean_text, valid_lat_lon

ADSB_FLAGS_VALID_COORDS = 1
ADSB_FLAGS_VALID_ALTITUDE = 2
ADSB_FLAGS_VALID_HEADING = 4
ADSB_FLAGS_VALID_VELOCITY = 8
ADSB_FLAGS_VALID_CALLSIGN = 16
ADSB_FLAGS_VALID_SQUAWK = 32
ADSB_FLAGS_SIMULATED = 64
ADSB_FLAGS_VERTICAL_VELOCITY_VALID = 128
ADSB_ALTITUDE_PRESSURE_QNH = 0
ADSB_ALTITUDE_GEOMETRIC = 1

ODID_ALT_UNKNOWN_M = -1000.0
ODID_SPEED_UNKNOWN_CMS = 25500
ODID_SPEED_MAX_CMS = 25425
ODID_VSPEED_UNKNOWN_CMS = 6300
ODID_DIRECTION_UNKNOWN_CDEG = 36100
ODID_TIMESTAMP_UNKNOWN_S = 0xFFFF
ODID_HEIGHT_OVER_TAKEOFF = 0
ODID_HEIGHT_OVER_GROUND = 1
ODID_ID_TYPE_NONE = 0
ODID_ID_TYPE_SERIAL = 1
ODID_ID_TYPE_CAA = 2
GPS_MINUS_UTC_S = 18.0  # leap seconds since 1980 (since 2017)
ODID_MAX_AGE_S = 10.0  # a LOCATION older than this at receipt has a clock problem
ODID_MAX_AHEAD_S = 2.0  # ... or one this far in the future
MAX_BROADCASTERS = 10_000  # Remote ID senders remembered (least recently heard dropped)
# a new broadcaster's LOCATIONs wait this long at most for its ID: static messages every
# 3.2 s in ArduPilot's rotation, at least every 3 s in ASTM F3411
ODID_ID_HOLD_S = 3.5
HELD_MAX = 64  # LOCATIONs held per broadcaster at most (more: all go on without the ID)

# MAV_ODID_HOR_ACC -> the bound it names, in metres (0 unknown)
ODID_HOR_ACC_M = {
    1: 18520.0, 2: 7408.0, 3: 3704.0, 4: 1852.0, 5: 926.0, 6: 555.6, 7: 185.2, 8: 92.6,
    9: 30.0, 10: 10.0, 11: 3.0, 12: 1.0,
}  # fmt: skip

ODID_STATIC_TYPES = frozenset(
    {
        "OPEN_DRONE_ID_BASIC_ID",
        "OPEN_DRONE_ID_SYSTEM",
        "OPEN_DRONE_ID_SYSTEM_UPDATE",
        "OPEN_DRONE_ID_OPERATOR_ID",
        "OPEN_DRONE_ID_SELF_ID",
    }
)
DETECTION_TYPES = frozenset({"ADSB_VEHICLE", "OPEN_DRONE_ID_LOCATION"}) | ODID_STATIC_TYPES

SensorName = Callable[[int, int], str]


def default_sensor_name(sysid: int, compid: int) -> str:
    return f"mavlink:{sysid}/{compid}"


class Malformed(ValueError):
    """A message that cannot be read (bad coordinates, NaN, out-of-range values)."""


@dataclass
class _Broadcaster:
    """What one Remote ID broadcaster last said in its static messages."""

    first_s: float  # when it was first heard (receive time)
    ids: dict[int, tuple[str, int]] = field(default_factory=dict)  # id_type -> (uas_id, ua_type)
    operator_id: str | None = None
    self_id: str | None = None
    operator_lat_deg: float | None = None
    operator_lon_deg: float | None = None
    operator_alt_m: float | None = None

    def remote_id(self) -> tuple[str | None, int | None, int | None]:
        """(uas_id, id_type, ua_type): a serial number first, then any other id."""
        for id_type in (ODID_ID_TYPE_SERIAL, *sorted(self.ids)):
            if id_type in self.ids:
                uas_id, ua_type = self.ids[id_type]
                return uas_id, id_type, ua_type
        return None, None, None


class MavlinkParser:
    """Stateful (Remote ID merging) parser for one feed; see the module docstring."""

    def __init__(
        self,
        source: str,
        stats: SourceStats | None = None,
        *,
        sensor_name: SensorName = default_sensor_name,
        hold_s: float = ODID_ID_HOLD_S,
    ) -> None:
        self.source = source
        self.stats = stats if stats is not None else SourceStats()
        self.hold_s = hold_s
        self._sensor_name = sensor_name
        self._broadcasters: OrderedDict[BroadcasterKey, _Broadcaster] = OrderedDict()
        self._held: dict[BroadcasterKey, list[Detection]] = {}

    def receive(self, msg: Any, received_s: float) -> list[Detection]:
        """:meth:`parse`, holding a new broadcaster's LOCATIONs until its ID comes (see the
        module docstring): the detections to pass on now, in the order they were made."""
        out = self.release_due(received_s) if self._held else []
        detection = self.parse(msg, received_s)
        if detection is not None:
            if detection.sensor_kind is SensorKind.REMOTE_ID and detection.remote_id is None:
                key = _key(msg)
                b = self._broadcasters.get(key)
                if b is not None and received_s - b.first_s < self.hold_s:
                    held = self._held.setdefault(key, [])
                    held.append(detection)
                    if len(held) > HELD_MAX:
                        out += self._held.pop(key)
                    return out
            out.append(detection)
        elif self._held and msg.get_type() == "OPEN_DRONE_ID_BASIC_ID":
            out += self._released_with_id(_key(msg), received_s)
        return out

    def release_due(self, now_s: float) -> list[Detection]:
        """The held LOCATIONs whose broadcaster has been heard ``hold_s`` by ``now_s``
        (receive clock) without giving its ID: on without it."""
        out: list[Detection] = []
        for key in list(self._held):
            b = self._broadcasters.get(key)
            if b is None or now_s - b.first_s >= self.hold_s:
                out += self._held.pop(key)
        return out

    def release_all(self) -> list[Detection]:
        """Every held LOCATION, as it is (the feed ends)."""
        out = [d for held in self._held.values() for d in held]
        self._held.clear()
        return out

    def _released_with_id(self, key: BroadcasterKey, received_s: float) -> list[Detection]:
        b = self._broadcasters.get(key)
        if b is None or key not in self._held:
            return []
        uas_id, id_type, ua_type = b.remote_id()
        if uas_id is None:
            return []  # an all-zero BASIC_ID: still none
        return [
            replace(
                d,
                remote_id=uas_id,
                remote_id_type=id_type,
                ua_type=ua_type,
                operator_id=d.operator_id or b.operator_id,
                self_id=d.self_id or b.self_id,
                operator_lat_deg=_first(d.operator_lat_deg, b.operator_lat_deg),
                operator_lon_deg=_first(d.operator_lon_deg, b.operator_lon_deg),
                extra={**d.extra, "id_received_after_s": _after_s(d, received_s)},
            )
            for d in self._held.pop(key)
        ]

    def parse(self, msg: Any, received_s: float) -> Detection | None:
        """One message received at ``received_s`` (UNIX s) -> a detection, or None."""
        kind = msg.get_type()
        self.stats.add(read=1)
        if kind not in DETECTION_TYPES:
            self.stats.add(ignored=1)
            return None
        try:
            detection = self._parse(kind, msg, received_s)
        except (Malformed, ValueError, TypeError, AttributeError, OverflowError) as exc:
            self.stats.error(f"{kind} from {msg.get_srcSystem()}: {exc}")
            return None
        if detection is None:
            self.stats.add(ignored=1)
        return detection

    def _parse(self, kind: str, msg: Any, received_s: float) -> Detection | None:
        if kind == "ADSB_VEHICLE":
            return adsb_vehicle(msg, received_s, self.source, self._sensor(msg))
        if kind == "OPEN_DRONE_ID_LOCATION":
            return self._location(msg, received_s)
        self._remember(kind, msg, received_s)
        return None

    def _sensor(self, msg: Any) -> str:
        return self._sensor_name(msg.get_srcSystem(), msg.get_srcComponent())

    # ------------------------------------------------------------- Remote ID

    def _broadcaster(self, msg: Any, received_s: float) -> tuple[_Broadcaster, bool]:
        """The sender's record, and whether it is the sender's own data (id_or_mac zero)."""
        key = _key(msg)
        found = self._broadcasters.get(key)
        if found is None:
            found = self._broadcasters[key] = _Broadcaster(received_s)
            if len(self._broadcasters) > MAX_BROADCASTERS:
                self._broadcasters.popitem(last=False)
        else:
            self._broadcasters.move_to_end(key)
        return found, not key[2]

    def _remember(self, kind: str, msg: Any, received_s: float) -> None:
        b, _ = self._broadcaster(msg, received_s)
        if kind == "OPEN_DRONE_ID_BASIC_ID":
            uas_id = _uas_id(msg.uas_id)
            if uas_id is not None and msg.id_type != ODID_ID_TYPE_NONE:
                b.ids[int(msg.id_type)] = (uas_id, int(msg.ua_type))
        elif kind == "OPEN_DRONE_ID_OPERATOR_ID":
            b.operator_id = clean_text(msg.operator_id) or b.operator_id
        elif kind == "OPEN_DRONE_ID_SELF_ID":
            b.self_id = clean_text(msg.description) or b.self_id
        else:  # SYSTEM, SYSTEM_UPDATE
            lat, lon = msg.operator_latitude, msg.operator_longitude
            if lat == 0 and lon == 0:
                return
            lat_deg, lon_deg = lat / 1e7, lon / 1e7
            if not valid_lat_lon(lat_deg, lon_deg):
                raise Malformed(f"operator position {lat_deg}, {lon_deg} out of range")
            b.operator_lat_deg, b.operator_lon_deg = lat_deg, lon_deg
            b.operator_alt_m = _odid_alt(msg.operator_altitude_geo)

    def _location(self, msg: Any, received_s: float) -> Detection | None:
        b, own = self._broadcaster(msg, received_s)
        if msg.latitude == 0 and msg.longitude == 0:
            return None
        lat_deg, lon_deg = msg.latitude / 1e7, msg.longitude / 1e7
        if not valid_lat_lon(lat_deg, lon_deg):
            raise Malformed(f"position {lat_deg}, {lon_deg} out of range")
        extra: dict[str, Any] = {"status": int(msg.status)}
        sender = msg.get_srcSystem()
        if not own:
            extra["id_or_mac"] = bytes(msg.id_or_mac).hex()
            extra["relayed_by_sysid"] = sender
        time_s = odid_time_s(round(float(msg.timestamp), 3), received_s, extra)
        alt_m, alt_frame = _location_altitude(msg, extra)
        uas_id, id_type, ua_type = b.remote_id()
        return Detection(
            time_s=time_s,
            source=self.source,
            sensor_id=self._sensor(msg),
            sensor_kind=SensorKind.REMOTE_ID,
            lat_deg=lat_deg,
            lon_deg=lon_deg,
            alt_m=alt_m,
            alt_frame=alt_frame,
            position_error_m=ODID_HOR_ACC_M.get(int(msg.horizontal_accuracy)),
            ground_speed_mps=_odid_speed(msg.speed_horizontal),
            track_deg=_odid_direction(msg.direction),
            vertical_rate_mps=_odid_vspeed(msg.speed_vertical),
            remote_id=uas_id,
            remote_id_type=id_type,
            ua_type=ua_type,
            operator_id=b.operator_id,
            operator_lat_deg=b.operator_lat_deg,
            operator_lon_deg=b.operator_lon_deg,
            self_id=b.self_id,
            mavlink_sysid=sender if own else None,
            received_s=received_s,
            extra=extra,
        )


BroadcasterKey = tuple[int, int, bytes]  # sender sysid, compid, id_or_mac (b"": its own)


def _key(msg: Any) -> BroadcasterKey:
    mac = bytes(getattr(msg, "id_or_mac", b"") or b"")  # SYSTEM_UPDATE has none
    return (msg.get_srcSystem(), msg.get_srcComponent(), mac if any(mac) else b"")


def _first(a: float | None, b: float | None) -> float | None:
    return a if a is not None else b


def _after_s(d: Detection, received_s: float) -> float:
    """How long after ``d`` was received ``received_s`` is (0 when it has no receive time)."""
    return 0.0 if d.received_s is None else round(received_s - d.received_s, 3)


# ------------------------------------------------------------------- ADS-B


def adsb_vehicle(msg: Any, received_s: float, source: str, sensor_id: str) -> Detection | None:
    """ADSB_VEHICLE -> a detection (None without valid coordinates); raises Malformed."""
    flags = int(msg.flags)
    if not flags & ADSB_FLAGS_VALID_COORDS:
        return None
    lat_deg, lon_deg = msg.lat / 1e7, msg.lon / 1e7
    if not valid_lat_lon(lat_deg, lon_deg):
        raise Malformed(f"position {lat_deg}, {lon_deg} out of range")
    icao = int(msg.ICAO_address)
    if not 0 <= icao <= 0xFFFFFF:
        raise Malformed(f"ICAO address {icao} is not 24 bits")
    alt_m, alt_frame = None, None
    if flags & ADSB_FLAGS_VALID_ALTITUDE:
        alt_frame = _ADSB_ALT_FRAMES.get(int(msg.altitude_type))
        alt_m = msg.altitude / 1000.0 if alt_frame is not None else None
    extra: dict[str, Any] = {"flags": flags, "tslc_s": int(msg.tslc)}
    if flags & ADSB_FLAGS_VALID_SQUAWK:
        extra["squawk"] = int(msg.squawk)
    if flags & ADSB_FLAGS_SIMULATED:
        extra["simulated"] = True
    extra["relayed_by_sysid"] = msg.get_srcSystem()
    return Detection(
        time_s=received_s - int(msg.tslc),
        source=source,
        sensor_id=sensor_id,
        sensor_kind=SensorKind.ADSB,
        lat_deg=lat_deg,
        lon_deg=lon_deg,
        alt_m=alt_m,
        alt_frame=alt_frame,
        ground_speed_mps=msg.hor_velocity / 100.0 if flags & ADSB_FLAGS_VALID_VELOCITY else None,
        track_deg=msg.heading / 100.0 if flags & ADSB_FLAGS_VALID_HEADING else None,
        vertical_rate_mps=(
            msg.ver_velocity / 100.0 if flags & ADSB_FLAGS_VERTICAL_VELOCITY_VALID else None
        ),
        icao_address=f"{icao:06X}",
        callsign=clean_text(msg.callsign) if flags & ADSB_FLAGS_VALID_CALLSIGN else None,
        emitter_type=int(msg.emitter_type),
        received_s=received_s,
        extra=extra,
    )


_ADSB_ALT_FRAMES = {
    ADSB_ALTITUDE_PRESSURE_QNH: AltFrame.PRESSURE,
    ADSB_ALTITUDE_GEOMETRIC: AltFrame.AMSL,
}


# -------------------------------------------------------- Remote ID fields


def odid_time_s(timestamp_s: float, received_s: float, extra: dict[str, Any]) -> float:
    """A LOCATION timestamp (seconds after the hour) as UNIX time; see the module docstring."""
    if not (math.isfinite(timestamp_s) and 0.0 <= timestamp_s < 3600.0):
        extra["time_from"] = "received"
        return received_s
    hour_s = math.floor(received_s / 3600.0) * 3600.0
    utc_s = hour_s + timestamp_s
    utc_s += 3600.0 * round((received_s - utc_s) / 3600.0)  # the hour nearest the receipt
    if -ODID_MAX_AGE_S <= utc_s - received_s <= ODID_MAX_AHEAD_S:
        return utc_s
    gps_s = utc_s - GPS_MINUS_UTC_S
    gps_s += 3600.0 * round((received_s - gps_s) / 3600.0)
    if -ODID_MAX_AGE_S <= gps_s - received_s <= ODID_MAX_AHEAD_S:
        extra["odid_clock"] = "gps"
        return gps_s
    extra["time_from"] = "received"
    return received_s


def _odid_alt(value: float) -> float | None:
    v = float(value)
    if not math.isfinite(v) or v <= ODID_ALT_UNKNOWN_M:
        return None
    return round(v, 3)  # float32 on the wire: 20.1, not 20.100000381469727


def _location_altitude(msg: Any, extra: dict[str, Any]) -> tuple[float | None, AltFrame | None]:
    geodetic = _odid_alt(msg.altitude_geodetic)
    baro = _odid_alt(msg.altitude_barometric)
    height = _odid_alt(msg.height)
    ref = int(msg.height_reference)
    height_frame = {
        ODID_HEIGHT_OVER_TAKEOFF: AltFrame.ABOVE_TAKEOFF,
        ODID_HEIGHT_OVER_GROUND: AltFrame.ABOVE_GROUND,
    }.get(ref)
    if height_frame is None:
        height = None
    if baro is not None:
        extra["alt_baro_m"] = baro
    if height is not None and height_frame is not None:
        extra["height_m"], extra["height_ref"] = height, str(height_frame)
    if geodetic is not None:
        return geodetic, AltFrame.AMSL
    if height is not None:
        return height, height_frame
    if baro is not None:
        return baro, AltFrame.PRESSURE
    return None, None


def _odid_speed(cms: int) -> float | None:
    if cms >= ODID_SPEED_UNKNOWN_CMS or cms < 0:
        return None
    return min(cms, ODID_SPEED_MAX_CMS) / 100.0


def _odid_vspeed(cms: int) -> float | None:
    return None if abs(cms) >= ODID_VSPEED_UNKNOWN_CMS else cms / 100.0


def _odid_direction(cdeg: int) -> float | None:
    return None if not 0 <= cdeg < 36000 else cdeg / 100.0


def _uas_id(raw: Any) -> str | None:
    """uas_id bytes as text (serial numbers, registrations), or hex when not printable."""
    data = bytes(raw) if not isinstance(raw, str) else raw.encode("latin-1")
    data = data.rstrip(b"\0")
    if not data:
        return None
    if all(0x20 <= c < 0x7F for c in data):
        return data.decode("ascii").strip() or None
    return data.hex()
