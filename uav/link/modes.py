"""ArduCopter flight modes: HEARTBEAT.custom_mode numbers and their names."""

from __future__ import annotations

from uav.link.errors import UnknownMode

# ArduCopter's mode numbers (custom_mode), as in its Mode::Number enum.
COPTER_MODES: dict[str, int] = {
    "STABILIZE": 0,
    "ACRO": 1,
    "ALT_HOLD": 2,
    "AUTO": 3,
    "GUIDED": 4,
    "LOITER": 5,
    "RTL": 6,
    "CIRCLE": 7,
    "LAND": 9,
    "DRIFT": 11,
    "SPORT": 13,
    "FLIP": 14,
    "AUTOTUNE": 15,
    "POSHOLD": 16,
    "BRAKE": 17,
    "THROW": 18,
    "AVOID_ADSB": 19,
    "GUIDED_NOGPS": 20,
    "SMART_RTL": 21,
    "FLOWHOLD": 22,
    "FOLLOW": 23,
    "ZIGZAG": 24,
    "SYSTEMID": 25,
    "AUTOROTATE": 26,
    "AUTO_RTL": 27,
    "TURTLE": 28,
}

_NAMES: dict[int, str] = {number: name for name, number in COPTER_MODES.items()}


def mode_number(name: str) -> int:
    """ "GUIDED" -> 4 (case-insensitive); raises :class:`UnknownMode` for other names."""
    key = name.strip().upper().replace("-", "_").replace(" ", "_")
    if key not in COPTER_MODES:
        known = ", ".join(COPTER_MODES)
        raise UnknownMode(f"unknown ArduCopter mode {name!r} (known: {known})")
    return COPTER_MODES[key]


def mode_name(number: int) -> str:
    """4 -> "GUIDED"; numbers Copter does not have give "MODE(99)"."""
    return _NAMES.get(number, f"MODE({number})")
