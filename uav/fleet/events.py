"""What ``uav fly`` reports while it works, for a display to show (see :mod:`uav.fleet.fly`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    """A stage reached or an action taken ("uploaded and verified: 5 items")."""

    text: str


@dataclass(frozen=True)
class Readiness:
    """The pre-flight wait: what the drone reports so far."""

    gps_fix_type: int | None
    satellites: int | None
    position_ok: bool  # EKF absolute position
    prearm_ok: bool | None
    home_set: bool
    waited_s: float  # vehicle seconds


@dataclass(frozen=True)
class Transfer:
    """Mission items sent (or read back) so far."""

    what: str  # "upload" or "verify"
    done: int
    total: int


@dataclass(frozen=True)
class InFlight:
    """The flight as the latest telemetry shows it. ``seq``/``total``: the mission item being
    flown and the number of items; ``wp_distance_m``: over the ground to that item (None for
    items without a position); ``alt_rel_m`` above home."""

    mode: str | None
    armed: bool | None
    seq: int | None
    total: int | None
    wp_distance_m: float | None
    alt_rel_m: float | None
    groundspeed_mps: float | None
    battery_pct: int | None
    returning: bool  # flying the RTL that Ctrl-C asked for


FlyEvent = Step | Readiness | Transfer | InFlight
OnEvent = Callable[[FlyEvent], None]


def ignore(_event: FlyEvent) -> None:
    """An :data:`OnEvent` that shows nothing."""
