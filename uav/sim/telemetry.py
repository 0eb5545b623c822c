"""The messages a ground station reads: HEARTBEAT, SYS_STATUS, positions, EKF, battery, home.

Field values follow the recordings: before the GPS fix (10.14 s) GLOBAL_POSITION_INT and
GPS_RAW_INT carry zeros; SYS_STATUS's sensor bits are SITL's, with the GPS bit from 9.89 s,
the AHRS bit from 22.64 s, the pre-arm bit while no pre-arm check fails, the geofence bit
enabled with FENCE_ENABLE and unhealthy during a breach; the battery stays at 12.6 V and
drains by current (about 28 A hovering, BATT_CAPACITY 3300 mAh).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from uav.sim import constants as c
from uav.sim.physics import e7

if TYPE_CHECKING:
    from uav.sim.vehicle import EmulatedVehicle

Builder = Callable[["EmulatedVehicle", Any], Any]
BUILDERS: dict[str, Builder] = {}

POSITION_TARGET_TYPE_MASK = 65016  # position only, as SITL echoes it
NAN4 = [math.nan] * 4


def builder(name: str) -> Callable[[Builder], Builder]:
    def register(func: Builder) -> Builder:
        BUILDERS[name] = func
        return func

    return register


def boot_ms(v: EmulatedVehicle) -> int:
    return int(v.now_s() * 1000)


def cdeg(rad: float) -> int:
    return round(math.degrees(rad) * 100) % 36000


def geo_now(v: EmulatedVehicle) -> tuple[float, float, float]:
    body = v.ap.body
    lat, lon = v.ap.origin.to_geo(body.north_m, body.east_m)
    return lat, lon, body.alt_m


def relative_alt_m(v: EmulatedVehicle) -> float:
    home = v.ap.home
    return v.ap.body.alt_m - home.alt_m if home is not None else 0.0


@builder("HEARTBEAT")
def heartbeat(v: EmulatedVehicle, mav: Any) -> Any:
    ap = v.ap
    if not v.boot_state().booted:
        return mav.heartbeat_encode(
            c.MAV_TYPE_QUADROTOR,
            c.MAV_AUTOPILOT_ARDUPILOTMEGA,
            c.BASE_MODE_BOOT,
            ap.mode,
            c.STATE_BOOT,
            3,
        )
    base = c.BASE_MODE_DISARMED
    if ap.guided_flag:
        base |= c.MODE_FLAG_GUIDED
    if ap.armed:
        base |= c.MODE_FLAG_ARMED
    status = ap.system_status(v.now_s())
    return mav.heartbeat_encode(
        c.MAV_TYPE_QUADROTOR, c.MAV_AUTOPILOT_ARDUPILOTMEGA, base, ap.mode, status, 3
    )


def sensor_bits(v: EmulatedVehicle) -> tuple[int, int, int]:
    """(present, enabled, health) MAV_SYS_STATUS_* bits."""
    boot, ap = v.boot_state(), v.ap
    present, enabled, health = c.SENSORS_PRESENT, c.SENSORS_ENABLED, c.SENSORS_HEALTH
    if boot.gps_detected:
        present, enabled, health = (x | c.SENSOR_GPS for x in (present, enabled, health))
    if boot.ahrs_healthy:
        enabled |= c.SENSOR_AHRS
        health |= c.SENSOR_AHRS
    if v.fence_enabled():
        enabled |= c.SENSOR_GEOFENCE
    if v.fence_breached():
        health &= ~c.SENSOR_GEOFENCE
    if ap.armed:
        enabled |= c.SENSOR_POSITION_CONTROL | c.SENSOR_LOGGING
        health |= c.SENSOR_POSITION_CONTROL
    if not ap.prearm_failures():
        health |= c.SENSOR_PREARM_CHECK
    return present, enabled, health


def battery_remaining_pct(v: EmulatedVehicle) -> int:
    capacity = v.param("BATT_CAPACITY")
    if capacity <= 0:
        return -1
    return max(0, min(100, round(100.0 * (1.0 - v.ap.battery_used_mah / capacity))))


@builder("SYS_STATUS")
def sys_status(v: EmulatedVehicle, mav: Any) -> Any:
    present, enabled, health = sensor_bits(v)
    current_ca = round(v.ap.battery_current_a() * 100)
    voltage_mv = round(v.param("SIM_BATT_VOLTAGE") * 1000)
    return mav.sys_status_encode(
        present,
        enabled,
        health,
        0,
        voltage_mv,
        current_ca,
        battery_remaining_pct(v),
        0,
        0,
        0,
        0,
        0,
        0,
    )


@builder("BATTERY_STATUS")
def battery_status(v: EmulatedVehicle, mav: Any) -> Any:
    voltage_mv = round(v.param("SIM_BATT_VOLTAGE") * 1000)
    return mav.battery_status_encode(
        0,
        0,
        0,
        32767,
        [voltage_mv] + [65535] * 9,
        round(v.ap.battery_current_a() * 100),
        int(v.ap.battery_used_mah),
        int(v.ap.battery_used_wh * 36),  # hJ
        battery_remaining_pct(v),
        0,
        1,
    )


@builder("GPS_RAW_INT")
def gps_raw_int(v: EmulatedVehicle, mav: Any) -> Any:
    boot = v.boot_state()
    if not boot.gps_detected:
        return mav.gps_raw_int_encode(0, 0, 0, 0, 0, 65535, 65535, 0, 0, 0)
    if not boot.has_gps_position:
        return mav.gps_raw_int_encode(0, boot.gps_fix_type, 0, 0, 0, 121, 200, 0, 0, 3)
    lat, lon, alt = geo_now(v)
    body = v.ap.body
    cog = cdeg(math.atan2(body.ve_mps, body.vn_mps)) if body.ground_speed_mps > 0.2 else 0
    alt_mm = round(alt * 1000)
    return mav.gps_raw_int_encode(
        int(v.now_s() * 1e6),
        boot.gps_fix_type,
        e7(lat),
        e7(lon),
        alt_mm,
        121,
        200,
        round(body.ground_speed_mps * 100),
        cog,
        boot.gps_satellites,
        alt_mm,
        300,
        300,
        0,
        0,
        0,
    )


@builder("GLOBAL_POSITION_INT")
def global_position_int(v: EmulatedVehicle, mav: Any) -> Any:
    body = v.ap.body
    hdg = cdeg(body.yaw_rad)
    velocity = (round(body.vn_mps * 100), round(body.ve_mps * 100))
    vz = round(-body.vu_mps * 100)
    if not v.boot_state().has_gps_position:
        return mav.global_position_int_encode(boot_ms(v), 0, 0, 0, 0, *velocity, vz, hdg)
    lat, lon, alt = geo_now(v)
    return mav.global_position_int_encode(
        boot_ms(v),
        e7(lat),
        e7(lon),
        round(alt * 1000),
        round(relative_alt_m(v) * 1000),
        *velocity,
        vz,
        hdg,
    )


@builder("LOCAL_POSITION_NED")
def local_position_ned(v: EmulatedVehicle, mav: Any) -> Any:
    if not v.boot_state().using_gps:
        return None
    body = v.ap.body
    down_m = v.ap.origin.alt_amsl_m - body.alt_m
    return mav.local_position_ned_encode(
        boot_ms(v), body.north_m, body.east_m, down_m, body.vn_mps, body.ve_mps, -body.vu_mps
    )


@builder("ATTITUDE")
def attitude(v: EmulatedVehicle, mav: Any) -> Any:
    body = v.ap.body
    roll, pitch = body.tilt()
    return mav.attitude_encode(boot_ms(v), roll, pitch, body.yaw_rad, 0.0, 0.0, body.yaw_rate_radps)


@builder("VFR_HUD")
def vfr_hud(v: EmulatedVehicle, mav: Any) -> Any:
    body = v.ap.body
    alt = body.alt_m if v.boot_state().has_gps_position else 0.0
    speed = body.ground_speed_mps
    heading = round(math.degrees(body.yaw_rad)) % 360
    return mav.vfr_hud_encode(speed, speed, heading, v.ap.throttle_pct(), alt, body.vu_mps)


@builder("EKF_STATUS_REPORT")
def ekf_status_report(v: EmulatedVehicle, mav: Any) -> Any:
    boot = v.boot_state()
    flags = c.EKF_FLAGS_UNINITIALISED
    if boot.using_gps:
        flags = c.EKF_FLAGS_USING_GPS
    elif boot.ekf_initialised:
        flags = c.EKF_FLAGS_NO_POSITION
    return mav.ekf_status_report_encode(flags, 0.01, 0.004, 0.001, 0.006, 0.0, 0.0)


@builder("SYSTEM_TIME")
def system_time(v: EmulatedVehicle, mav: Any) -> Any:
    now = v.now_s()
    unix_us = int(v.clock.unix_s(now) * 1e6) if v.boot_state().has_gps_position else 0
    return mav.system_time_encode(unix_us, int(now * 1000))


@builder("MISSION_CURRENT")
def mission_current(v: EmulatedVehicle, mav: Any) -> Any:
    auto = v.ap.auto
    mission_mode = 1 if v.ap.mode == c.AUTO else 0
    total = len(v.mission_items())
    return mav.mission_current_encode(auto.current_seq(), total, auto.mission_state(), mission_mode)


@builder("HOME_POSITION")
def home_position(v: EmulatedVehicle, mav: Any) -> Any:
    home = v.ap.home
    geo = v.ap.home_geo()
    if home is None or geo is None:
        return None
    down_m = v.ap.origin.alt_amsl_m - home.alt_m
    return mav.home_position_encode(
        e7(geo[0]),
        e7(geo[1]),
        round(geo[2] * 1000),
        home.north_m,
        home.east_m,
        down_m,
        NAN4,
        0.0,
        0.0,
        0.0,
        int(v.now_s() * 1e6),
    )


@builder("GPS_GLOBAL_ORIGIN")
def gps_global_origin(v: EmulatedVehicle, mav: Any) -> Any:
    if not v.boot_state().origin_set:
        return None
    origin = v.ap.origin
    return mav.gps_global_origin_encode(
        e7(origin.lat_deg),
        e7(origin.lon_deg),
        round(origin.alt_amsl_m * 1000),
        int(v.now_s() * 1e6),
    )


@builder("POSITION_TARGET_GLOBAL_INT")
def position_target_global_int(v: EmulatedVehicle, mav: Any) -> Any:
    flight = v.ap.flight
    target = flight.target
    if target is None or not flight.position_target or not v.ap.armed:
        return None
    lat, lon = v.ap.origin.to_geo(target.north_m, target.east_m)
    return mav.position_target_global_int_encode(
        boot_ms(v), 0, POSITION_TARGET_TYPE_MASK, e7(lat), e7(lon), target.alt_m, *[0.0] * 8
    )


@builder("NAV_CONTROLLER_OUTPUT")
def nav_controller_output(v: EmulatedVehicle, mav: Any) -> Any:
    body, target = v.ap.body, v.ap.flight.target
    roll, pitch = body.tilt()
    bearing = distance = 0
    alt_error = 0.0
    if target is not None and v.ap.armed:
        dn, de = target.north_m - body.north_m, target.east_m - body.east_m
        bearing = round(math.degrees(math.atan2(de, dn))) % 360
        distance = min(int(math.hypot(dn, de)), 65535)
        alt_error = target.alt_m - body.alt_m
    heading = round(math.degrees(body.yaw_rad)) % 360
    return mav.nav_controller_output_encode(
        math.degrees(roll), math.degrees(pitch), heading, bearing, distance, alt_error, 0.0, 0.0
    )


@builder("WIND")
def wind(v: EmulatedVehicle, mav: Any) -> Any:
    if not v.boot_state().using_gps:
        return None
    return mav.wind_encode(-180.0, 0.0, 0.0)


@builder("FENCE_STATUS")
def fence_status(v: EmulatedVehicle, mav: Any) -> Any:
    return v.fence_status(mav)


@builder("ADSB_VEHICLE")
def adsb_vehicle(v: EmulatedVehicle, mav: Any) -> Any:
    return v.adsb_messages(mav)


def autopilot_version(mav: Any) -> Any:
    return mav.autopilot_version_encode(
        c.CAPABILITIES,
        c.FLIGHT_SW_VERSION,
        0,
        0,
        0,
        list(c.FIRMWARE_GIT_HASH),
        [0] * 8,
        [0] * 8,
        0,
        0,
        0,
        list(c.UID2),
    )


def statustext(mav: Any, severity: int, text: str) -> Any:
    """STATUSTEXT (id 0, chunk 0: texts longer than 50 characters are cut)."""
    return mav.statustext_encode(severity, text.encode("utf-8")[:50], 0, 0)
