"""The monitor's options and their defaults, light enough for the command line to import.

Default look-ahead, worked out for a drone flying at 10 m/s (WPNAV_SPEED) with the default
action, RTL: ArduCopter SITL stopped from 10 m/s in 21 m after its fence switched it to RTL
(flight.jsonl: RTL at 59.7 m north, furthest point 81.2 m); the emulator takes 20 m when the
drone is above RTL_ALT and up to 40 m below it (it climbs from its stopping point, braking
at WPNAV_ACCEL / 2). Add the reaction: a position every 0.1 s (10 Hz), the prediction
(about 2 ms), the command and its HEARTBEAT (tens of ms): under 1 s, 10 m. 8 s x 10 m/s =
80 m of look-ahead leaves 30 m or more to spare on the emulator and about 50 m on SITL.
BRAKE stops from 10 m/s in 6.7 m (750 cm/s^2).
"""

from __future__ import annotations

from dataclasses import dataclass

from uav.enforce.model import Action
from uav.plans.defaults import DEFAULT_BUFFER_M, DEFAULT_MAX_ALT_M

DEFAULT_LOOKAHEAD_S = 8.0
DEFAULT_MONITOR_TIME_MARGIN_S = 5.0  # the vehicle's GPS clock is exact; covers telemetry lag
DEFAULT_POSITION_RATE_HZ = 10.0
DEFAULT_STALE_S = 3.0


@dataclass(frozen=True)
class MonitorOptions:
    action: Action = Action.RTL
    buffer_m: float = DEFAULT_BUFFER_M  # clearance at or under this triggers the action
    lookahead_s: float = DEFAULT_LOOKAHEAD_S
    max_alt_m: float = DEFAULT_MAX_ALT_M
    time_margin_s: float = DEFAULT_MONITOR_TIME_MARGIN_S
    position_rate_hz: float = DEFAULT_POSITION_RATE_HZ
    stale_s: float = DEFAULT_STALE_S  # wall seconds without a position: the drone is lost
    retry_s: float = 5.0  # wall seconds between attempts at a new link
    connect_timeout_s: float = 5.0
    confirm_timeout_s: float = 5.0  # vehicle seconds for the mode to show in the HEARTBEAT
    episode_clear_s: float = 3.0  # wall seconds without a trigger that end an episode
    reload_s: float = 1.0  # wall seconds between checks for changed zones or grants
    act_on_ground: bool = False  # also act on disarmed drones (benchmarks only)
