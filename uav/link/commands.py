"""Vehicle commands, each confirmed twice: the COMMAND_ACK, then the effect in the telemetry.

Every function waits (bounded) and raises :class:`CommandRefused` (with the vehicle's
STATUSTEXTs, e.g. ``Arm: Fence requires position``), :class:`WaitTimeout` or
:class:`LinkLost`. ACK waits are on the wall clock (a round trip does not speed up with the
simulator); effect waits are on the vehicle clock (:func:`uav.link.waits.wait_until`).

Observed in the traces: refusal STATUSTEXTs come right after the refusing COMMAND_ACK, so a
refusal collects the texts that arrive until the link has been quiet for a moment. SET_MODE
(message 11) is never ACKed by ArduPilot, so modes are set with MAV_CMD_DO_SET_MODE, which is.
"""

from __future__ import annotations

import math
import time
from typing import Any

from uav.errors import InputError
from uav.link.connection import DroneLink, Subscription
from uav.link.errors import CommandRefused, WaitTimeout
from uav.link.modes import mode_name, mode_number
from uav.link.params import get_params, set_params  # noqa: F401  (set_params is a command too)
from uav.link.state import SEVERITY_WARNING, LinkStatus, VehicleState
from uav.link.waits import wait_until

MAV_CMD_NAV_TAKEOFF = 22
MAV_CMD_DO_SET_MODE = 176
MAV_CMD_MISSION_START = 300
MAV_CMD_COMPONENT_ARM_DISARM = 400
MAV_MODE_FLAG_CUSTOM_MODE_ENABLED = 1
MAV_RESULT_ACCEPTED = 0
MAV_RESULT_IN_PROGRESS = 5
FORCE_DISARM_MAGIC = 21196
MAV_FRAME_GLOBAL_RELATIVE_ALT_INT = 6
POSITION_ONLY_TYPE_MASK = 3576  # ignore velocity, acceleration, yaw and yaw rate
EARTH_RADIUS_M = 6_371_008.8

ACK_TIMEOUT_S = 1.5  # wall seconds per attempt (SITL answers in 1-10 ms)
ACK_ATTEMPTS = 3
TEXT_QUIET_S = 0.2  # a refusal's STATUSTEXTs are complete after this long without one
TEXT_WINDOW_S = 1.0
EFFECT_TIMEOUT_S = 5.0  # vehicle seconds for a mode or arm state to show in the HEARTBEAT

_COMMAND_NAMES = {
    MAV_CMD_NAV_TAKEOFF: "NAV_TAKEOFF",
    MAV_CMD_DO_SET_MODE: "DO_SET_MODE",
    MAV_CMD_MISSION_START: "MISSION_START",
    MAV_CMD_COMPONENT_ARM_DISARM: "COMPONENT_ARM_DISARM",
}


def command_long(
    link: DroneLink,
    command: int,
    *params: float,
    name: str = "",
    ack_timeout_s: float = ACK_TIMEOUT_S,
    attempts: int = ACK_ATTEMPTS,
) -> None:
    """Send COMMAND_LONG (up to 7 params) and wait for its COMMAND_ACK ACCEPTED, resending
    (confirmation 1, 2, ...) when no ACK comes."""
    label = name or _COMMAND_NAMES.get(command, f"MAV_CMD {command}")
    padded = [float(p) for p in params] + [0.0] * (7 - len(params))
    text_mark = link.state.statustext_count
    with link.subscribe("COMMAND_ACK") as acks:
        for confirmation in range(attempts):
            link.send(
                link.mav.command_long_encode(
                    link.target_system, link.target_component, command, confirmation, *padded
                )
            )
            ack = _await_ack(link, acks, command, ack_timeout_s)
            if ack is None:
                continue
            if ack.result == MAV_RESULT_ACCEPTED:
                return
            raise CommandRefused(label, ack.result, collect_texts(link, text_mark))
    raise WaitTimeout(
        f"COMMAND_ACK for {label}",
        link.state,
        timeout_s=ack_timeout_s * attempts,
        clock="wall",
    )


def _await_ack(link: DroneLink, acks: Subscription, command: int, timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while (ack := acks.get(deadline - time.monotonic())) is not None:
        ours = ack.target_system in (0, link.config.source_system)
        if ack.command != command or not ours:
            continue
        if ack.result == MAV_RESULT_IN_PROGRESS:
            deadline = time.monotonic() + timeout_s
            continue
        return ack
    return None


def collect_texts(
    link: DroneLink, since_index: int, *, max_severity: int = SEVERITY_WARNING
) -> tuple[str, ...]:
    """The STATUSTEXTs after number ``since_index``, once no new one came for
    :data:`TEXT_QUIET_S` (at most :data:`TEXT_WINDOW_S`), of severity WARNING or worse."""
    start = last_change = time.monotonic()
    state = link.state
    count = state.statustext_count
    while state.link == LinkStatus.CONNECTED:
        now = time.monotonic()
        wait_s = min(TEXT_QUIET_S - (now - last_change), TEXT_WINDOW_S - (now - start))
        if wait_s <= 0:
            break
        state = link.wait_for_update(state.version, wait_s)
        if state.statustext_count != count:
            count, last_change = state.statustext_count, time.monotonic()
    return state.texts_since(since_index, max_severity)


# ---------------------------------------------------------------------- arming and modes


def arm(link: DroneLink, *, timeout_s: float = EFFECT_TIMEOUT_S) -> VehicleState:
    """Arm; returns once the HEARTBEAT shows the vehicle armed."""
    before = link.state
    command_long(link, MAV_CMD_COMPONENT_ARM_DISARM, 1, name="ARM")
    return wait_until(
        link,
        lambda s: s if s.armed else None,
        timeout_s=timeout_s,
        what="HEARTBEAT armed",
        since=before,
    )


def disarm(
    link: DroneLink, *, force: bool = False, timeout_s: float = EFFECT_TIMEOUT_S
) -> VehicleState:
    """Disarm (``force`` also in flight: the drone falls); returns once disarmed."""
    magic = FORCE_DISARM_MAGIC if force else 0
    before = link.state
    command_long(link, MAV_CMD_COMPONENT_ARM_DISARM, 0, magic, name="DISARM")
    return wait_until(
        link,
        lambda s: s if s.armed is False else None,
        timeout_s=timeout_s,
        what="HEARTBEAT disarmed",
        since=before,
    )


def set_mode(link: DroneLink, mode: str, *, timeout_s: float = EFFECT_TIMEOUT_S) -> VehicleState:
    """MAV_CMD_DO_SET_MODE; returns once the HEARTBEAT shows the mode."""
    number = mode_number(mode)
    name = mode_name(number)
    before = link.state
    command_long(
        link,
        MAV_CMD_DO_SET_MODE,
        MAV_MODE_FLAG_CUSTOM_MODE_ENABLED,
        number,
        name=f"DO_SET_MODE {name}",
    )
    return wait_until(
        link,
        lambda s: s if s.custom_mode == number else None,
        timeout_s=timeout_s,
        what=f"HEARTBEAT in {name}",
        since=before,
    )


def rtl(link: DroneLink, *, timeout_s: float = EFFECT_TIMEOUT_S) -> VehicleState:
    """Return to launch (mode RTL). Use :func:`uav.link.waits.wait_disarmed` to see it land."""
    return set_mode(link, "RTL", timeout_s=timeout_s)


def land(link: DroneLink, *, timeout_s: float = EFFECT_TIMEOUT_S) -> VehicleState:
    """Land where the drone is (mode LAND)."""
    return set_mode(link, "LAND", timeout_s=timeout_s)


def start_mission(link: DroneLink, *, timeout_s: float = EFFECT_TIMEOUT_S) -> VehicleState:
    """MAV_CMD_MISSION_START (armed, in GUIDED): the vehicle switches to AUTO."""
    before = link.state
    command_long(link, MAV_CMD_MISSION_START, 0, 0, name="MISSION_START")
    auto = mode_number("AUTO")
    return wait_until(
        link,
        lambda s: s if s.custom_mode == auto else None,
        timeout_s=timeout_s,
        what="HEARTBEAT in AUTO",
        since=before,
    )


# ---------------------------------------------------------------------- flying in GUIDED


def takeoff(
    link: DroneLink,
    alt_m: float,
    *,
    tolerance_m: float = 1.0,
    climb_start_timeout_s: float = 15.0,
    timeout_s: float | None = None,
) -> VehicleState:
    """NAV_TAKEOFF to ``alt_m`` above home (armed, in GUIDED); returns once the drone is
    within ``tolerance_m`` of it. Raises WaitTimeout when it does not start climbing."""
    if not (math.isfinite(alt_m) and alt_m > 0):
        raise InputError(f"take-off altitude {alt_m} m must be above 0")
    before = _require_guided_armed(link, "NAV_TAKEOFF")
    command_long(link, MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, alt_m)
    started_m = min(1.0, alt_m / 2)
    wait_until(
        link,
        lambda s: s if (s.alt_rel_m or 0.0) >= started_m else None,
        timeout_s=climb_start_timeout_s,
        what=f"the climb to start (above {started_m:g} m)",
        since=before,
    )
    return wait_until(
        link,
        lambda s: s if (s.alt_rel_m or 0.0) >= alt_m - tolerance_m else None,
        timeout_s=timeout_s if timeout_s is not None else 15.0 + alt_m,
        what=f"altitude {alt_m:g} m above home",
        since=before,
    )


def goto(
    link: DroneLink,
    lat_deg: float,
    lon_deg: float,
    alt_rel_m: float,
    *,
    tolerance_m: float = 2.0,
    progress_timeout_s: float = 10.0,
    timeout_s: float | None = None,
) -> VehicleState:
    """Fly to a point (altitude above home) in GUIDED with SET_POSITION_TARGET_GLOBAL_INT
    (frame 6, position only; no ACK exists for it). Confirms the drone closes in on the
    target, then that it arrives within ``tolerance_m``. Raises CommandRefused when the
    vehicle leaves GUIDED on the way (e.g. a fence breach switches it to RTL)."""
    _check_target(lat_deg, lon_deg, alt_rel_m)
    start = _require_guided_armed(link, "SET_POSITION_TARGET_GLOBAL_INT")
    text_mark = start.statustext_count
    link.send(
        link.mav.set_position_target_global_int_encode(
            0,
            link.target_system,
            link.target_component,
            MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
            POSITION_ONLY_TYPE_MASK,
            round(lat_deg * 1e7),
            round(lon_deg * 1e7),
            alt_rel_m,
            *([0.0] * 8),
        )
    )

    def remaining_m(s: VehicleState) -> float:
        return distance_3d_m(s, lat_deg, lon_deg, alt_rel_m)

    def watch(limit_m: float) -> Any:
        def check(s: VehicleState) -> VehicleState | None:
            left = s.custom_mode != start.custom_mode
            return s if left or remaining_m(s) <= limit_m else None

        return check

    first_m = remaining_m(start)
    steps = [(max(tolerance_m, first_m - min(1.0, first_m / 2)), progress_timeout_s, "progress")]
    steps.append(
        (tolerance_m, timeout_s if timeout_s is not None else 30.0 + first_m / 2, "arrival")
    )
    state = start
    for limit_m, bound_s, phase in steps:
        what = f"goto {phase}: within {limit_m:.1f} m of {lat_deg:.7f}, {lon_deg:.7f}"
        state = wait_until(link, watch(limit_m), timeout_s=bound_s, what=what, since=start)
        if state.custom_mode != start.custom_mode:
            texts = (f"the vehicle left {start.mode_name} for {state.mode_name}",)
            raise CommandRefused(
                "goto", None, texts + collect_texts(link, text_mark, max_severity=5)
            )
    return state


def _require_guided_armed(link: DroneLink, command: str) -> VehicleState:
    state = link.state
    problems = []
    if state.custom_mode != mode_number("GUIDED"):
        problems.append(f"the vehicle is in {state.mode_name}, not GUIDED")
    if not state.armed:
        problems.append("the vehicle is not armed")
    if problems:
        raise CommandRefused(command, None, tuple(problems))
    return state


def _check_target(lat_deg: float, lon_deg: float, alt_rel_m: float) -> None:
    if not (math.isfinite(lat_deg) and -90.0 <= lat_deg <= 90.0):
        raise InputError(f"latitude {lat_deg} is out of range -90..90")
    if not (math.isfinite(lon_deg) and -180.0 <= lon_deg <= 180.0):
        raise InputError(f"longitude {lon_deg} is out of range -180..180")
    if not math.isfinite(alt_rel_m):
        raise InputError(f"altitude {alt_rel_m} is not a number")


def ground_distance_m(lat1_deg: float, lon1_deg: float, lat2_deg: float, lon2_deg: float) -> float:
    """Distance over the ground (equirectangular: exact enough below a few km)."""
    mean_lat = math.radians((lat1_deg + lat2_deg) / 2)
    dx = math.radians(lon2_deg - lon1_deg) * math.cos(mean_lat)
    dy = math.radians(lat2_deg - lat1_deg)
    return EARTH_RADIUS_M * math.hypot(dx, dy)


def distance_3d_m(state: VehicleState, lat_deg: float, lon_deg: float, alt_rel_m: float) -> float:
    """From the vehicle to a point (altitude above home); infinite while its position is unknown."""
    if state.lat_deg is None or state.lon_deg is None or state.alt_rel_m is None:
        return math.inf
    ground = ground_distance_m(state.lat_deg, state.lon_deg, lat_deg, lon_deg)
    return math.hypot(ground, state.alt_rel_m - alt_rel_m)
