"""Numbers and names the emulator shares: firmware identity, Copter modes, MAVLink constants.

Everything here was observed in ``/work/shared/sitl-traces`` (ArduCopter V4.7.0-dev SITL)
unless marked *(from source)* or *(inferred)*.
"""

from __future__ import annotations

from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as _mavlink2

mavlink2: Any = _mavlink2  # the MAVLink 2 ardupilotmega dialect (untyped)

# ---- firmware identity (AUTOPILOT_VERSION, boot banner) ----
FIRMWARE_NAME = "ArduCopter V4.7.0-dev (2598e9d4)"
FIRMWARE_GIT_HASH = b"2598e9d4"
BOARD_ID_TEXT = "3d1219c7c4c5404aaa1f6d2a48adfda4"
FRAME_TEXT = "Frame: QUAD/PLUS"
FLIGHT_SW_VERSION = 0x04070000
CAPABILITIES = 0xFBEF
UID2 = b"3d1219c7c4c5404aa\x00"

VEHICLE_COMPID = 1
MAV_TYPE_QUADROTOR = 2
MAV_AUTOPILOT_ARDUPILOTMEGA = 3

# ---- HEARTBEAT ----
MODE_FLAG_CUSTOM = 1
MODE_FLAG_GUIDED = 8
MODE_FLAG_STABILIZE = 16
MODE_FLAG_MANUAL_INPUT = 64
MODE_FLAG_ARMED = 128
BASE_MODE_BOOT = 89  # observed during BOOT (t < 3 s) although the mode is STABILIZE
BASE_MODE_DISARMED = MODE_FLAG_CUSTOM | MODE_FLAG_STABILIZE | MODE_FLAG_MANUAL_INPUT  # 81

STATE_BOOT = 1
STATE_STANDBY = 3
STATE_ACTIVE = 4

# ---- ArduCopter flight modes (custom_mode numbers) ----
STABILIZE = 0
ACRO = 1
ALT_HOLD = 2
AUTO = 3
GUIDED = 4
LOITER = 5
RTL = 6
CIRCLE = 7
LAND = 9
DRIFT = 11
SPORT = 13
FLIP = 14
AUTOTUNE = 15
POSHOLD = 16
BRAKE = 17
THROW = 18
AVOID_ADSB = 19
GUIDED_NOGPS = 20
SMART_RTL = 21
FLOWHOLD = 22
FOLLOW = 23
ZIGZAG = 24
SYSTEMID = 25
AUTO_RTL = 27

MODE_NAMES: dict[int, str] = {
    STABILIZE: "STABILIZE",
    ACRO: "ACRO",
    ALT_HOLD: "ALT_HOLD",
    AUTO: "AUTO",
    GUIDED: "GUIDED",
    LOITER: "LOITER",
    RTL: "RTL",
    CIRCLE: "CIRCLE",
    LAND: "LAND",
    DRIFT: "DRIFT",
    SPORT: "SPORT",
    FLIP: "FLIP",
    AUTOTUNE: "AUTOTUNE",
    POSHOLD: "POSHOLD",
    BRAKE: "BRAKE",
    THROW: "THROW",
    AVOID_ADSB: "AVOID_ADSB",
    GUIDED_NOGPS: "GUIDED_NOGPS",
    SMART_RTL: "SMART_RTL",
    FLOWHOLD: "FLOWHOLD",
    FOLLOW: "FOLLOW",
    ZIGZAG: "ZIGZAG",
    SYSTEMID: "SYSTEMID",
    AUTO_RTL: "AUTO_RTL",
}

# modes that need an EKF position to be entered while armed, or to arm in *(from source)*
POSITION_MODES = frozenset(
    {AUTO, GUIDED, LOITER, RTL, CIRCLE, DRIFT, POSHOLD, BRAKE, THROW, AVOID_ADSB, SMART_RTL}
    | {FOLLOW, ZIGZAG, AUTO_RTL}
)
# modes ArduCopter refuses to arm in *(from source; AUTO_OPTIONS 0)*
NOT_ARMABLE_MODES = frozenset({AUTO, RTL, LAND, CIRCLE, SMART_RTL, FLIP, AUTOTUNE, AUTO_RTL})
# modes whose throttle comes straight from the pilot (RC3 is at its minimum in SITL)
MANUAL_THROTTLE_MODES = frozenset({STABILIZE, ACRO, DRIFT, SPORT, FLIP})
# modes where the pilot's throttle stick commands a climb rate (minimum stick = descend)
PILOT_CLIMB_MODES = frozenset({ALT_HOLD, LOITER, POSHOLD, FLOWHOLD, ZIGZAG, AUTOTUNE})
# modes that show MAV_MODE_FLAG_GUIDED_ENABLED while armed (observed for GUIDED, RTL, AUTO)
AUTOPILOT_MODES = frozenset({AUTO, GUIDED, RTL, LAND, SMART_RTL, AUTO_RTL, BRAKE, GUIDED_NOGPS})

# ---- MAV_RESULT ----
RESULT_ACCEPTED = 0
RESULT_DENIED = 2
RESULT_UNSUPPORTED = 3
RESULT_FAILED = 4

# ---- MAV_SEVERITY ----
SEV_CRITICAL = 2
SEV_WARNING = 4
SEV_NOTICE = 5
SEV_INFO = 6
SEV_DEBUG = 7

# ---- parameters ----
PARAM_INDEX_NONE = 65535  # param_index of a PARAM_VALUE that answers a read by name

# ---- EKF_STATUS_REPORT.flags ----
EKF_FLAGS_UNINITIALISED = 0x400  # before "EKF3 IMU0 initialised"
EKF_FLAGS_NO_POSITION = 0xA7  # attitude, velocities, vertical position, constant-position mode
EKF_FLAGS_USING_GPS = 0x33F  # + horizontal position (relative, absolute, predicted)

# ---- MAV_SYS_STATUS_* bits as SITL reports them (SYS_STATUS, decoded from the traces) ----
SENSORS_PRESENT = 0x5371FC0F
SENSORS_ENABLED = 0x52419C0F
SENSORS_HEALTH = 0x47519C0F
SENSOR_GPS = 0x20
SENSOR_POSITION_CONTROL = 0x6000  # Z_ALTITUDE_CONTROL | XY_POSITION_CONTROL
SENSOR_GEOFENCE = 0x100000
SENSOR_AHRS = 0x200000
SENSOR_LOGGING = 0x1000000
SENSOR_PREARM_CHECK = 0x10000000

# ---- geometry ----
EARTH_RADIUS_M = 6378137.0  # ArduPilot's LOCATION_SCALING_FACTOR uses this radius
GRAVITY_MSS = 9.80665
