"""Point-mass kinematics: position, velocity, acceleration limits, attitude from acceleration.

No aerodynamics, no wind, no terrain, no sensor noise: the vehicle moves where its velocity
command takes it, with the horizontal and vertical acceleration limited. Attitude is derived
from the acceleration plus a drag term fitted to flight.jsonl (about 30 degrees of pitch at
10 m/s).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from uav.sim.constants import EARTH_RADIUS_M, GRAVITY_MSS

METRES_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180.0
DRAG_PER_MPS2 = 0.0562  # lean-angle drag term: tan(tilt) = drag * v^2 / g (flight.jsonl)
MAX_TILT_RAD = math.radians(30.0)  # ANGLE_MAX 3000 cdeg
YAW_RATE_RADPS = math.radians(90.0)


@dataclass(frozen=True)
class GeoOrigin:
    """The EKF origin: north/east metres are measured from here; altitudes are AMSL."""

    lat_deg: float
    lon_deg: float
    alt_amsl_m: float

    def to_geo(self, north_m: float, east_m: float) -> tuple[float, float]:
        lat = self.lat_deg + north_m / METRES_PER_DEGREE
        lon = self.lon_deg + east_m / (METRES_PER_DEGREE * math.cos(math.radians(self.lat_deg)))
        return lat, lon

    def to_ne(self, lat_deg: float, lon_deg: float) -> tuple[float, float]:
        north = (lat_deg - self.lat_deg) * METRES_PER_DEGREE
        east = (lon_deg - self.lon_deg) * METRES_PER_DEGREE * math.cos(math.radians(self.lat_deg))
        return north, east


def e7(deg: float) -> int:
    """Degrees to the int32 1e-7 degree units MAVLink carries, rounded. (SITL reports
    --home 23.1291 as 231290999 through rounding noise in its own arithmetic; the emulator
    reports 231291000.)"""
    return round(deg * 1e7)


def approach_speed(distance_m: float, max_speed_mps: float, decel_mss: float) -> float:
    """The fastest speed from which the vehicle can still stop within ``distance_m``."""
    if distance_m <= 0:
        return 0.0
    return min(max_speed_mps, math.sqrt(2.0 * decel_mss * distance_m))


def slew(current: float, desired: float, max_step: float) -> float:
    return current + max(-max_step, min(max_step, desired - current))


@dataclass
class Body:
    """The vehicle as a point: metres from the origin, AMSL altitude, m/s (up positive)."""

    north_m: float = 0.0
    east_m: float = 0.0
    alt_m: float = 0.0
    vn_mps: float = 0.0
    ve_mps: float = 0.0
    vu_mps: float = 0.0
    an_mss: float = 0.0
    ae_mss: float = 0.0
    yaw_rad: float = 0.0
    yaw_rate_radps: float = 0.0

    @property
    def ground_speed_mps(self) -> float:
        return math.hypot(self.vn_mps, self.ve_mps)

    def accelerate(
        self,
        desired_vn: float,
        desired_ve: float,
        desired_vu: float,
        accel_xy_mss: float,
        accel_z_mss: float,
        dt_s: float,
    ) -> None:
        """Move the velocity towards the desired one within the limits, then integrate."""
        dvn, dve = desired_vn - self.vn_mps, desired_ve - self.ve_mps
        change = math.hypot(dvn, dve)
        limit = accel_xy_mss * dt_s
        if change > limit:
            dvn, dve = dvn * limit / change, dve * limit / change
        self.an_mss, self.ae_mss = dvn / dt_s, dve / dt_s
        self.vn_mps += dvn
        self.ve_mps += dve
        self.vu_mps = slew(self.vu_mps, desired_vu, accel_z_mss * dt_s)
        self.integrate(dt_s)

    def fall(self, dt_s: float, terminal_mps: float = 25.0) -> None:
        """No thrust: gravity pulls down (to a terminal speed); horizontal speed is kept."""
        self.an_mss = self.ae_mss = 0.0
        self.vu_mps = max(self.vu_mps - GRAVITY_MSS * dt_s, -terminal_mps)
        self.integrate(dt_s)

    def integrate(self, dt_s: float) -> None:
        self.north_m += self.vn_mps * dt_s
        self.east_m += self.ve_mps * dt_s
        self.alt_m += self.vu_mps * dt_s
        self._turn(dt_s)

    def _turn(self, dt_s: float) -> None:
        """Face the direction of travel when moving faster than 1 m/s."""
        self.yaw_rate_radps = 0.0
        if self.ground_speed_mps < 1.0:
            return
        wanted = math.atan2(self.ve_mps, self.vn_mps)
        error = math.remainder(wanted - self.yaw_rad, math.tau)
        step = max(-YAW_RATE_RADPS * dt_s, min(YAW_RATE_RADPS * dt_s, error))
        self.yaw_rad = math.remainder(self.yaw_rad + step, math.tau)
        self.yaw_rate_radps = step / dt_s

    def stop(self) -> None:
        self.vn_mps = self.ve_mps = self.vu_mps = 0.0
        self.an_mss = self.ae_mss = 0.0
        self.yaw_rate_radps = 0.0

    def tilt(self) -> tuple[float, float]:
        """(roll, pitch) in radians that produce the current acceleration against drag."""
        speed = self.ground_speed_mps
        drag_n = drag_e = 0.0
        if speed > 0:
            drag = DRAG_PER_MPS2 * speed * speed
            drag_n, drag_e = drag * self.vn_mps / speed, drag * self.ve_mps / speed
        force_n, force_e = self.an_mss + drag_n, self.ae_mss + drag_e
        cos_y, sin_y = math.cos(self.yaw_rad), math.sin(self.yaw_rad)
        forward = force_n * cos_y + force_e * sin_y
        right = -force_n * sin_y + force_e * cos_y
        pitch = -math.atan2(forward, GRAVITY_MSS)
        roll = math.atan2(right, GRAVITY_MSS)
        clamp = MAX_TILT_RAD
        return max(-clamp, min(clamp, roll)), max(-clamp, min(clamp, pitch))
