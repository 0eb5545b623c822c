"""Telemetry streams: which message belongs to which stream, and each link's schedule.

Copter's MAVn_* stream rates default to 0, so nothing streams until a ground station asks
(boot.jsonl). REQUEST_DATA_STREAM sets a link's MAVn_* rates in RAM (ALL sets every one
except MAVn_PARAMS); SET_MESSAGE_INTERVAL overrides one message on one link. The membership
below is what flight.jsonl shows with each stream requested on its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# stream param suffix (MAVn_<suffix>) -> message names, in the order SITL sends them
STREAM_MESSAGES: dict[str, tuple[str, ...]] = {
    "RAW_SENS": ("RAW_IMU", "SCALED_IMU2", "SCALED_IMU3", "SCALED_PRESSURE", "SCALED_PRESSURE2"),
    "EXT_STAT": (
        "SYS_STATUS",
        "POWER_STATUS",
        "MEMINFO",
        "NAV_CONTROLLER_OUTPUT",
        "MISSION_CURRENT",
        "GPS_RAW_INT",
        "FENCE_STATUS",
        "POSITION_TARGET_GLOBAL_INT",
    ),
    "RC_CHAN": ("SERVO_OUTPUT_RAW", "RC_CHANNELS"),
    "RAW_CTRL": (),
    "POSITION": ("GLOBAL_POSITION_INT", "LOCAL_POSITION_NED"),
    "EXTRA1": ("ATTITUDE", "SIMSTATE", "AHRS2"),
    "EXTRA2": ("VFR_HUD",),
    "EXTRA3": (
        "AHRS",
        "SYSTEM_TIME",
        "WIND",
        "TERRAIN_REQUEST",
        "TERRAIN_REPORT",
        "BATTERY_STATUS",
        "EKF_STATUS_REPORT",
        "VIBRATION",
    ),
    "PARAMS": (),
    "ADSB": ("ADSB_VEHICLE",),
}

# MAV_DATA_STREAM id -> the MAVn_* suffixes it sets (0 = ALL: every stream but PARAMS)
DATA_STREAM_IDS: dict[int, tuple[str, ...]] = {
    0: (
        "RAW_SENS",
        "EXT_STAT",
        "RC_CHAN",
        "RAW_CTRL",
        "POSITION",
        "EXTRA1",
        "EXTRA2",
        "EXTRA3",
        "ADSB",
    ),
    1: ("RAW_SENS",),
    2: ("EXT_STAT",),
    3: ("RC_CHAN",),
    4: ("RAW_CTRL",),
    6: ("POSITION",),
    10: ("EXTRA1",),
    11: ("EXTRA2",),
    12: ("EXTRA3",),
}

MAX_STREAM_RATE_HZ = 50.0
# messages SITL sends less often than their stream (TERRAIN_REQUEST: about every 2 s)
MIN_INTERVAL_S = {"TERRAIN_REQUEST": 2.0}

STREAM_OF: dict[str, str] = {
    name: stream for stream, names in STREAM_MESSAGES.items() for name in names
}


def stream_param(link_index: int, suffix: str) -> str:
    """MAV1_* is the first MAVLink port (SERIAL0), MAV2_* SERIAL1, MAV3_* SERIAL2."""
    return f"MAV{link_index + 1}_{suffix}"


@dataclass
class _Entry:
    interval_s: float
    next_due_s: float


class LinkSchedule:
    """When each message is next due on one link.

    Every message of a stream shares its stream's interval and phase, so a stream's messages
    go out together, as SITL sends them; an override from SET_MESSAGE_INTERVAL gives a message
    its own interval (or disables it).
    """

    def __init__(self) -> None:
        self.stream_rates_hz: dict[str, float] = dict.fromkeys(STREAM_MESSAGES, 0.0)
        self.overrides_s: dict[str, float] = {}  # message name -> interval (<0: disabled)
        self._entries: dict[str, _Entry] = {}
        self._stream_phase: dict[str, float] = {}

    # ---- configuration ----
    def set_stream_rate(self, suffix: str, rate_hz: float, now_s: float) -> None:
        rate = min(max(rate_hz, 0.0), MAX_STREAM_RATE_HZ)
        if self.stream_rates_hz.get(suffix) == rate:
            return
        self.stream_rates_hz[suffix] = rate
        if rate > 0:
            self._stream_phase[suffix] = now_s + 1.0 / rate
        for name in STREAM_MESSAGES[suffix]:
            self._rebuild(name, now_s)

    def set_override(self, name: str, interval_s: float | None, now_s: float) -> None:
        """``interval_s`` > 0: that interval; < 0: disabled; None: back to the stream's rate."""
        if interval_s is None:
            self.overrides_s.pop(name, None)
        else:
            self.overrides_s[name] = interval_s
        self._rebuild(name, now_s, own_phase=True)

    def interval_s(self, name: str) -> float | None:
        """The message's current interval, None when it is not sent."""
        override = self.overrides_s.get(name)
        if override is not None:
            return override if override > 0 else None
        stream = STREAM_OF.get(name)
        rate = self.stream_rates_hz.get(stream, 0.0) if stream else 0.0
        if rate <= 0:
            return None
        return max(1.0 / rate, MIN_INTERVAL_S.get(name, 0.0))

    def _rebuild(self, name: str, now_s: float, own_phase: bool = False) -> None:
        interval = self.interval_s(name)
        if interval is None:
            self._entries.pop(name, None)
            return
        current = self._entries.get(name)
        if current is not None and current.interval_s == interval:
            return
        stream = STREAM_OF.get(name)
        anchor = self._stream_phase.get(stream) if stream else None
        if own_phase or name in self.overrides_s or anchor is None:
            first_due = now_s + interval
        else:
            steps = max(0, math.ceil((now_s - anchor) / interval))
            first_due = anchor + steps * interval
        self._entries[name] = _Entry(interval, first_due)

    # ---- running ----
    def due(self, now_s: float) -> list[str]:
        """Names of the messages due at ``now_s``, in stream order; advances their schedule."""
        names: list[str] = []
        for name, entry in self._entries.items():
            if entry.next_due_s <= now_s:
                names.append(name)
                entry.next_due_s += entry.interval_s
                if entry.next_due_s <= now_s:
                    entry.next_due_s = now_s + entry.interval_s
        return names

    def next_due_s(self) -> float:
        return min((e.next_due_s for e in self._entries.values()), default=float("inf"))
