"""Remote ID (OpenDroneID) as ArduCopter does it with DID_ENABLE=1 and a MAVLink DID_MAVPORT.

Observed (README scenario 6, remoteid.jsonl), all from the vehicle's sysid/compid:

* OPEN_DRONE_ID_SYSTEM_UPDATE at 1 Hz from t = 2.54 s; OPEN_DRONE_ID_LOCATION at 1 Hz on
  the same ticks, sent before it, once the GPS has a fix (10.54 s).
* BASIC_ID, SYSTEM, SELF_ID and OPERATOR_ID in rotation, 0.8 s apart, from 2.54 s. They are
  all zero until a ground station sends that message; then the vehicle repeats what it got
  byte for byte, target_system/component included. SYSTEM_UPDATE likewise echoes the last
  one received (operator location 0 and target 0/0 before).
* Warnings (severity 4) ``ODID: lost transmitter`` (no OPEN_DRONE_ID_ARM_STATUS for 5 s) and
  ``ODID: lost operator location`` (no SYSTEM_UPDATE for 5 s), at most every 5 s from a 10 Hz
  check: 5.04, 10.14, 15.24 ... s. ``ODID: transmitter OK`` (6) at the first check after
  ARM_STATUS arrives again. ARM_STATUS counts only on the DID_MAVPORT link.
* LOCATION: status 1 GROUND, lat/lon/altitude_geodetic from the GPS, altitude_barometric
  0.417 m below it, height_reference 0 (takeoff) and height = relative altitude, accuracies
  12/6/0/4, timestamp = GPS seconds past the hour, timestamp_accuracy 10, target 0/0.

*Choices:* status 2 AIRBORNE while armed; direction = course over ground in cdeg while
moving faster than 0.1 m/s (SITL shows GPS noise when standing; the last course, initially 0,
is repeated); GPS time = UNIX time + 18 s, in 0.1 s steps; a SYSTEM also sets the operator
location that SYSTEM_UPDATE reports, and a SYSTEM_UPDATE updates the SYSTEM echo's operator
location and timestamp.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from uav.sim.interfaces import LinkPort, Position, VehicleServices

FIRST_SEND_MS = 2540
SEND_PERIOD_MS = 1000
ROTATION_PERIOD_MS = 800
CHECK_PHASE_MS = 40
CHECK_PERIOD_MS = 100
LOST_AFTER_MS = 5000
WARN_EVERY_MS = 5000
GPS_MINUS_UNIX_S = 18.0
ODID_EPOCH_UNIX_S = 1546300800  # 2019-01-01, the epoch of OPEN_DRONE_ID_SYSTEM.timestamp
BARO_BELOW_GEODETIC_M = 0.41732
SEV_WARNING = 4
SEV_INFO = 6

STATIC_TYPES = (
    "OPEN_DRONE_ID_BASIC_ID",
    "OPEN_DRONE_ID_SYSTEM",
    "OPEN_DRONE_ID_SELF_ID",
    "OPEN_DRONE_ID_OPERATOR_ID",
)
HANDLED_TYPES = frozenset(STATIC_TYPES) | {
    "OPEN_DRONE_ID_SYSTEM_UPDATE",
    "OPEN_DRONE_ID_ARM_STATUS",
}
_ZERO_ID = [0] * 20


def field_values(msg: Any) -> list[Any]:
    """A message's fields in order, char arrays as their raw bytes (for byte-exact echoes)."""
    return [getattr(msg, f"_{name}_raw", getattr(msg, name)) for name in msg.fieldnames]


def gps_timestamp_s(unix_s: float) -> float:
    """OpenDroneID LOCATION timestamp: GPS seconds past the full hour, 0.1 s resolution."""
    return math.floor(((unix_s + GPS_MINUS_UNIX_S) % 3600.0) * 10.0) / 10.0


def location_fields(
    position: Position, *, armed: bool, direction_cdeg: int, unix_s: float
) -> dict[str, Any]:
    """The OPEN_DRONE_ID_LOCATION fields (without targets and id_or_mac) for a position."""
    return {
        "status": 2 if armed else 1,
        "direction": direction_cdeg,
        "speed_horizontal": min(round(math.hypot(position.vn_mps, position.ve_mps) * 100), 25425),
        "speed_vertical": max(-6200, min(6200, round(-position.vd_mps * 100))),
        "latitude": round(position.lat_deg * 1e7),
        "longitude": round(position.lon_deg * 1e7),
        "altitude_barometric": position.alt_amsl_m - BARO_BELOW_GEODETIC_M,
        "altitude_geodetic": position.alt_amsl_m,
        "height_reference": 0,
        "height": position.relative_alt_m,
        "horizontal_accuracy": 12,
        "vertical_accuracy": 6,
        "barometer_accuracy": 0,
        "speed_accuracy": 4,
        "timestamp": gps_timestamp_s(unix_s),
        "timestamp_accuracy": 10,
    }


class RemoteIdTransponder:
    """The vehicle's own Remote ID output and its checks on the GCS/transmitter."""

    def __init__(
        self,
        services: VehicleServices,
        gps_position: Callable[[], Position | None],
        unix_time_at_boot_s: float,
    ) -> None:
        self._services = services
        self._gps_position = gps_position
        self._unix_boot_s = unix_time_at_boot_s
        self._static: dict[str, list[Any] | None] = dict.fromkeys(STATIC_TYPES)
        self._system_update: list[Any] | None = None
        self._last_arm_status_ms = 0
        self._last_operator_ms = 0
        self._last_warn_ms: int | None = None
        self._transmitter_lost = False
        self._next_check_ms = CHECK_PHASE_MS
        self._next_send_ms = FIRST_SEND_MS
        self._next_rotation_ms = FIRST_SEND_MS
        self._rotation = 0
        self._direction_cdeg = 0

    # ----------------------------------------------------------------- settings

    def enabled(self) -> bool:
        return self._param("DID_ENABLE", 0) == 1 and self.port() is not None

    def port(self) -> int | None:
        """DID_MAVPORT: the serial port (link index) that carries Remote ID, or None."""
        port = int(self._param("DID_MAVPORT", -1))
        return port if port >= 0 else None

    # ----------------------------------------------------------------- incoming

    def handle(self, msg: Any, link: LinkPort) -> bool:
        kind = msg.get_type()
        if kind not in HANDLED_TYPES:
            return False
        if not self.enabled():
            return True
        now_ms = self._now_ms()
        if kind == "OPEN_DRONE_ID_ARM_STATUS":
            if link.index == self.port():
                self._last_arm_status_ms = now_ms
        elif kind == "OPEN_DRONE_ID_SYSTEM_UPDATE":
            self._on_system_update(msg, now_ms)
        else:
            self._static[kind] = field_values(msg)
            if kind == "OPEN_DRONE_ID_SYSTEM":
                self._on_system(msg, now_ms)
        return True

    def _on_system_update(self, msg: Any, now_ms: int) -> None:
        self._system_update = field_values(msg)
        self._last_operator_ms = now_ms
        system = self._static["OPEN_DRONE_ID_SYSTEM"]
        if system is not None:
            for name in ("operator_latitude", "operator_longitude", "operator_altitude_geo"):
                system[_SYSTEM_FIELDS.index(name)] = getattr(msg, name)
            system[_SYSTEM_FIELDS.index("timestamp")] = msg.timestamp

    def _on_system(self, msg: Any, now_ms: int) -> None:
        self._last_operator_ms = now_ms
        self._system_update = [
            msg.target_system, msg.target_component, msg.operator_latitude,
            msg.operator_longitude, msg.operator_altitude_geo, msg.timestamp,
        ]  # fmt: skip

    # ------------------------------------------------------------------- checks

    def update(self) -> None:
        """The 10 Hz health check: lost/OK texts."""
        now_ms = self._now_ms()
        if now_ms < self._next_check_ms:
            return
        self._next_check_ms = _next_tick(now_ms, CHECK_PHASE_MS, CHECK_PERIOD_MS)
        if self.enabled():
            self._check(self._next_check_ms - CHECK_PERIOD_MS)

    def _check(self, now_ms: int) -> None:
        """One run of the 10 Hz task, at its scheduled time ``now_ms``."""
        tx_lost = now_ms - self._last_arm_status_ms > LOST_AFTER_MS
        operator_lost = now_ms - self._last_operator_ms > LOST_AFTER_MS
        if self._transmitter_lost and not tx_lost:
            self._services.statustext(SEV_INFO, "ODID: transmitter OK")
        self._transmitter_lost = self._transmitter_lost and tx_lost
        warn_due = self._last_warn_ms is None or now_ms - self._last_warn_ms > WARN_EVERY_MS
        if warn_due and (tx_lost or operator_lost):
            self._last_warn_ms = now_ms
            if tx_lost:
                self._transmitter_lost = True
                self._services.statustext(SEV_WARNING, "ODID: lost transmitter")
            if operator_lost:
                self._services.statustext(SEV_WARNING, "ODID: lost operator location")

    # ------------------------------------------------------------------ outgoing

    def messages(self, mav: Any) -> list[Any]:
        """The messages due now, in the order the vehicle sends them."""
        if not self.enabled():
            return []
        now_ms = self._now_ms()
        out: list[Any] = []
        if now_ms >= self._next_send_ms:
            self._next_send_ms = _next_tick(now_ms, FIRST_SEND_MS, SEND_PERIOD_MS)
            location = self._location(mav)
            if location is not None:
                out.append(location)
            out.append(mav.open_drone_id_system_update_encode(*self._system_update_fields()))
        if now_ms >= self._next_rotation_ms:
            self._next_rotation_ms = _next_tick(now_ms, FIRST_SEND_MS, ROTATION_PERIOD_MS)
            out.append(self._static_message(mav, STATIC_TYPES[self._rotation]))
            self._rotation = (self._rotation + 1) % len(STATIC_TYPES)
        return out

    def _location(self, mav: Any) -> Any | None:
        position = self._gps_position()
        if position is None:
            return None
        if math.hypot(position.vn_mps, position.ve_mps) > 0.1:
            course = math.degrees(math.atan2(position.ve_mps, position.vn_mps)) % 360.0
            self._direction_cdeg = round(course * 100) % 36000
        fields = location_fields(
            position,
            armed=self._services.is_armed(),
            direction_cdeg=self._direction_cdeg,
            unix_s=self._unix_boot_s + self._services.now_s(),
        )
        return mav.open_drone_id_location_encode(0, 0, _ZERO_ID, **fields)

    def _system_update_fields(self) -> list[Any]:
        if self._system_update is None:
            return [0, 0, 0, 0, 0.0, 0]
        return list(self._system_update)

    def _static_message(self, mav: Any, kind: str) -> Any:
        encode = getattr(mav, kind.lower() + "_encode")
        values = self._static[kind]
        return encode(*values) if values is not None else encode(*_ZERO_FIELDS[kind])

    # ------------------------------------------------------------------ helpers

    def _now_ms(self) -> int:
        return round(self._services.now_s() * 1000)

    def _param(self, name: str, default: float) -> float:
        try:
            return float(self._services.param(name))
        except KeyError:
            return default


def _next_tick(now_ms: int, phase_ms: int, period_ms: int) -> int:
    """The first tick phase + k·period strictly after ``now_ms``."""
    if now_ms < phase_ms:
        return phase_ms
    return phase_ms + ((now_ms - phase_ms) // period_ms + 1) * period_ms


_SYSTEM_FIELDS = [
    "target_system", "target_component", "id_or_mac", "operator_location_type",
    "classification_type", "operator_latitude", "operator_longitude", "area_count",
    "area_radius", "area_ceiling", "area_floor", "category_eu", "class_eu",
    "operator_altitude_geo", "timestamp",
]  # fmt: skip

_ZERO_FIELDS: dict[str, list[Any]] = {
    "OPEN_DRONE_ID_BASIC_ID": [0, 0, _ZERO_ID, 0, 0, _ZERO_ID],
    "OPEN_DRONE_ID_SYSTEM": [0, 0, _ZERO_ID, 0, 0, 0, 0, 0, 0, 0.0, 0.0, 0, 0, 0.0, 0],
    "OPEN_DRONE_ID_SELF_ID": [0, 0, _ZERO_ID, 0, b""],
    "OPEN_DRONE_ID_OPERATOR_ID": [0, 0, _ZERO_ID, 0, b""],
}
