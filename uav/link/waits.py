"""Bounded waits on the vehicle's state, measured on the vehicle's own clock.

The vehicle clock is its ``time_boot_ms`` (SYSTEM_TIME, GLOBAL_POSITION_INT, ...), which runs
at the simulator's speed-up: a 30 s wait takes 3 s of wall time at speed-up 10. Until the
vehicle has sent a time, wall time is used. A wall-clock bound stops a wait whose vehicle
clock stalls. Waits wake on every state change; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, TypeVar

from uav.errors import InputError
from uav.link.errors import LinkLost, WaitTimeout
from uav.link.state import LinkStatus, VehicleState

T = TypeVar("T")

WAKE_S = 0.5  # wake at least this often (wall) to check the wall bound


class StateSource(Protocol):
    """What a wait needs of a link (a :class:`~uav.link.connection.DroneLink`)."""

    url: str

    @property
    def state(self) -> VehicleState: ...

    def wait_for_updates(self, after_version: int, timeout_s: float) -> list[VehicleState]: ...


class VehicleClock:
    """Seconds elapsed since it was made: on the vehicle clock once the vehicle has sent a
    time (wall time before that); continues across a vehicle reboot (clock going back)."""

    def __init__(self, state: VehicleState) -> None:
        self._start_wall = time.monotonic()
        self._base_v = state.vehicle_time_s
        self._last_v = state.vehicle_time_s
        self._offset_s = 0.0

    @property
    def on_vehicle_time(self) -> bool:
        return self._base_v is not None

    def wall_elapsed_s(self) -> float:
        return time.monotonic() - self._start_wall

    def elapsed_s(self, state: VehicleState) -> float:
        now_v = state.vehicle_time_s
        if self._base_v is None or self._last_v is None:
            if now_v is None:
                return self.wall_elapsed_s()
            self._base_v = self._last_v = now_v
            self._offset_s = self.wall_elapsed_s()
        if now_v is None:
            return self._offset_s + (self._last_v - self._base_v)
        if now_v < self._last_v:  # the vehicle rebooted: its clock started again
            self._offset_s += self._last_v - self._base_v
            self._base_v = now_v
        self._last_v = now_v
        return self._offset_s + (now_v - self._base_v)


def default_wall_timeout_s(timeout_s: float) -> float:
    """The wall bound when none is given: generous, for a host slower than the speed-up."""
    return 2.0 * timeout_s + 5.0


def wait_until(
    link: StateSource,
    condition: Callable[[VehicleState], T | None],
    *,
    timeout_s: float,
    hold_for_s: float = 0.0,
    what: str,
    wall_timeout_s: float | None = None,
    allow_lost: bool = False,
    since: VehicleState | None = None,
) -> T:
    """Wait until ``condition(state)`` returns something other than None/False, and keeps
    doing so for ``hold_for_s`` vehicle seconds; return that value.

    ``timeout_s`` bounds the whole wait on the vehicle clock, ``wall_timeout_s`` on the wall
    clock (default :func:`default_wall_timeout_s`). The condition sees every snapshot in order
    (the link keeps the recent ones), so a change that lasted one message resets the hold.
    Raises :class:`WaitTimeout` (with the last state and value seen) or :class:`LinkLost` when
    the link is lost (unless ``allow_lost``: then the wait goes on while the link
    reconnects), failed or closed. ``since``: measure the vehicle-clock bound from that
    earlier snapshot (e.g. the one taken when a command was sent) instead of from now.
    """
    if hold_for_s > timeout_s:
        raise InputError(f"hold_for_s {hold_for_s} is longer than timeout_s {timeout_s}")
    wall_limit_s = default_wall_timeout_s(timeout_s) if wall_timeout_s is None else wall_timeout_s
    state = link.state
    clock = VehicleClock(since if since is not None else state)
    held_since: float | None = None
    pending = [state]
    while True:
        for state in pending:  # every snapshot, so that a brief change is not missed
            value = condition(state)
            elapsed = clock.elapsed_s(state)
            if value is None or value is False:
                held_since = None
                continue
            held_since = elapsed if held_since is None else held_since
            if elapsed - held_since >= hold_for_s:
                return value
        _raise_if_lost(link, state, allow_lost, what)
        wall_elapsed = clock.wall_elapsed_s()
        if elapsed >= timeout_s or wall_elapsed >= wall_limit_s:
            on_wall = wall_elapsed >= wall_limit_s or not clock.on_vehicle_time
            raise WaitTimeout(
                what,
                state,
                timeout_s=wall_limit_s if wall_elapsed >= wall_limit_s else timeout_s,
                last_value=value,
                clock="wall" if on_wall else "vehicle",
            )
        wake_s = min(WAKE_S, wall_limit_s - wall_elapsed)
        if not clock.on_vehicle_time:  # the bounds run on the wall clock: wake at them
            wake_s = min(wake_s, timeout_s - elapsed)
            if held_since is not None:
                wake_s = min(wake_s, held_since + hold_for_s - elapsed)
        pending = link.wait_for_updates(state.version, max(0.0, wake_s)) or [state]


def _raise_if_lost(link: StateSource, state: VehicleState, allow_lost: bool, what: str) -> None:
    if state.link in (LinkStatus.FAILED, LinkStatus.CLOSED) or (
        state.link == LinkStatus.LOST and not allow_lost
    ):
        detail = f"while waiting for {what}: {state.link_detail or state.link}"
        raise LinkLost(link.url, detail, state)


def ready_to_arm(state: VehicleState) -> bool:
    """3-D GPS fix, EKF absolute position and the pre-arm checks passed (SYS_STATUS bit)."""
    fix_ok = state.gps_fix_type is not None and state.gps_fix_type >= 3
    return fix_ok and state.position_ok and state.prearm_ok is True


def wait_ready_to_arm(
    link: StateSource, *, timeout_s: float = 120.0, allow_lost: bool = False
) -> VehicleState:
    """Wait until :func:`ready_to_arm` (SITL: ~42 s of vehicle time after boot)."""
    return wait_until(
        link,
        lambda s: s if ready_to_arm(s) else None,
        timeout_s=timeout_s,
        what="GPS fix, EKF position and pre-arm checks passed",
        allow_lost=allow_lost,
    )


def wait_disarmed(link: StateSource, *, timeout_s: float, allow_lost: bool = False) -> VehicleState:
    """Wait until the vehicle reports itself disarmed (ArduCopter auto-disarms ~2 s after
    touching down in RTL, LAND or AUTO). ``allow_lost``: go on waiting while the link
    reconnects (the vehicle keeps flying its RTL without the ground station)."""
    return wait_until(
        link,
        lambda s: s if s.armed is False and s.connected else None,
        timeout_s=timeout_s,
        what="the vehicle to land and disarm",
        allow_lost=allow_lost,
    )
