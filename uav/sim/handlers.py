"""What the vehicle does with each message it receives (commands: :mod:`uav.sim.commands`).

Observed: SET_MODE (message 11) is never answered with a COMMAND_ACK, successful or not;
REQUEST_DATA_STREAM changes the link's MAVn_* rates without a PARAM_VALUE; SETUP_SIGNING
gets no reply; SET_POSITION_TARGET_GLOBAL_INT has no ACK either and only acts in GUIDED.
*From source:* TIMESYNC with tc1 = 0 is answered with the vehicle's time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from uav.sim.commands import handle_command_int, handle_command_long
from uav.sim.constants import GUIDED, MODE_FLAG_CUSTOM, SEV_WARNING, mavlink2
from uav.sim.streams import DATA_STREAM_IDS, stream_param
from uav.sim.telemetry import BUILDERS

if TYPE_CHECKING:
    from uav.sim.links import Link
    from uav.sim.vehicle import EmulatedVehicle

Handler = Callable[["EmulatedVehicle", Any, "Link"], None]

POSITION_IGNORED = 0b111  # POSITION_TARGET_TYPEMASK_X/Y/Z_IGNORE
AMSL_FRAMES = frozenset({0, 5})  # GLOBAL, GLOBAL_INT
RELATIVE_FRAMES = frozenset({3, 6, 10, 11})  # relative to home (terrain frames too: no terrain)


def handle_message(v: EmulatedVehicle, msg: Any, link: Link) -> None:
    kind = msg.get_type()
    consumed = v.parts is not None and v.parts.handle(msg, link)
    if kind == "MISSION_SET_CURRENT":
        _after_set_current(v, msg, link, consumed)
        return
    if consumed:
        return
    handler = HANDLERS.get(kind)
    if handler is not None:
        handler(v, msg, link)


def on_param_request_list(v: EmulatedVehicle, msg: Any, link: Link) -> None:
    v.param_protocol.request_list(link)


def on_param_request_read(v: EmulatedVehicle, msg: Any, link: Link) -> None:
    v.param_protocol.request_read(link, msg)


def on_param_set(v: EmulatedVehicle, msg: Any, link: Link) -> None:
    v.param_protocol.set(msg)


def on_request_data_stream(v: EmulatedVehicle, msg: Any, link: Link) -> None:
    suffixes = DATA_STREAM_IDS.get(int(msg.req_stream_id))
    if suffixes is None:
        return
    rate = float(msg.req_message_rate) if msg.start_stop else 0.0
    for suffix in suffixes:
        name = stream_param(link.index, suffix)
        if v.params.exists(name):
            v.params.set_in_ram(name, rate)


def on_set_mode(v: EmulatedVehicle, msg: Any, link: Link) -> None:
    if int(msg.base_mode) & MODE_FLAG_CUSTOM:
        v.ap.set_mode(int(msg.custom_mode))


def on_set_position_target_global_int(v: EmulatedVehicle, msg: Any, link: Link) -> None:
    if v.ap.mode != GUIDED or int(msg.type_mask) & POSITION_IGNORED:
        return
    frame = int(msg.coordinate_frame)
    home = v.ap.home
    if frame in AMSL_FRAMES:
        alt_amsl_m = float(msg.alt)
    elif frame in RELATIVE_FRAMES and home is not None:
        alt_amsl_m = home.alt_m + float(msg.alt)
    else:
        return
    v.ap.guided_goto(msg.lat_int * 1e-7, msg.lon_int * 1e-7, alt_amsl_m)


def on_setup_signing(v: EmulatedVehicle, msg: Any, link: Link) -> None:
    if v.ap.armed:
        v.statustext(SEV_WARNING, "ERROR: Won't setup signing when armed")
        return
    encoders = [(other.index, other.mav) for other in v.links]
    v.signing.setup(bytes(msg.secret_key), int(msg.initial_timestamp), encoders)


def on_timesync(v: EmulatedVehicle, msg: Any, link: Link) -> None:
    if int(msg.tc1) == 0:
        link.send(mavlink2.MAVLink_timesync_message(int(v.now_s() * 1e9), int(msg.ts1)))


def _after_set_current(v: EmulatedVehicle, msg: Any, link: Link, consumed: bool) -> None:
    """MISSION_SET_CURRENT: the mission server keeps the seq, AUTO jumps there."""
    seq = int(msg.seq)
    if not consumed:
        if not 1 <= seq <= len(v.mission_items()):
            return
        v.mission_set_current(seq)
        link.send(BUILDERS["MISSION_CURRENT"](v, link.mav))
    v.ap.auto.jump_to(v.mission_current_seq(), v.now_s())


def on_command_long(v: EmulatedVehicle, msg: Any, link: Link) -> None:
    handle_command_long(v, msg, link)


def on_command_int(v: EmulatedVehicle, msg: Any, link: Link) -> None:
    handle_command_int(v, msg, link)


HANDLERS: dict[str, Handler] = {
    "PARAM_REQUEST_LIST": on_param_request_list,
    "PARAM_REQUEST_READ": on_param_request_read,
    "PARAM_SET": on_param_set,
    "REQUEST_DATA_STREAM": on_request_data_stream,
    "SET_MODE": on_set_mode,
    "SET_POSITION_TARGET_GLOBAL_INT": on_set_position_target_global_int,
    "SETUP_SIGNING": on_setup_signing,
    "TIMESYNC": on_timesync,
    "COMMAND_LONG": on_command_long,
    "COMMAND_INT": on_command_int,
}
