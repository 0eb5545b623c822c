"""COMMAND_LONG / COMMAND_INT: each answered by one COMMAND_ACK to the sender.

Observed: the ACK's target is the sender (255/190), progress and result_param2 are 0. It comes
before the STATUSTEXTs and HEARTBEATs the command causes (ARM refused: ACK 4 then the
``Arm:`` texts; DO_SET_MODE: ACK then the HEARTBEAT; MISSION_START: ACK, HEARTBEAT, then
``Mission: 1 Takeoff`` twice), but after a MESSAGE_INTERVAL reply (GET_MESSAGE_INTERVAL),
and before a requested message (REQUEST_MESSAGE, REQUEST_AUTOPILOT_CAPABILITIES).
Unknown commands get MAV_RESULT_UNSUPPORTED *(from source)*.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from uav.sim.constants import (
    AUTO,
    GUIDED,
    LAND,
    MODE_FLAG_CUSTOM,
    RESULT_ACCEPTED,
    RESULT_FAILED,
    RESULT_UNSUPPORTED,
    RTL,
    SEV_CRITICAL,
    mavlink2,
)
from uav.sim.telemetry import BUILDERS, autopilot_version

if TYPE_CHECKING:
    from uav.sim.links import Link
    from uav.sim.vehicle import EmulatedVehicle

FORCE_MAGIC = 21196
AUTOPILOT_VERSION_ID = 148
HEARTBEAT_ID = 0
RELATIVE_FRAMES = frozenset({3, 6, 10, 11})


@dataclass(frozen=True)
class Command:
    """A command from COMMAND_LONG or COMMAND_INT. For COMMAND_INT, ``lat_deg``/``lon_deg``
    come from x/y and ``alt`` from z; for COMMAND_LONG from param5..7."""

    command: int
    params: tuple[float, float, float, float]
    lat_deg: float
    lon_deg: float
    alt: float
    frame: int

    @property
    def p1(self) -> float:
        return self.params[0]

    @property
    def p2(self) -> float:
        return self.params[1]


Outcome = tuple[int, Callable[[], None] | None]  # (MAV_RESULT, what to do after the ACK)
CommandHandler = Callable[["EmulatedVehicle", Command, "Link"], Outcome]


def handle_command_long(v: EmulatedVehicle, msg: Any, link: Link) -> None:
    params = (msg.param1, msg.param2, msg.param3, msg.param4)
    cmd = Command(int(msg.command), params, msg.param5, msg.param6, msg.param7, 3)
    _run(v, cmd, msg, link)


def handle_command_int(v: EmulatedVehicle, msg: Any, link: Link) -> None:
    params = (msg.param1, msg.param2, msg.param3, msg.param4)
    cmd = Command(int(msg.command), params, msg.x * 1e-7, msg.y * 1e-7, msg.z, int(msg.frame))
    _run(v, cmd, msg, link)


def _run(v: EmulatedVehicle, cmd: Command, msg: Any, link: Link) -> None:
    handler = COMMANDS.get(cmd.command)
    with v.deferred_broadcasts():
        result, after = (RESULT_UNSUPPORTED, None) if handler is None else handler(v, cmd, link)
        ack = mavlink2.MAVLink_command_ack_message(
            cmd.command, result, 0, 0, msg.get_srcSystem(), msg.get_srcComponent()
        )
        link.send(ack)
        if after is not None:
            after()


def _result(ok: bool) -> Outcome:
    return (RESULT_ACCEPTED if ok else RESULT_FAILED), None


# ---- arming and modes ----
def arm_disarm(v: EmulatedVehicle, cmd: Command, link: Link) -> Outcome:
    force = round(cmd.p2) == FORCE_MAGIC
    if round(cmd.p1) == 0:
        return _result(v.ap.disarm(force=force))
    if v.ap.armed:
        return RESULT_ACCEPTED, None
    failures = [] if force else v.ap.arm_failures()
    if failures:

        def report() -> None:
            for text in failures:
                v.statustext(SEV_CRITICAL, f"Arm: {text}")

        return RESULT_FAILED, report
    return RESULT_ACCEPTED, v.ap.arm_now


def do_set_mode(v: EmulatedVehicle, cmd: Command, link: Link) -> Outcome:
    if not round(cmd.p1) & MODE_FLAG_CUSTOM:
        return RESULT_FAILED, None
    return _result(v.ap.set_mode(round(cmd.p2)))


def nav_takeoff(v: EmulatedVehicle, cmd: Command, link: Link) -> Outcome:
    return _result(math.isfinite(cmd.alt) and v.ap.takeoff(float(cmd.alt)))


def nav_land(v: EmulatedVehicle, cmd: Command, link: Link) -> Outcome:
    return _result(v.ap.set_mode(LAND))


def nav_return_to_launch(v: EmulatedVehicle, cmd: Command, link: Link) -> Outcome:
    return _result(v.ap.set_mode(RTL))


def mission_start(v: EmulatedVehicle, cmd: Command, link: Link) -> Outcome:
    """AUTO; the first command is announced twice (flight.jsonl)."""
    was_running = v.ap.mode == AUTO and v.ap.auto.running
    if not v.ap.set_mode(AUTO):
        return RESULT_FAILED, None
    if v.ap.armed and not was_running:
        if not v.ap.auto.running:
            v.ap.auto.start_or_resume(v.now_s())
        v.ap.auto.announce_current()
    return RESULT_ACCEPTED, None


def do_reposition(v: EmulatedVehicle, cmd: Command, link: Link) -> Outcome:
    """Fly to a location in GUIDED (param2 bit 0: switch to GUIDED first)."""
    if v.ap.mode != GUIDED and round(cmd.p2) & 1 and not v.ap.set_mode(GUIDED):
        return RESULT_FAILED, None
    home = v.ap.home
    if home is None or not (math.isfinite(cmd.lat_deg) and math.isfinite(cmd.lon_deg)):
        return RESULT_FAILED, None
    alt = float(cmd.alt)
    alt_amsl_m = home.alt_m + alt if cmd.frame in RELATIVE_FRAMES else alt
    if not math.isfinite(alt_amsl_m):
        alt_amsl_m = v.ap.body.alt_m
    return _result(v.ap.guided_goto(cmd.lat_deg, cmd.lon_deg, alt_amsl_m))


def do_change_speed(v: EmulatedVehicle, cmd: Command, link: Link) -> Outcome:
    speed = float(cmd.p2)
    if not speed > 0:
        return RESULT_FAILED, None
    v.ap.auto.speed_mps = speed
    target = v.ap.flight.target
    if target is not None:
        target.speed_mps = speed
    return RESULT_ACCEPTED, None


def do_set_home(v: EmulatedVehicle, cmd: Command, link: Link) -> Outcome:
    if round(cmd.p1) == 1:
        v.ap.set_home_here()
    else:
        from uav.sim.flight import Target

        if not (math.isfinite(cmd.lat_deg) and math.isfinite(cmd.lon_deg)):
            return RESULT_FAILED, None
        north, east = v.ap.origin.to_ne(cmd.lat_deg, cmd.lon_deg)
        v.ap.home = Target(north, east, float(cmd.alt))
    return RESULT_ACCEPTED, v.announce_home


def do_set_mission_current(v: EmulatedVehicle, cmd: Command, link: Link) -> Outcome:
    seq = round(cmd.p1)
    if not 1 <= seq <= len(v.mission_items()):
        return RESULT_FAILED, None
    v.mission_set_current(seq)
    v.ap.auto.jump_to(seq, v.now_s())
    return RESULT_ACCEPTED, None


def do_fence_enable(v: EmulatedVehicle, cmd: Command, link: Link) -> Outcome:
    """0 off, 1 on (2, floor only off, leaves the fence on). In RAM, no PARAM_VALUE."""
    value = round(cmd.p1)
    if value not in (0, 1, 2) or not v.params.exists("FENCE_ENABLE"):
        return RESULT_FAILED, None
    if value != 2:
        v.params.set_in_ram("FENCE_ENABLE", float(value))
    return RESULT_ACCEPTED, None


# ---- messages on request ----
def _message_name(msg_id: int) -> str | None:
    cls = mavlink2.mavlink_map.get(msg_id)
    return None if cls is None else str(cls.msgname)


def request_message(v: EmulatedVehicle, cmd: Command, link: Link) -> Outcome:
    msg_id = round(cmd.p1)
    if msg_id == AUTOPILOT_VERSION_ID:
        return RESULT_ACCEPTED, lambda: link.send(autopilot_version(link.mav))
    name = _message_name(msg_id)
    if name is None or name not in BUILDERS:
        return RESULT_FAILED, None

    def send() -> None:
        built = BUILDERS[name](v, link.mav)
        for msg in built if isinstance(built, list) else [built]:
            if msg is not None:
                link.send(msg)

    return RESULT_ACCEPTED, send


def request_autopilot_capabilities(v: EmulatedVehicle, cmd: Command, link: Link) -> Outcome:
    if round(cmd.p1) != 1:
        return RESULT_ACCEPTED, None
    return RESULT_ACCEPTED, lambda: link.send(autopilot_version(link.mav))


def set_message_interval(v: EmulatedVehicle, cmd: Command, link: Link) -> Outcome:
    """param2: interval in us; -1 stops the message, 0 returns it to its stream's rate."""
    name = _message_name(round(cmd.p1))
    if name is None or name not in BUILDERS or not math.isfinite(cmd.p2):
        return RESULT_FAILED, None
    interval_us = float(cmd.p2)
    interval_s = None if interval_us == 0 else (-1.0 if interval_us < 0 else interval_us / 1e6)
    v.schedules[link.index].set_override(name, interval_s, v.now_s())
    return RESULT_ACCEPTED, None


def get_message_interval(v: EmulatedVehicle, cmd: Command, link: Link) -> Outcome:
    msg_id = round(cmd.p1)
    name = _message_name(msg_id)
    if name is None:
        return RESULT_FAILED, None
    if msg_id == HEARTBEAT_ID:
        interval_us = 1_000_000
    else:
        interval_s = v.schedules[link.index].interval_s(name)
        interval_us = -1 if interval_s is None else round(interval_s * 1e6)
    link.send(mavlink2.MAVLink_message_interval_message(msg_id, interval_us))
    return RESULT_ACCEPTED, None


COMMANDS: dict[int, CommandHandler] = {
    400: arm_disarm,  # MAV_CMD_COMPONENT_ARM_DISARM
    176: do_set_mode,  # MAV_CMD_DO_SET_MODE
    22: nav_takeoff,  # MAV_CMD_NAV_TAKEOFF
    21: nav_land,  # MAV_CMD_NAV_LAND
    20: nav_return_to_launch,  # MAV_CMD_NAV_RETURN_TO_LAUNCH
    300: mission_start,  # MAV_CMD_MISSION_START
    192: do_reposition,  # MAV_CMD_DO_REPOSITION
    178: do_change_speed,  # MAV_CMD_DO_CHANGE_SPEED
    179: do_set_home,  # MAV_CMD_DO_SET_HOME
    224: do_set_mission_current,  # MAV_CMD_DO_SET_MISSION_CURRENT
    207: do_fence_enable,  # MAV_CMD_DO_FENCE_ENABLE
    512: request_message,  # MAV_CMD_REQUEST_MESSAGE
    520: request_autopilot_capabilities,  # MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES
    511: set_message_interval,  # MAV_CMD_SET_MESSAGE_INTERVAL
    510: get_message_interval,  # MAV_CMD_GET_MESSAGE_INTERVAL
}
