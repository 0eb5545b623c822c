"""What the vehicle is trying to do, turned into velocity commands for the point mass.

Numbers (flight.jsonl; the parameters are read live, so PARAM_SET changes them):

* take-off climbs at up to WPNAV_SPEED_UP (2.5 m/s) with WPNAV_ACCEL_Z (1 m/s^2); the climb
  starts about 3.7 s after arming (46.04 -> 49.8 and 151.05 -> 154.9: motor spool-up);
* horizontal moves at WPNAV_SPEED (10 m/s) with WPNAV_ACCEL (2.5 m/s^2), braking at half that
  so that a 30 m move peaks near 7 m/s (6.6 observed) and stops on the target;
* descents at WPNAV_SPEED_DN (1.5 m/s), the last LAND_ALT_LOW (10 m) of a landing at
  LAND_SPEED (0.5 m/s);
* RTL climbs to RTL_ALT if lower, flies home, waits RTL_LOIT_TIME (5 s) and lands;
* BRAKE stops at BRAKE_MODE_DECEL_RATE (7.5 m/s^2, *from source*: ArduCopter's mode_brake
  sets the position controller's speed to the current speed and its acceleration to that
  rate) and holds where it stopped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from uav.sim.physics import Body, approach_speed

SPOOL_UP_S = 3.7  # arming -> the first climb (inferred from both take-offs in flight.jsonl)
TAKEOFF_DELAY_S = 0.5  # a take-off command given long after arming still spools briefly
ARRIVED_M = 0.02
BRAKE_DECEL_MSS = 7.5  # BRAKE_MODE_DECEL_RATE 750 cm/s^2 (from source, ArduCopter config.h)
STOPPED_MPS = 0.05


@dataclass(frozen=True)
class Limits:
    speed_xy_mps: float
    speed_up_mps: float
    speed_down_mps: float
    accel_xy_mss: float
    accel_z_mss: float

    @property
    def brake_xy_mss(self) -> float:
        return self.accel_xy_mss / 2.0

    @property
    def brake_z_mss(self) -> float:
        return self.accel_z_mss * 0.8


@dataclass
class Target:
    """A position to fly to: metres from the origin and an AMSL altitude."""

    north_m: float
    east_m: float
    alt_m: float
    speed_mps: float | None = None  # None: WPNAV_SPEED

    def horizontal_distance_m(self, body: Body) -> float:
        return math.hypot(self.north_m - body.north_m, self.east_m - body.east_m)


@dataclass
class Touchdown:
    speed_mps: float


class Flight:
    """The vehicle's current navigation task and the physics step that follows it."""

    def __init__(self, body: Body, ground_alt_m: float, param: Callable[[str], float]) -> None:
        self.body = body
        self.ground_alt_m = ground_alt_m
        self._param = param
        self.task = "idle"  # idle, goto, takeoff, land, descend, fall, brake
        self.target: Target | None = None
        self.lift_off_at_s = math.inf
        self.descent_mps = 0.0
        self.position_target = False  # POSITION_TARGET_GLOBAL_INT is meaningful

    # ---- state ----
    @property
    def on_ground(self) -> bool:
        return self.body.alt_m <= self.ground_alt_m + 1e-6

    @property
    def height_m(self) -> float:
        return self.body.alt_m - self.ground_alt_m

    def limits(self) -> Limits:
        p = self._param
        return Limits(
            speed_xy_mps=max(p("WPNAV_SPEED") / 100.0, 0.2),
            speed_up_mps=max(p("WPNAV_SPEED_UP") / 100.0, 0.1),
            speed_down_mps=max(abs(p("WPNAV_SPEED_DN")) / 100.0, 0.1),
            accel_xy_mss=max(p("WPNAV_ACCEL") / 100.0, 0.5),
            accel_z_mss=max(p("WPNAV_ACCEL_Z") / 100.0, 0.5),
        )

    def stopping_point(self) -> Target:
        """Where the vehicle comes to rest if it brakes now."""
        body, brake = self.body, self.limits().brake_xy_mss
        speed = body.ground_speed_mps
        lead = speed / (2.0 * brake) if speed > 0 else 0.0
        north = body.north_m + (body.vn_mps * lead if speed > 0 else 0.0)
        east = body.east_m + (body.ve_mps * lead if speed > 0 else 0.0)
        return Target(north, east, max(body.alt_m, self.ground_alt_m))

    # ---- tasks ----
    def idle(self) -> None:
        self.task, self.target, self.position_target = "idle", None, False

    def takeoff(self, alt_m: float, now_s: float, armed_at_s: float) -> None:
        """Climb straight up to ``alt_m`` AMSL, after the motors have spooled up."""
        self.lift_off_at_s = max(armed_at_s + SPOOL_UP_S, now_s + TAKEOFF_DELAY_S)
        self.task = "takeoff"
        self.target = Target(self.body.north_m, self.body.east_m, alt_m)
        self.position_target = False

    def goto(self, target: Target, *, report: bool = True) -> None:
        target.alt_m = max(target.alt_m, self.ground_alt_m)
        self.task, self.target, self.position_target = "goto", target, report

    def hold(self) -> None:
        """Brake and hover where the vehicle stops."""
        self.goto(self.stopping_point(), report=False)

    def brake(self) -> None:
        """BRAKE: stop at BRAKE_DECEL_MSS, keeping the altitude, and hold there."""
        body = self.body
        self.task, self.position_target = "brake", False
        self.target = Target(body.north_m, body.east_m, max(body.alt_m, self.ground_alt_m))

    def land(self, north_m: float | None = None, east_m: float | None = None) -> None:
        """Descend (fast, then LAND_SPEED below LAND_ALT_LOW) at a point, or where it stops."""
        stop = self.stopping_point()
        north = stop.north_m if north_m is None else north_m
        east = stop.east_m if east_m is None else east_m
        self.task, self.position_target = "land", False
        self.target = Target(north, east, self.ground_alt_m)

    def descend(self, rate_mps: float) -> None:
        """Sink at ``rate_mps`` while braking horizontally (the throttle stick at minimum)."""
        self.task, self.descent_mps, self.target, self.position_target = (
            "descend",
            rate_mps,
            None,
            False,
        )

    def cut_motors(self) -> None:
        self.task, self.target, self.position_target = "fall", None, False

    # ---- stepping ----
    def step(self, dt_s: float, now_s: float, armed: bool) -> Touchdown | None:
        body = self.body
        was_airborne = not self.on_ground
        if not armed or self.task == "fall":
            if self.on_ground:
                body.stop()
                return None
            body.fall(dt_s)
        elif self.on_ground and not self._lifting(now_s):
            body.stop()
            return None
        else:
            vn, ve, vu = self._command(now_s)
            limits = self.limits()
            accel_xy = BRAKE_DECEL_MSS if self.task == "brake" else limits.accel_xy_mss
            body.accelerate(vn, ve, vu, accel_xy, limits.accel_z_mss, dt_s)
        return self._ground_contact(was_airborne)

    def _lifting(self, now_s: float) -> bool:
        target = self.target
        if target is None or target.alt_m <= self.ground_alt_m + 0.05:
            return False
        return self.task != "takeoff" or now_s >= self.lift_off_at_s

    def _ground_contact(self, was_airborne: bool) -> Touchdown | None:
        body = self.body
        if body.alt_m > self.ground_alt_m:
            return None
        impact = -body.vu_mps
        body.alt_m = self.ground_alt_m
        body.stop()
        return Touchdown(impact) if was_airborne else None

    def _command(self, now_s: float) -> tuple[float, float, float]:
        if self.task == "descend":
            vn, ve = self._brake()
            return vn, ve, -self.descent_mps
        if self.task == "land":
            return self._land_command()
        if self.task == "brake":
            return self._brake_command()
        if self.target is None:
            vn, ve = self._brake()
            return vn, ve, 0.0
        return self._goto_command(self.target)

    def _brake(self) -> tuple[float, float]:
        return 0.0, 0.0

    def _brake_command(self) -> tuple[float, float, float]:
        """Decelerate to a stop along the course, then hold the point where it stopped."""
        assert self.target is not None
        body = self.body
        if body.ground_speed_mps > STOPPED_MPS:
            self.target.north_m, self.target.east_m = body.north_m, body.east_m
            return 0.0, 0.0, self._vertical(self.target.alt_m)
        return self._goto_command(self.target)

    def _horizontal(self, target: Target, speed_mps: float) -> tuple[float, float]:
        body = self.body
        dn, de = target.north_m - body.north_m, target.east_m - body.east_m
        distance = math.hypot(dn, de)
        if distance < ARRIVED_M and body.ground_speed_mps < 0.05:
            body.north_m, body.east_m = target.north_m, target.east_m
            return 0.0, 0.0
        if distance == 0.0:  # on the point, still moving (a long step landed it there): stop
            return 0.0, 0.0
        speed = approach_speed(distance, speed_mps, self.limits().brake_xy_mss)
        return speed * dn / distance, speed * de / distance

    def _vertical(self, target_alt_m: float) -> float:
        body, limits = self.body, self.limits()
        error = target_alt_m - body.alt_m
        if abs(error) < ARRIVED_M / 2 and abs(body.vu_mps) < 0.05:
            body.alt_m = target_alt_m
            return 0.0
        cap = limits.speed_up_mps if error > 0 else limits.speed_down_mps
        return math.copysign(approach_speed(abs(error), cap, limits.brake_z_mss), error)

    def _goto_command(self, target: Target) -> tuple[float, float, float]:
        speed = target.speed_mps or self.limits().speed_xy_mps
        vn, ve = self._horizontal(target, speed)
        return vn, ve, self._vertical(target.alt_m)

    def _land_command(self) -> tuple[float, float, float]:
        assert self.target is not None
        vn, ve = self._horizontal(self.target, self.limits().speed_xy_mps)
        return vn, ve, -self.landing_speed_mps()

    def landing_speed_mps(self) -> float:
        """LAND_SPEED below LAND_ALT_LOW, else LAND_SPEED_HIGH (0: WPNAV_SPEED_DN)."""
        p = self._param
        if self.height_m <= p("LAND_ALT_LOW") / 100.0:
            return max(p("LAND_SPEED") / 100.0, 0.1)
        high = p("LAND_SPEED_HIGH") / 100.0
        return high if high > 0 else self.limits().speed_down_mps

    def reached(self, radius_m: float, vertical_m: float = 1.0) -> bool:
        target = self.target
        if target is None:
            return False
        near = target.horizontal_distance_m(self.body) <= radius_m
        return near and abs(target.alt_m - self.body.alt_m) <= vertical_m
