"""Modes, arming, home and the flight tasks each mode gives the point mass.

Observed (flight.jsonl, signing.jsonl): every mode is accepted while disarmed; a mode change
sends a HEARTBEAT at once; arming sets home to the current position (GPS_GLOBAL_ORIGIN and
HOME_POSITION at once, then ``Arming motors``); LAND, RTL and AUTO's final RTL disarm 2.1 s
after touchdown (``SIM Hit ground at 0.500182 m/s`` ... ``Disarming motors``); the
HEARTBEAT's system_status is ACTIVE from lift-off to about 1.5 s after touchdown.

SITL runs with no RC input, its throttle stick at the minimum (RC3 1000): in ALT_HOLD,
LOITER, POSHOLD and the like the vehicle therefore descends at the pilot's maximum rate
and lands, and in STABILIZE, ACRO, SPORT and DRIFT the motors drop to idle and it falls.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

from uav.sim.arming import arm_failures, prearm_failures
from uav.sim.auto import AutoExecutor
from uav.sim.boot import BootState
from uav.sim.constants import (
    AUTO,
    AUTO_RTL,
    AUTOPILOT_MODES,
    BRAKE,
    GUIDED,
    LAND,
    MANUAL_THROTTLE_MODES,
    MODE_NAMES,
    PILOT_CLIMB_MODES,
    POSITION_MODES,
    RTL,
    SEV_INFO,
    SEV_WARNING,
    SMART_RTL,
    STABILIZE,
    STATE_ACTIVE,
    STATE_STANDBY,
)
from uav.sim.flight import Flight, Target
from uav.sim.physics import Body, GeoOrigin
from uav.sim.rtl import RtlPlan

LAND_COMPLETE_AFTER_S = 1.5  # touchdown -> land detector (system_status back to STANDBY)
LAND_DISARM_AFTER_S = 2.1  # touchdown -> "Disarming motors" in LAND / RTL / AUTO
RTL_MODES = frozenset({RTL, SMART_RTL, AUTO_RTL})
TIME_EPSILON_S = 1e-6  # sums of 0.05 s steps must not miss a deadline by rounding


class AutopilotHost(Protocol):
    """What the autopilot needs from the vehicle around it."""

    def now_s(self) -> float: ...

    def param(self, name: str) -> float: ...

    def statustext(self, severity: int, text: str) -> None: ...

    def boot_state(self) -> BootState: ...

    def fence_arm_failure(self) -> str | None: ...

    def heartbeat_now(self) -> None: ...

    def announce_home(self) -> None: ...

    def item_reached(self, seq: int) -> None: ...

    def mission_items(self) -> list[Any]: ...

    def mission_current_seq(self) -> int: ...

    def mission_set_current(self, seq: int) -> None: ...


class Autopilot:
    """The flight-control side of the vehicle, stepped in vehicle time."""

    def __init__(self, host: AutopilotHost, origin: GeoOrigin, yaw_deg: float) -> None:
        self.host = host
        self.origin = origin
        self.body = Body(alt_m=origin.alt_amsl_m, yaw_rad=math.radians(yaw_deg))
        self.flight = Flight(self.body, origin.alt_amsl_m, host.param)
        self.rtl = RtlPlan(host.param)
        self.auto = AutoExecutor(self)
        self.mode = STABILIZE
        self.armed = False
        self.armed_at_s = -math.inf
        self.arm_attempted = False
        self.home: Target | None = None
        self.guided_flag = False
        self.touchdown_at_s: float | None = None
        self.landed_idle_since_s: float | None = None
        self.land_disarm_at_s: float | None = None
        self.battery_used_mah = 0.0
        self.battery_used_wh = 0.0

    # ---- state ----
    @property
    def airborne(self) -> bool:
        return not self.flight.on_ground

    def land_complete(self, now_s: float) -> bool:
        if self.airborne:
            return False
        return self.touchdown_at_s is None or now_s >= self.touchdown_at_s + LAND_COMPLETE_AFTER_S

    def system_status(self, now_s: float) -> int:
        active = self.armed and not self.land_complete(now_s)
        return STATE_ACTIVE if active else STATE_STANDBY

    def guided_enabled(self) -> bool:
        return self.mode == GUIDED or (self.armed and self.mode in AUTOPILOT_MODES)

    def home_geo(self) -> tuple[float, float, float] | None:
        if self.home is None:
            return None
        lat, lon = self.origin.to_geo(self.home.north_m, self.home.east_m)
        return lat, lon, self.home.alt_m

    def set_home_here(self) -> None:
        self.home = Target(self.body.north_m, self.body.east_m, self.body.alt_m)

    def prearm_failures(self) -> list[str]:
        return prearm_failures(
            self.host.boot_state(),
            mode=self.mode,
            fence_failure=self.host.fence_arm_failure(),
            arming_check=self.host.param("ARMING_CHECK") != 0,
        )

    # ---- modes ----
    def set_mode(self, mode: int) -> bool:
        """Change mode as ArduCopter would; False (with its STATUSTEXT) when refused."""
        if mode not in MODE_NAMES:
            self.host.statustext(SEV_WARNING, f"No such mode {mode}")
            return False
        if mode == self.mode:
            return True
        refusal = self._mode_refusal(mode)
        if refusal:
            self.host.statustext(
                SEV_WARNING, f"Mode change to {MODE_NAMES[mode]} failed: {refusal}"
            )
            return False
        previous, self.mode = self.mode, mode
        self.guided_flag = self.guided_flag or self.guided_enabled()
        if previous == AUTO:
            self.auto.pause()
        if self.armed:
            self._enter_armed(mode)
        self.host.heartbeat_now()
        return True

    def _mode_refusal(self, mode: int) -> str | None:
        if not self.armed:
            return None
        if mode in POSITION_MODES and not self.host.boot_state().using_gps:
            return "requires position"
        if mode == AUTO and not self.auto.can_start(self.airborne):
            return "init failed"
        return None

    def _enter_armed(self, mode: int) -> None:
        """Give the flight the task of the new mode (armed)."""
        now = self.host.now_s()
        self.rtl.stop()
        self.land_disarm_at_s = None
        if mode == AUTO:
            self.auto.start_or_resume(now)
        elif not self.airborne and not self._lifting():
            self._enter_on_ground(mode, now)
        elif mode == LAND:
            self.flight.land()
        elif mode == BRAKE:
            self.flight.brake()
        elif mode in RTL_MODES:
            self.start_rtl(now)
        elif mode in PILOT_CLIMB_MODES:
            self.flight.descend(self.pilot_descent_mps())
        elif mode in MANUAL_THROTTLE_MODES:
            self.flight.cut_motors()
        else:
            self.flight.hold()

    def _enter_on_ground(self, mode: int, now_s: float) -> None:
        self.flight.idle()
        if mode == LAND or mode in RTL_MODES:
            self.land_disarm_at_s = now_s + LAND_DISARM_AFTER_S

    def _lifting(self) -> bool:
        return self.flight.task == "takeoff"

    def pilot_descent_mps(self) -> float:
        down = abs(self.host.param("PILOT_SPEED_DN"))
        return (down or abs(self.host.param("PILOT_SPEED_UP"))) / 100.0

    def start_rtl(self, now_s: float) -> None:
        home = self.home or Target(0.0, 0.0, self.origin.alt_amsl_m)
        self.rtl.start(self.flight, Target(home.north_m, home.east_m, home.alt_m), now_s)

    # ---- arming ----
    def arm_failures(self) -> list[str]:
        self.arm_attempted = True
        return arm_failures(
            self.host.boot_state(),
            mode=self.mode,
            fence_failure=self.host.fence_arm_failure(),
            arming_check=self.host.param("ARMING_CHECK") != 0,
        )

    def arm_now(self) -> None:
        """Arm (checks already passed): home here, announced, then ``Arming motors``."""
        now = self.host.now_s()
        self.armed, self.armed_at_s = True, now
        self.touchdown_at_s = self.land_disarm_at_s = None
        self.landed_idle_since_s = now
        self.set_home_here()
        self.host.announce_home()
        self.host.statustext(SEV_INFO, "Arming motors")
        self.flight.idle()

    def disarm(self, *, force: bool) -> bool:
        """False when refused (flying, not forced)."""
        if not self.armed:
            return True
        if self.airborne and not force:
            return False
        self.auto.on_disarm()
        self.armed = False
        self.host.statustext(SEV_INFO, "Disarming motors")
        self.rtl.stop()
        self.land_disarm_at_s = None
        if self.airborne:
            self.flight.cut_motors()
        else:
            self.flight.idle()
        return True

    # ---- GUIDED ----
    def takeoff(self, height_m: float) -> bool:
        """MAV_CMD_NAV_TAKEOFF in GUIDED: climb to ``height_m`` above home."""
        if not self.armed or self.mode != GUIDED or self.airborne or height_m <= 0:
            return False
        home_alt = self.home.alt_m if self.home else self.origin.alt_amsl_m
        self.flight.takeoff(home_alt + height_m, self.host.now_s(), self.armed_at_s)
        return True

    def guided_goto(self, lat_deg: float, lon_deg: float, alt_amsl_m: float) -> bool:
        if not self.armed or self.mode != GUIDED or not (self.airborne or self._lifting()):
            return False
        north, east = self.origin.to_ne(lat_deg, lon_deg)
        self.flight.goto(Target(north, east, alt_amsl_m))
        return True

    # ---- stepping ----
    def step(self, dt_s: float, now_s: float) -> None:
        was_airborne = self.airborne
        touchdown = self.flight.step(dt_s, now_s, self.armed)
        if self.airborne and not was_airborne:
            self.touchdown_at_s = None
        if touchdown is not None:
            self._on_touchdown(touchdown.speed_mps, now_s)
        if self.armed:
            self._navigate(now_s)
            self._battery(dt_s)
            self._auto_disarm(now_s)

    def _navigate(self, now_s: float) -> None:
        if self.mode in RTL_MODES:
            self.rtl.step(self.flight, now_s)
        elif self.mode == AUTO:
            self.auto.step(now_s)

    def _on_touchdown(self, speed_mps: float, now_s: float) -> None:
        self.touchdown_at_s = now_s
        self.landed_idle_since_s = now_s
        if speed_mps > 0.05:
            self.host.statustext(SEV_INFO, f"SIM Hit ground at {speed_mps:.6f} m/s")
        landing = self.flight.task == "land" or self.rtl.landing
        if self.armed and (landing or self.mode == LAND):
            self.land_disarm_at_s = now_s + LAND_DISARM_AFTER_S

    def _auto_disarm(self, now_s: float) -> None:
        if (
            self.mode == LAND
            and self.land_disarm_at_s is None
            and not self.airborne
            and not self._lifting()
        ):
            # ArduCopter's LAND checks "landed" every loop and disarms, whatever event came
            # first; a touchdown-only trigger missed a LAND set in the instant of touchdown.
            landed_at = self.touchdown_at_s if self.touchdown_at_s is not None else now_s
            self.land_disarm_at_s = landed_at + LAND_DISARM_AFTER_S
        if self.land_disarm_at_s is not None and now_s >= self.land_disarm_at_s - TIME_EPSILON_S:
            self.disarm(force=True)
            return
        if self.airborne or self._lifting():
            self.landed_idle_since_s = now_s
            return
        delay_s = self.host.param("DISARM_DELAY")
        idle_since = self.landed_idle_since_s
        if (
            delay_s > 0
            and idle_since is not None
            and now_s - idle_since >= delay_s - TIME_EPSILON_S
        ):
            self.disarm(force=True)

    def throttle_pct(self) -> int:
        if not self.armed:
            return 0
        if not self.airborne:
            return 0
        roll, pitch = self.body.tilt()
        hover = 37.0 / max(math.cos(roll) * math.cos(pitch), 0.5)
        return int(max(0.0, min(100.0, hover + 4.0 * self.body.vu_mps)))

    def battery_current_a(self) -> float:
        if not self.armed:
            return 0.0
        if not self.airborne:
            return 1.5 if self._lifting() else 0.5
        return 28.0 * self.throttle_pct() / 37.0

    def _battery(self, dt_s: float) -> None:
        current = self.battery_current_a()
        self.battery_used_mah += current * dt_s / 3.6
        self.battery_used_wh += current * 12.6 * dt_s / 3600.0
