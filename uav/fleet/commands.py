"""One command to one registered drone, confirmed by its ACK and by its effect.

Each function opens the drone's link (bounded), runs the :mod:`uav.link` command, closes
the link and returns the vehicle state that showed the effect. A refusal by the vehicle is
raised as :class:`~uav.fleet.errors.DroneRefused` with its texts; a link that fails or a
confirmation that does not come in time as :class:`~uav.fleet.errors.DroneLinkError`; bad
input (an unknown mode, a latitude out of range) as :class:`~uav.errors.InputError` before
anything is sent.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from uav import link as ml
from uav.errors import InputError
from uav.fleet.errors import about
from uav.fleet.links import connect, target
from uav.fleet.movecheck import (
    GOTO_WHAT,
    TAKEOFF_WHAT,
    check_goto,
    check_takeoff,
    position_of,
)
from uav.link import DroneLink, LinkConfig, VehicleState
from uav.link.modes import mode_name, mode_number

if TYPE_CHECKING:
    from uav.store import Store

LANDING_TIMEOUT_S = 300.0  # vehicle seconds for an RTL or LAND to end disarmed

Action = Callable[[DroneLink], VehicleState]


def run(store: Store, name: str, action: Action, base: LinkConfig | None = None) -> VehicleState:
    """Open the drone's link, run ``action`` on it, close the link; errors name the drone."""
    t = target(store, name)
    with connect(t, base) as link, about(t.name):
        return action(link)


def arm(store: Store, name: str) -> VehicleState:
    """Arm; returns once the HEARTBEAT shows it armed."""
    return run(store, name, ml.arm)


def disarm(store: Store, name: str, *, force: bool = False) -> VehicleState:
    """Disarm (``force``: also in flight, the drone falls); returns once disarmed."""
    return run(store, name, lambda link: ml.disarm(link, force=force))


def set_mode(store: Store, name: str, mode: str) -> VehicleState:
    """Switch to ``mode`` (checked before connecting); returns once the HEARTBEAT shows it."""
    canonical = mode_name(mode_number(mode))
    return run(store, name, lambda link: ml.set_mode(link, canonical))


def takeoff(store: Store, name: str, alt_m: float, *, check: bool = True) -> VehicleState:
    """Take off to ``alt_m`` above home (armed, in GUIDED); returns at that altitude.
    ``check``: refuse a climb inside a zone (:func:`uav.fleet.movecheck.check_takeoff`)."""
    if not (math.isfinite(alt_m) and alt_m > 0):
        raise InputError(f"take-off altitude {alt_m} m must be above 0")

    def action(link: DroneLink) -> VehicleState:
        if check and link.state.armed:  # unarmed, the vehicle's own refusal comes first
            check_takeoff(store, name, position_of(link, TAKEOFF_WHAT), alt_m)
        return ml.takeoff(link, alt_m)

    return run(store, name, action)


def goto(
    store: Store,
    name: str,
    lat_deg: float,
    lon_deg: float,
    alt_rel_m: float,
    *,
    check: bool = True,
) -> VehicleState:
    """Fly to a point, altitude above home (armed, in GUIDED); returns on arrival.
    ``check``: refuse a leg into a zone (:func:`uav.fleet.movecheck.check_goto`)."""
    check_point(lat_deg, lon_deg, alt_rel_m)

    def action(link: DroneLink) -> VehicleState:
        if check and link.state.armed:  # unarmed, the vehicle's own refusal comes first
            state = position_of(link, GOTO_WHAT)
            check_goto(store, name, state, lat_deg, lon_deg, alt_rel_m)
        return ml.goto(link, lat_deg, lon_deg, alt_rel_m)

    return run(store, name, action)


def rtl(store: Store, name: str, *, wait_landed: bool = False) -> VehicleState:
    """Return to launch; returns once in RTL, or (``wait_landed``) once landed and disarmed."""
    return run(store, name, lambda link: _then_landed(link, ml.rtl(link), wait_landed))


def land(store: Store, name: str, *, wait_landed: bool = False) -> VehicleState:
    """Land where the drone is; returns once in LAND, or (``wait_landed``) once disarmed."""
    return run(store, name, lambda link: _then_landed(link, ml.land(link), wait_landed))


def _then_landed(link: DroneLink, state: VehicleState, wait_landed: bool) -> VehicleState:
    if not wait_landed:
        return state
    return ml.wait_disarmed(link, timeout_s=LANDING_TIMEOUT_S, allow_lost=True)


def check_point(lat_deg: float, lon_deg: float, alt_rel_m: float) -> None:
    """Refuse a target no drone can fly to (bad input, nothing sent)."""
    if not (math.isfinite(lat_deg) and -90.0 <= lat_deg <= 90.0):
        raise InputError(f"latitude {lat_deg} is out of range -90..90")
    if not (math.isfinite(lon_deg) and -180.0 <= lon_deg <= 180.0):
        raise InputError(f"longitude {lon_deg} is out of range -180..180")
    if not (math.isfinite(alt_rel_m) and alt_rel_m > 0):
        raise InputError(f"altitude {alt_rel_m} m above home must be above 0")
