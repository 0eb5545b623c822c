"""Mission, fence and rally items as ArduCopter stores and returns them.

What the recordings show (``/work/shared/sitl-traces/README.md``, scenarios 2 and 3):

* Items are checked one by one as they arrive: an unknown command gives
  ``MAV_MISSION_UNSUPPORTED``, a location command in an unsupported frame (8, BODY_NED)
  ``MAV_MISSION_UNSUPPORTED_FRAME``, a latitude beyond ±90° ``MAV_MISSION_INVALID_PARAM5_X``.
* A download returns missions items in the frame they are stored in: commands without a
  location (DO_CHANGE_SPEED, NAV_RETURN_TO_LAUNCH) come back in frame 0 (GLOBAL) whatever
  frame they were sent in; relative-altitude items stay in frame 3. ``autocontinue`` is 1.
* Fence items come back in frame 0 with ``autocontinue`` 0 and ``z`` 0; ``param1`` (vertex
  count or circle radius) and x/y are kept exactly.

*Inferred, not recorded:* the INT frames 5/6/11 download as 0/3/10 (ArduPilot keeps only the
altitude reference, not the encoding); a longitude beyond ±180° gives
``MAV_MISSION_INVALID_PARAM6_Y``; a command is checked before its frame; rally points come
back in their (normalised) frame with ``z`` rounded to whole metres and ``autocontinue`` 0.

Every item is held as a :class:`StoredItem` and turned into a pymavlink
``MISSION_ITEM_INT`` (or a float ``MISSION_ITEM`` for legacy requests) when sent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink2

# MAV_MISSION_RESULT
MISSION_ACCEPTED = 0
MISSION_ERROR = 1
MISSION_UNSUPPORTED_FRAME = 2
MISSION_UNSUPPORTED = 3
MISSION_NO_SPACE = 4
MISSION_INVALID_PARAM5_X = 10
MISSION_INVALID_PARAM6_Y = 11
MISSION_INVALID_SEQUENCE = 13
MISSION_DENIED = 14
MISSION_OPERATION_CANCELLED = 15

# MAV_MISSION_TYPE
TYPE_MISSION = 0
TYPE_FENCE = 1
TYPE_RALLY = 2
TYPE_ALL = 255
KNOWN_TYPES = (TYPE_MISSION, TYPE_FENCE, TYPE_RALLY)

# MAV_FRAME values a global item may use, mapped to the frame a download reports.
_GLOBAL_FRAMES = {0: 0, 5: 0, 3: 3, 6: 3, 10: 10, 11: 10}

# Fence and rally commands.
CMD_FENCE_RETURN_POINT = 5000
CMD_FENCE_POLYGON_INCLUSION = 5001
CMD_FENCE_POLYGON_EXCLUSION = 5002
CMD_FENCE_CIRCLE_INCLUSION = 5003
CMD_FENCE_CIRCLE_EXCLUSION = 5004
CMD_RALLY_POINT = 5100
FENCE_COMMANDS = frozenset(range(CMD_FENCE_RETURN_POINT, CMD_FENCE_CIRCLE_EXCLUSION + 1))

# Copter mission commands (MAV_CMD) this emulator accepts: True = the item carries a location
# (x/y are latitude/longitude in degE7 and the frame matters), False = x/y/z are parameters.
MISSION_COMMANDS: dict[int, bool] = {
    16: True,  # NAV_WAYPOINT
    17: True,  # NAV_LOITER_UNLIM
    18: True,  # NAV_LOITER_TURNS
    19: True,  # NAV_LOITER_TIME
    20: False,  # NAV_RETURN_TO_LAUNCH
    21: True,  # NAV_LAND
    22: True,  # NAV_TAKEOFF
    30: True,  # NAV_CONTINUE_AND_CHANGE_ALT
    31: True,  # NAV_LOITER_TO_ALT
    82: True,  # NAV_SPLINE_WAYPOINT
    92: False,  # NAV_GUIDED_ENABLE
    93: False,  # NAV_DELAY
    94: True,  # NAV_PAYLOAD_PLACE
    112: False,  # CONDITION_DELAY
    114: False,  # CONDITION_DISTANCE
    115: False,  # CONDITION_YAW
    177: False,  # DO_JUMP
    178: False,  # DO_CHANGE_SPEED
    179: True,  # DO_SET_HOME
    181: False,  # DO_SET_RELAY
    182: False,  # DO_REPEAT_RELAY
    183: False,  # DO_SET_SERVO
    184: False,  # DO_REPEAT_SERVO
    189: True,  # DO_LAND_START
    195: True,  # DO_SET_ROI_LOCATION
    197: False,  # DO_SET_ROI_NONE
    201: True,  # DO_SET_ROI
    202: False,  # DO_DIGICAM_CONFIGURE
    203: False,  # DO_DIGICAM_CONTROL
    205: False,  # DO_MOUNT_CONTROL
    206: False,  # DO_SET_CAM_TRIGG_DIST
    207: False,  # DO_FENCE_ENABLE
    208: False,  # DO_PARACHUTE
    211: False,  # DO_GRIPPER
    212: False,  # DO_AUTOTUNE_ENABLE
    214: False,  # DO_SET_CAM_TRIGG_INTERVAL
    222: False,  # DO_GUIDED_LIMITS
    223: False,  # DO_ENGINE_CONTROL
    1000: False,  # DO_GIMBAL_MANAGER_PITCHYAW
    2000: False,  # IMAGE_START_CAPTURE
    2001: False,  # IMAGE_STOP_CAPTURE
    2500: False,  # VIDEO_START_CAPTURE
    2501: False,  # VIDEO_STOP_CAPTURE
    42600: False,  # DO_WINCH
}

_LAT_LIMIT_E7 = 900_000_000
_LON_LIMIT_E7 = 1_800_000_000


@dataclass(frozen=True)
class StoredItem:
    """One item in the form a download returns it (x/y degE7 for located items, z metres)."""

    seq: int
    frame: int
    command: int
    autocontinue: int
    param1: float
    param2: float
    param3: float
    param4: float
    x: int
    y: int
    z: float
    mission_type: int

    def with_seq(self, seq: int) -> StoredItem:
        return replace(self, seq=seq)

    def to_int_message(self, target_system: int = 0, target_component: int = 0) -> Any:
        """The pymavlink MISSION_ITEM_INT for this item (``current`` is always 0)."""
        return mavlink2.MAVLink_mission_item_int_message(
            target_system, target_component, self.seq, self.frame, self.command, 0,
            self.autocontinue, self.param1, self.param2, self.param3, self.param4,
            self.x, self.y, self.z, self.mission_type,
        )  # fmt: skip

    def to_float_message(self, target_system: int, target_component: int) -> Any:
        """The legacy float MISSION_ITEM (latitude/longitude in degrees)."""
        scale = 1e-7 if has_location(self.command, self.mission_type) else 1.0
        return mavlink2.MAVLink_mission_item_message(
            target_system, target_component, self.seq, self.frame, self.command, 0,
            self.autocontinue, self.param1, self.param2, self.param3, self.param4,
            self.x * scale, self.y * scale, self.z, self.mission_type,
        )  # fmt: skip


def has_location(command: int, mission_type: int) -> bool:
    """True when x/y of this command are a latitude/longitude."""
    if mission_type == TYPE_MISSION:
        return MISSION_COMMANDS.get(command, False)
    return True  # every fence and rally command is a location


def received_item(msg: Any) -> StoredItem:
    """A received MISSION_ITEM or MISSION_ITEM_INT as it arrived, x/y in the INT encoding."""
    x, y = msg.x, msg.y
    if msg.get_type() == "MISSION_ITEM":
        scale = 1e7 if has_location(msg.command, msg.mission_type) else 1.0
        x, y = round(x * scale), round(y * scale)
    return StoredItem(
        seq=msg.seq, frame=msg.frame, command=msg.command, autocontinue=msg.autocontinue,
        param1=msg.param1, param2=msg.param2, param3=msg.param3, param4=msg.param4,
        x=int(x), y=int(y), z=float(msg.z), mission_type=msg.mission_type,
    )  # fmt: skip


def check_item(item: StoredItem) -> int:
    """MISSION_ACCEPTED, or the MAV_MISSION_RESULT that refuses this item."""
    if item.mission_type == TYPE_MISSION:
        if item.command not in MISSION_COMMANDS:
            return MISSION_UNSUPPORTED
        if not MISSION_COMMANDS[item.command]:
            return MISSION_ACCEPTED
    elif item.mission_type == TYPE_FENCE:
        if item.command not in FENCE_COMMANDS:
            return MISSION_UNSUPPORTED
    elif item.command != CMD_RALLY_POINT:
        return MISSION_UNSUPPORTED
    return _check_location(item)


def _check_location(item: StoredItem) -> int:
    if item.frame not in _GLOBAL_FRAMES:
        return MISSION_UNSUPPORTED_FRAME
    if abs(item.x) > _LAT_LIMIT_E7:
        return MISSION_INVALID_PARAM5_X
    if abs(item.y) > _LON_LIMIT_E7:
        return MISSION_INVALID_PARAM6_Y
    return MISSION_ACCEPTED


def stored_form(item: StoredItem) -> StoredItem:
    """What a download will return for an accepted item."""
    if item.mission_type == TYPE_FENCE:
        return replace(item, frame=0, autocontinue=0, z=0.0, param2=0.0, param3=0.0, param4=0.0)
    if item.mission_type == TYPE_RALLY:
        return replace(
            item, frame=_GLOBAL_FRAMES[item.frame], autocontinue=0, z=float(round(item.z))
        )
    frame = _GLOBAL_FRAMES[item.frame] if MISSION_COMMANDS[item.command] else 0
    return replace(item, frame=frame, autocontinue=1)


def home_item(home: tuple[float, float, float] | None) -> StoredItem:
    """Mission seq 0: the current home (NAV_WAYPOINT, frame 0, AMSL), all zeros before home."""
    lat_e7, lon_e7, alt_m = 0, 0, 0.0
    if home is not None:
        lat_e7, lon_e7, alt_m = round(home[0] * 1e7), round(home[1] * 1e7), home[2]
    return StoredItem(
        seq=0, frame=0, command=16, autocontinue=1, param1=0.0, param2=0.0, param3=0.0,
        param4=0.0, x=lat_e7, y=lon_e7, z=alt_m, mission_type=TYPE_MISSION,
    )  # fmt: skip
