"""Return to launch: climb to RTL_ALT if lower, fly home, wait RTL_LOIT_TIME, then land
(or hover at RTL_ALT_FINAL when that is set).

flight.jsonl (fence RTL at 30 m, above RTL_ALT 15 m): the vehicle brakes, flies home at
30 m, hovers about 5 s, descends at 1.5 m/s to 10 m and at 0.5 m/s to the ground. Not
modelled: the RTL cone (RTL_CONE_SLOPE), terrain following, rally points, SmartRTL's path.
"""

from __future__ import annotations

from collections.abc import Callable

from uav.sim.flight import Flight, Target


class RtlPlan:
    """The phases of one return: climb, return, loiter, final (land or hover), done."""

    def __init__(self, param: Callable[[str], float]) -> None:
        self._param = param
        self.phase = "done"
        self._home = Target(0.0, 0.0, 0.0)
        self._return_alt_m = 0.0
        self._loiter_until_s = 0.0

    @property
    def landing(self) -> bool:
        return self.phase == "land"

    def start(self, flight: Flight, home: Target, now_s: float) -> None:
        """``home``: north/east of home and its AMSL altitude."""
        p = self._param
        self._home = home
        height_m = flight.body.alt_m - home.alt_m
        rtl_alt_m = p("RTL_ALT") / 100.0
        wanted_m = max(height_m + max(p("RTL_CLIMB_MIN"), 0.0) / 100.0, rtl_alt_m)
        if rtl_alt_m <= 0:
            wanted_m = height_m
        self._return_alt_m = home.alt_m + wanted_m
        if self._return_alt_m > flight.body.alt_m + 0.5:
            stop = flight.stopping_point()
            flight.goto(Target(stop.north_m, stop.east_m, self._return_alt_m))
            self.phase = "climb"
        else:
            self._return_alt_m = max(self._return_alt_m, flight.body.alt_m)
            self._fly_home(flight)
        self.step(flight, now_s)

    def _fly_home(self, flight: Flight) -> None:
        speed = self._param("RTL_SPEED") / 100.0
        target = Target(self._home.north_m, self._home.east_m, self._return_alt_m)
        target.speed_mps = speed if speed > 0 else None
        flight.goto(target)
        self.phase = "return"

    def step(self, flight: Flight, now_s: float) -> None:
        if self.phase == "climb" and flight.reached(1e9, vertical_m=0.5):
            self._fly_home(flight)
        elif self.phase == "return" and flight.reached(self._radius_m()):
            self._loiter_until_s = now_s + max(self._param("RTL_LOIT_TIME"), 0.0) / 1000.0
            self.phase = "loiter"
        elif self.phase == "loiter" and now_s >= self._loiter_until_s:
            self._final(flight)

    def _radius_m(self) -> float:
        return max(self._param("WPNAV_RADIUS") / 100.0, 0.5)

    def _final(self, flight: Flight) -> None:
        final_m = self._param("RTL_ALT_FINAL") / 100.0
        if final_m > 0:
            flight.goto(Target(self._home.north_m, self._home.east_m, self._home.alt_m + final_m))
            self.phase = "hover"
            return
        flight.land(self._home.north_m, self._home.east_m)
        self.phase = "land"

    def stop(self) -> None:
        self.phase = "done"
