"""The vehicle as the link last heard it: one immutable :class:`VehicleState` snapshot.

:func:`apply_message` folds one received MAVLink message into a new snapshot. It is a pure
function, so recorded traces can be replayed through it. Only messages from the vehicle's
autopilot (its system id, component 1) change the snapshot; STATUSTEXTs are taken from every
component of the vehicle. Field sources (units in the names):

* HEARTBEAT: mode (custom_mode, ArduCopter table), base_mode, armed, system_status.
* SYS_STATUS: battery % and voltage, fence enabled (GEOFENCE sensor bit), pre-arm checks
  passed (PREARM_CHECK health bit).
* GPS_RAW_INT: fix type, satellites. GLOBAL_POSITION_INT: lat/lon (None while the vehicle
  reports 0/0, i.e. before its EKF origin is set), altitude above home and AMSL, ground speed,
  heading. HOME_POSITION: home. EKF_STATUS_REPORT: flags. FENCE_STATUS: breach.
  MISSION_CURRENT: current item, total, state. GLOBAL_POSITION_INT vx/vy/vz also give the
  velocity north/east/down (the course over the ground, not the heading: heading is yaw).
* Vehicle UTC: SYSTEM_TIME ``time_unix_usec`` (0 until the vehicle has GPS time: then
  None), with the boot time it was taken at, so :attr:`VehicleState.vehicle_unix_now_s` can
  carry it forward on the vehicle's clock between SYSTEM_TIMEs.
* Vehicle clock: ``time_boot_ms`` of any message carrying it (SYSTEM_TIME, ATTITUDE,
  GLOBAL_POSITION_INT, ...) and the vehicle's own TIMESYNC requests (``ts1`` in ns). It runs
  at the simulator's speed-up.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from uav.link.modes import mode_name
from uav.timeutil import from_epoch, now_utc

MAV_TYPE_GCS = 6
MAV_MODE_FLAG_SAFETY_ARMED = 128
MAV_SYS_STATUS_GEOFENCE = 1 << 20
MAV_SYS_STATUS_PREARM_CHECK = 1 << 28
EKF_POS_HORIZ_ABS = 16
EKF_CONST_POS_MODE = 128
STATUSTEXTS_KEPT = 32

# MAV_SEVERITY
SEVERITY_WARNING = 4
SEVERITY_INFO = 6


class LinkStatus(StrEnum):
    CONNECTING = "connecting"  # opening, no vehicle HEARTBEAT yet
    CONNECTED = "connected"
    LOST = "lost"  # the vehicle went quiet or the connection dropped; reconnecting
    FAILED = "failed"  # reconnecting gave up
    CLOSED = "closed"  # close() was called


@dataclass(frozen=True)
class Home:
    lat_deg: float
    lon_deg: float
    alt_amsl_m: float


@dataclass(frozen=True)
class StatusText:
    index: int  # running number of STATUSTEXTs received on this link (1, 2, ...)
    severity: int  # MAV_SEVERITY: 0 EMERGENCY .. 2 CRITICAL .. 4 WARNING .. 6 INFO, 7 DEBUG
    text: str
    vehicle_time_s: float | None
    wall_time_s: float


@dataclass(frozen=True)
class VehicleState:
    version: int = 0  # goes up with every change
    link: LinkStatus = LinkStatus.CONNECTING
    link_detail: str = ""
    reconnects: int = 0
    last_heard_wall_s: float | None = None  # UNIX time of the last message from the vehicle
    last_heartbeat_wall_s: float | None = None
    vehicle_time_s: float | None = None  # vehicle seconds since boot (its own clock)
    system_id: int | None = None
    vehicle_type: int | None = None  # MAV_TYPE
    custom_mode: int | None = None
    mode_name: str | None = None
    base_mode: int | None = None
    armed: bool | None = None
    system_status: int | None = None  # MAV_STATE: 3 STANDBY, 4 ACTIVE, ...
    gps_fix_type: int | None = None  # GPS_FIX_TYPE: 3 3D, 6 RTK fixed, ...
    satellites: int | None = None
    lat_deg: float | None = None
    lon_deg: float | None = None
    alt_rel_m: float | None = None  # above home
    alt_amsl_m: float | None = None
    groundspeed_mps: float | None = None
    heading_deg: float | None = None
    climb_mps: float | None = None
    vn_mps: float | None = None  # velocity north (GLOBAL_POSITION_INT vx)
    ve_mps: float | None = None  # velocity east (vy)
    vd_mps: float | None = None  # velocity down (vz): climbing is negative
    vehicle_unix_s: float | None = None  # the vehicle's UTC (SYSTEM_TIME), None without GPS time
    vehicle_unix_boot_s: float | None = None  # the vehicle boot time that UTC was taken at
    battery_pct: int | None = None
    voltage_v: float | None = None
    fence_enabled: bool | None = None
    fence_breached: bool | None = None
    fence_breach_count: int | None = None
    fence_breach_type: int | None = None  # FENCE_BREACH: 1 MINALT, 2 MAXALT, 3 BOUNDARY
    prearm_ok: bool | None = None
    ekf_flags: int | None = None
    home: Home | None = None
    mission_seq: int | None = None
    mission_total: int | None = None
    mission_state: int | None = None  # MISSION_STATE: 1 NO_MISSION .. 3 ACTIVE .. 5 COMPLETE
    statustexts: tuple[StatusText, ...] = ()
    statustext_count: int = 0
    rx_count: int = 0  # messages applied from the vehicle
    bad_data_count: int = 0  # bytes pymavlink could not use (console text, bad signatures)
    rx_signed: bool | None = None  # whether the last vehicle message was signed (and verified)

    @property
    def connected(self) -> bool:
        return self.link == LinkStatus.CONNECTED

    @property
    def position_ok(self) -> bool:
        """The EKF has an absolute horizontal position (POS_HORIZ_ABS, not CONST_POS_MODE)."""
        flags = self.ekf_flags
        if flags is None:
            return False
        return bool(flags & EKF_POS_HORIZ_ABS) and not flags & EKF_CONST_POS_MODE

    @property
    def vehicle_unix_now_s(self) -> float | None:
        """The vehicle's UTC (UNIX seconds) at its latest message: the last SYSTEM_TIME
        carried forward on the vehicle's clock; None while the vehicle has no GPS time."""
        unix, at_boot, now_boot = (
            self.vehicle_unix_s,
            self.vehicle_unix_boot_s,
            self.vehicle_time_s,
        )
        if unix is None:
            return None
        if at_boot is None or now_boot is None or now_boot < at_boot:
            return unix
        return unix + (now_boot - at_boot)

    def utc_clock(self) -> tuple[datetime, str]:
        """The instant schedules are judged at, and whose clock it is: the vehicle's UTC
        (``"vehicle"``), else the ground's (``"ground"``)."""
        unix = self.vehicle_unix_now_s
        if unix is None:
            return now_utc(), "ground"
        return from_epoch(unix), "vehicle"

    @property
    def home_amsl_m(self) -> float | None:
        """Home's altitude above sea level: HOME_POSITION, else the drone's AMSL altitude minus
        its altitude above home (GLOBAL_POSITION_INT carries both); None when neither."""
        if self.home is not None:
            return self.home.alt_amsl_m
        if self.alt_amsl_m is not None and self.alt_rel_m is not None:
            return self.alt_amsl_m - self.alt_rel_m
        return None

    def texts_since(self, index: int, max_severity: int = SEVERITY_INFO) -> tuple[str, ...]:
        """STATUSTEXTs received after text number ``index`` with severity <= max_severity."""
        return tuple(
            t.text for t in self.statustexts if t.index > index and t.severity <= max_severity
        )


Changes = dict[str, Any]


def with_link(state: VehicleState, link: LinkStatus, detail: str = "") -> VehicleState:
    """The same snapshot with another link status."""
    return replace(state, link=link, link_detail=detail, version=state.version + 1)


def apply_bad_data(state: VehicleState) -> VehicleState:
    return replace(state, bad_data_count=state.bad_data_count + 1, version=state.version + 1)


def apply_message(
    state: VehicleState,
    msg: Any,
    *,
    wall_s: float,
    target_system: int,
    target_component: int = 1,
) -> VehicleState:
    """Fold one received message into a new snapshot (the same one if it does not apply)."""
    kind = msg.get_type()
    if kind == "BAD_DATA":
        return apply_bad_data(state)
    if msg.get_srcSystem() != target_system:
        return state
    if kind == "STATUSTEXT":
        changes = _statustext(state, msg, wall_s)
    elif msg.get_srcComponent() != target_component:
        return state
    else:
        handler = _HANDLERS.get(kind)
        changes = handler(state, msg) if handler else {}
        if "custom_mode" in changes:  # a HEARTBEAT from the vehicle itself
            changes["last_heartbeat_wall_s"] = wall_s
    vehicle_time_s = _vehicle_time_s(msg)
    if vehicle_time_s is not None:
        changes["vehicle_time_s"] = vehicle_time_s
    return replace(
        state,
        **changes,
        version=state.version + 1,
        rx_count=state.rx_count + 1,
        last_heard_wall_s=wall_s,
        system_id=target_system,
        rx_signed=bool(msg.get_signed()),
    )


def _vehicle_time_s(msg: Any) -> float | None:
    if msg.get_type() == "TIMESYNC":
        return msg.ts1 / 1e9 if msg.tc1 == 0 and msg.ts1 > 0 else None
    ms = getattr(msg, "time_boot_ms", None)
    return ms / 1000.0 if isinstance(ms, int) and ms > 0 else None


def _heartbeat(state: VehicleState, msg: Any) -> Changes:
    if msg.type == MAV_TYPE_GCS:
        return {}
    return {
        "vehicle_type": msg.type,
        "custom_mode": msg.custom_mode,
        "mode_name": mode_name(msg.custom_mode),
        "base_mode": msg.base_mode,
        "armed": bool(msg.base_mode & MAV_MODE_FLAG_SAFETY_ARMED),
        "system_status": msg.system_status,
    }


def _sys_status(state: VehicleState, msg: Any) -> Changes:
    present = msg.onboard_control_sensors_present
    health = msg.onboard_control_sensors_health
    prearm = (
        bool(health & MAV_SYS_STATUS_PREARM_CHECK)
        if present & MAV_SYS_STATUS_PREARM_CHECK
        else None
    )
    return {
        "battery_pct": msg.battery_remaining if msg.battery_remaining >= 0 else None,
        "voltage_v": msg.voltage_battery / 1000.0 if msg.voltage_battery != 65535 else None,
        "fence_enabled": bool(msg.onboard_control_sensors_enabled & MAV_SYS_STATUS_GEOFENCE),
        "prearm_ok": prearm,
    }


def _gps_raw_int(state: VehicleState, msg: Any) -> Changes:
    sats = msg.satellites_visible
    return {"gps_fix_type": msg.fix_type, "satellites": sats if sats != 255 else None}


def _global_position_int(state: VehicleState, msg: Any) -> Changes:
    changes: Changes = {
        "groundspeed_mps": math.hypot(msg.vx, msg.vy) / 100.0,
        "climb_mps": -msg.vz / 100.0,
        "heading_deg": msg.hdg / 100.0 if msg.hdg != 65535 else None,
        "vn_mps": msg.vx / 100.0,
        "ve_mps": msg.vy / 100.0,
        "vd_mps": msg.vz / 100.0,
    }
    if msg.lat == 0 and msg.lon == 0:  # no EKF origin yet: the vehicle does not know where it is
        changes.update(lat_deg=None, lon_deg=None, alt_rel_m=None, alt_amsl_m=None)
    else:
        changes.update(
            lat_deg=msg.lat / 1e7,
            lon_deg=msg.lon / 1e7,
            alt_rel_m=msg.relative_alt / 1000.0,
            alt_amsl_m=msg.alt / 1000.0,
        )
    return changes


def _system_time(state: VehicleState, msg: Any) -> Changes:
    if msg.time_unix_usec <= 0:  # no GPS time yet
        return {"vehicle_unix_s": None, "vehicle_unix_boot_s": None}
    boot_ms = msg.time_boot_ms
    return {
        "vehicle_unix_s": msg.time_unix_usec / 1e6,
        "vehicle_unix_boot_s": boot_ms / 1000.0 if boot_ms > 0 else None,
    }


def _home_position(state: VehicleState, msg: Any) -> Changes:
    home = Home(msg.latitude / 1e7, msg.longitude / 1e7, msg.altitude / 1000.0)
    return {"home": home}


def _ekf_status_report(state: VehicleState, msg: Any) -> Changes:
    return {"ekf_flags": msg.flags}


def _fence_status(state: VehicleState, msg: Any) -> Changes:
    return {
        "fence_breached": bool(msg.breach_status),
        "fence_breach_count": msg.breach_count,
        "fence_breach_type": msg.breach_type,
    }


def _mission_current(state: VehicleState, msg: Any) -> Changes:
    return {
        "mission_seq": msg.seq,
        "mission_total": getattr(msg, "total", None),
        "mission_state": getattr(msg, "mission_state", None),
    }


def _statustext(state: VehicleState, msg: Any, wall_s: float) -> Changes:
    index = state.statustext_count + 1
    text = StatusText(index, msg.severity, msg.text, state.vehicle_time_s, wall_s)
    kept = (*state.statustexts, text)[-STATUSTEXTS_KEPT:]
    return {"statustexts": kept, "statustext_count": index}


_HANDLERS: dict[str, Callable[[VehicleState, Any], Changes]] = {
    "HEARTBEAT": _heartbeat,
    "SYS_STATUS": _sys_status,
    "GPS_RAW_INT": _gps_raw_int,
    "GLOBAL_POSITION_INT": _global_position_int,
    "HOME_POSITION": _home_position,
    "SYSTEM_TIME": _system_time,
    "EKF_STATUS_REPORT": _ekf_status_report,
    "FENCE_STATUS": _fence_status,
    "MISSION_CURRENT": _mission_current,
}
