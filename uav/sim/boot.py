"""The boot sequence of a fresh SITL, in vehicle seconds after the first client connects.

Times, texts and saved parameters are those of boot.jsonl (the other scenarios agree within
a few ms); which sensors and estimates are ready at a time follows from them. Inferred:
the "Accels inconsistent" pre-arm failure clears at 10 s, and the pre-arm check bit waits
3.6 s after the origin (boot.jsonl: origin 20.02, bit healthy 23.64), reported by the
emulator as "AHRS: waiting for home".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from uav.sim.constants import FIRMWARE_NAME

if TYPE_CHECKING:
    from uav.sim.vehicle import EmulatedVehicle

HEARTBEATS_START_S = 1.01
EXTRA_BOOT_HEARTBEATS_S = (1.027, 2.048)  # the second HEARTBEAT of the pairs at 1 s and 2 s
BOOTED_S = 3.0  # system_status BOOT -> STANDBY, base_mode 89 -> 81 (first seen at 3.02)
EKF_INITIALISED_S = 4.44
ATTITUDE_ALIGNED_S = 5.89
ACCELS_CONSISTENT_S = 10.0  # inferred
GPS_DETECTED_S = 9.82
GPS_FIRST_FIX_S = 9.89  # fix_type 1, 3 satellites
GPS_FIX_S = 10.14  # fix_type 6 (RTK fixed), 10 satellites
ORIGIN_S = 20.015  # EKF origin and home: GPS_GLOBAL_ORIGIN + HOME_POSITION unrequested
AHRS_HEALTHY_S = 22.64  # SYS_STATUS AHRS bit
HOME_SETTLED_S = 23.64  # SYS_STATUS pre-arm bit healthy when nothing else fails
EKF_USING_GPS_S = 41.41
TIMESYNC_PERIOD_S = 10.0
PREARM_REPORT_FIRST_S = 30.44
PREARM_REPORT_PERIOD_S = 30.0

CONSOLE_TEXT: tuple[tuple[float, bytes], ...] = (
    (
        0.0015,
        b"\n\nInit " + FIRMWARE_NAME.encode() + b"\n\nFree RAM: 524288\nBooting 0/0\n"
        b"Firmware change: erasing EEPROM...\ndone.\n0 0 ",
    ),
    (0.0075, b"0 AP_Logger_File: buffer size=204800\n"),
    (1.914, b"Init Gyro"),
    (1.937, b"*"),
    (2.194, b"*"),
    (2.44, b"\n"),
)

# (vehicle s, severity, text); {field_elevation} is the home altitude, rounded
BOOT_TEXTS: tuple[tuple[float, int, str], ...] = (
    (0.204, 7, "RCInput: decoding UDP (Pulses)"),
    (0.316, 6, "Calibrating barometer"),
    (1.914, 6, "Barometer 1 calibration complete"),
    (1.914, 6, "Barometer 2 calibration complete"),
    (2.44, 6, "ArduPilot Ready"),
    (2.44, 6, "AHRS: DCM active"),
    (2.739, 6, "RC7: SaveWaypoint LOW"),
    (4.442, 6, "EKF3 IMU0 initialised"),
    (4.443, 6, "EKF3 IMU1 initialised"),
    (4.448, 6, "AHRS: EKF3 active"),
    (5.791, 6, "EKF3 IMU0 tilt alignment complete"),
    (5.791, 6, "EKF3 IMU1 tilt alignment complete"),
    (5.89, 6, "EKF3 IMU0 MAG0 initial yaw alignment complete"),
    (5.89, 6, "EKF3 IMU1 MAG0 initial yaw alignment complete"),
    (9.797, 6, "GPS 1: probing for u-blox at 230400 baud"),
    (9.82, 6, "GPS 1: detected u-blox"),
    (20.016, 6, "EKF3 IMU0 origin set"),
    (20.039, 6, "Field Elevation Set: {field_elevation}m"),
    (20.208, 6, "EKF3 IMU1 origin set"),
    (41.41, 6, "EKF3 IMU0 is using GPS"),
    (41.614, 6, "EKF3 IMU1 is using GPS"),
)

# (vehicle s, parameter names) the vehicle saves, and so announces, by itself while booting
BOOT_PARAM_SAVES: tuple[tuple[float, tuple[str, ...]], ...] = (
    (0.204, ("ESC_CALIBRATION", "RELAY1_FUNCTION")),
    (0.216, ("COMPASS_DEV_ID", "COMPASS_DEV_ID2", "COMPASS_DEV_ID3", "COMPASS_EXTERNAL")),
    (0.216, ("COMPASS_DEV_ID", "COMPASS_DEV_ID2", "COMPASS_DEV_ID3")),
    (0.317, ("CAM1_TYPE", "CAM2_TYPE", "BARO_ALT_OFFSET")),
    (1.914, ("BARO1_GND_PRESS", "BARO2_GND_PRESS", "INS_GYR_ID", "INS_ACC_ID")),
    (1.914, ("INS_GYR2_ID", "INS_ACC2_ID")),
    (2.44, ("INS_GYROFFS_X", "INS_GYROFFS_Y", "INS_GYROFFS_Z", "INS_GYR_ID", "INS_GYR1_CALTEMP")),
    (2.441, ("INS_GYR2OFFS_X", "INS_GYR2OFFS_Y", "INS_GYR2OFFS_Z", "INS_GYR2_ID")),
    (2.441, ("INS_GYR2_CALTEMP", "INS_GYR3OFFS_X", "INS_GYR3OFFS_Y", "INS_GYR3OFFS_Z")),
    (2.441, ("INS_GYR3_ID",)),
    (3.445, ("EK3_SRC1_POSXY",)),
)
# the first saved parameter reports param_count 1322: the list is not complete yet
EARLY_PARAM_COUNT = 1322
EARLY_PARAM_COUNT_FOR = "ESC_CALIBRATION"
# when the origin is set the vehicle stores home as mission item 0 and re-reads the baro
ORIGIN_PARAM_SAVES: tuple[tuple[str, float | None], ...] = (
    ("MIS_TOTAL", None),
    ("BARO1_GND_PRESS", 101325.016),
    ("BARO2_GND_PRESS", 101323.555),
)


@dataclass(frozen=True)
class BootState:
    """What is ready at a vehicle time."""

    now_s: float

    @property
    def booted(self) -> bool:
        return self.now_s >= BOOTED_S

    @property
    def gps_detected(self) -> bool:
        return self.now_s >= GPS_FIRST_FIX_S

    @property
    def gps_fix_type(self) -> int:
        if self.now_s >= GPS_FIX_S:
            return 6
        return 1 if self.now_s >= GPS_FIRST_FIX_S else 0

    @property
    def gps_satellites(self) -> int:
        return {6: 10, 1: 3}.get(self.gps_fix_type, 0)

    @property
    def has_gps_position(self) -> bool:
        return self.gps_fix_type >= 3

    @property
    def ekf_initialised(self) -> bool:
        return self.now_s >= EKF_INITIALISED_S

    @property
    def attitude_ok(self) -> bool:
        return self.now_s >= ATTITUDE_ALIGNED_S

    @property
    def accels_consistent(self) -> bool:
        return self.now_s >= ACCELS_CONSISTENT_S

    @property
    def origin_set(self) -> bool:
        return self.now_s >= ORIGIN_S

    @property
    def ahrs_healthy(self) -> bool:
        return self.now_s >= AHRS_HEALTHY_S

    @property
    def home_settled(self) -> bool:
        return self.now_s >= HOME_SETTLED_S

    @property
    def using_gps(self) -> bool:
        """The EKF has an absolute horizontal position (EKF_STATUS_REPORT 0x33f)."""
        return self.now_s >= EKF_USING_GPS_S


class BootScript:
    """The timed boot events of one vehicle, run as its clock passes them."""

    def __init__(self, vehicle: EmulatedVehicle) -> None:
        self.v = vehicle
        self._events = self._build()
        self._next = 0

    def next_s(self) -> float:
        """Vehicle time of the next event (inf when all have run)."""
        return self._events[self._next][0] if self._next < len(self._events) else float("inf")

    def run_until(self, until_s: float) -> None:
        while self._next < len(self._events) and self._events[self._next][0] <= until_s:
            action = self._events[self._next][1]
            self._next += 1
            action()

    def _build(self) -> list[tuple[float, Callable[[], None]]]:
        v = self.v
        events: list[tuple[float, Callable[[], None]]] = []
        for at_s, data in CONSOLE_TEXT:
            events.append((at_s, partial(v.links[0].write_bytes, data)))
        for at_s in EXTRA_BOOT_HEARTBEATS_S:
            events.append((at_s, v.send_heartbeats))
        elevation = round(v.start_home.alt_amsl_m)
        for at_s, severity, text in BOOT_TEXTS:
            line = text.format(field_elevation=elevation)
            events.append((at_s, partial(v.statustext, severity, line)))
        for at_s, names in BOOT_PARAM_SAVES:
            events.append((at_s, partial(self._announce_params, names)))
        events.append((ORIGIN_S, self._set_origin))
        events.append((ORIGIN_S + 0.027, self._origin_param_saves))
        events.sort(key=lambda e: e[0])
        return events

    def _announce_params(self, names: Sequence[str]) -> None:
        for name in names:
            early = name == EARLY_PARAM_COUNT_FOR
            self.v.param_protocol.announce(name, EARLY_PARAM_COUNT if early else None)

    def _set_origin(self) -> None:
        """EKF origin and home: GPS_GLOBAL_ORIGIN and HOME_POSITION to every link. Without a
        mission part the vehicle saves MIS_TOTAL (home is mission item 0) itself."""
        v = self.v
        if v.ap.home is None:
            v.ap.set_home_here()
        v.announce_home()
        if v.parts is None or v.parts.mission is None:
            v.params.set_in_ram("MIS_TOTAL", max(v.params.get("MIS_TOTAL"), 1.0))
            v.param_protocol.announce("MIS_TOTAL")

    def _origin_param_saves(self) -> None:
        for name, value in ORIGIN_PARAM_SAVES:
            if value is not None:
                self.v.params.set_in_ram(name, value)
                self.v.param_protocol.announce(name)
