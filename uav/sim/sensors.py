"""The rest of the streamed messages: raw sensors, RC, servos, terrain, vibration.

Values are SITL's resting values from boot.jsonl (accelerometer -1001 mG, magnetometer
378/-21/261, 1010.84 hPa at the ground, RC1-8 1500/1500/1000/1500/1800/1000/1000/1800,
motors at 1000 us disarmed), made to follow the point mass where that is cheap (pressure
with altitude, motor outputs with throttle, accelerations with the tilt).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from uav.sim.constants import GRAVITY_MSS
from uav.sim.physics import e7
from uav.sim.telemetry import boot_ms, builder, geo_now

if TYPE_CHECKING:
    from uav.sim.vehicle import EmulatedVehicle

GROUND_PRESSURE_HPA = 1010.83777
MAG_MGAUSS = (378, -21, 261)
RC_CHANNELS_US = (1500, 1500, 1000, 1500, 1800, 1000, 1000, 1800)
TERRAIN_MASK = 0x00FFFFFFFFFFFFFF


def pressure_hpa(v: EmulatedVehicle) -> float:
    height_m = v.ap.body.alt_m - v.ap.origin.alt_amsl_m
    return GROUND_PRESSURE_HPA * (1.0 - 2.25577e-5 * height_m) ** 5.25588


def accel_mg(v: EmulatedVehicle) -> tuple[int, int, int]:
    roll, pitch = v.ap.body.tilt()
    return (
        round(1000.0 * math.sin(pitch)),
        round(-1000.0 * math.sin(roll)),
        -round(1001 * math.cos(roll) * math.cos(pitch)),
    )


@builder("RAW_IMU")
def raw_imu(v: EmulatedVehicle, mav: Any) -> Any:
    ax, ay, az = accel_mg(v)
    return mav.raw_imu_encode(int(v.now_s() * 1e6), ax, ay, az, 0, 0, 0, *MAG_MGAUSS, 0, 2768)


@builder("SCALED_IMU2")
def scaled_imu2(v: EmulatedVehicle, mav: Any) -> Any:
    ax, ay, az = accel_mg(v)
    return mav.scaled_imu2_encode(boot_ms(v), ax, ay, az, 0, 0, 0, *MAG_MGAUSS, 2768)


@builder("SCALED_IMU3")
def scaled_imu3(v: EmulatedVehicle, mav: Any) -> Any:
    return mav.scaled_imu3_encode(boot_ms(v), 0, 0, 0, 0, 0, 0, *MAG_MGAUSS, 0)


@builder("SCALED_PRESSURE")
def scaled_pressure(v: EmulatedVehicle, mav: Any) -> Any:
    return mav.scaled_pressure_encode(boot_ms(v), pressure_hpa(v), 0.0, 3267, 0)


@builder("SCALED_PRESSURE2")
def scaled_pressure2(v: EmulatedVehicle, mav: Any) -> Any:
    return mav.scaled_pressure2_encode(boot_ms(v), pressure_hpa(v) + 0.0027, 0.0, 3267, 0)


@builder("POWER_STATUS")
def power_status(v: EmulatedVehicle, mav: Any) -> Any:
    return mav.power_status_encode(5000, 0, 0)


@builder("MEMINFO")
def meminfo(v: EmulatedVehicle, mav: Any) -> Any:
    return mav.meminfo_encode(0, 65535, 524288)


@builder("RC_CHANNELS")
def rc_channels(v: EmulatedVehicle, mav: Any) -> Any:
    return mav.rc_channels_encode(boot_ms(v), 8, *RC_CHANNELS_US, *[0] * 10, 255)


@builder("SERVO_OUTPUT_RAW")
def servo_output_raw(v: EmulatedVehicle, mav: Any) -> Any:
    motor_us = 1100 + 10 * v.ap.throttle_pct() if v.ap.armed else 1000
    return mav.servo_output_raw_encode(int(v.now_s() * 1e6), 0, *[motor_us] * 4, 0, 0, 0, 0)


@builder("AHRS")
def ahrs(v: EmulatedVehicle, mav: Any) -> Any:
    return mav.ahrs_encode(0.0, 0.0, 0.0, 0.0, 0.0, 0.0026, 0.0004)


@builder("AHRS2")
def ahrs2(v: EmulatedVehicle, mav: Any) -> Any:
    body = v.ap.body
    roll, pitch = body.tilt()
    if not v.boot_state().has_gps_position:
        return mav.ahrs2_encode(roll, pitch, body.yaw_rad, 0.0, 0, 0)
    lat, lon, alt = geo_now(v)
    return mav.ahrs2_encode(roll, pitch, body.yaw_rad, alt, e7(lat), e7(lon))


@builder("SIMSTATE")
def simstate(v: EmulatedVehicle, mav: Any) -> Any:
    body = v.ap.body
    roll, pitch = body.tilt()
    lat, lon, _ = geo_now(v)
    zacc = -GRAVITY_MSS * math.cos(roll) * math.cos(pitch)
    return mav.simstate_encode(
        roll, pitch, body.yaw_rad, 0.0, 0.0, zacc, 0.0, 0.0, body.yaw_rate_radps, e7(lat), e7(lon)
    )


@builder("TERRAIN_REQUEST")
def terrain_request(v: EmulatedVehicle, mav: Any) -> Any:
    """SITL asks for the terrain grid south-west of the vehicle (it gets no answer here)."""
    lat, lon, _ = geo_now(v)
    return mav.terrain_request_encode(e7(lat - 0.0213), e7(lon - 0.0233), 100, TERRAIN_MASK)


@builder("TERRAIN_REPORT")
def terrain_report(v: EmulatedVehicle, mav: Any) -> Any:
    if not v.boot_state().has_gps_position:
        return mav.terrain_report_encode(0, 0, 100, 0.0, 0.0, 56, 0)
    lat, lon, _ = geo_now(v)
    height = v.ap.body.alt_m - v.ap.origin.alt_amsl_m
    return mav.terrain_report_encode(e7(lat), e7(lon), 0, 0.0, height, 224, 0)


@builder("VIBRATION")
def vibration(v: EmulatedVehicle, mav: Any) -> Any:
    return mav.vibration_encode(int(v.now_s() * 1e6), 0.0029, 0.0029, 0.0029, 0, 0, 0)
