"""What pilots run against the registered drones; the command line is a thin layer on it.

* :mod:`~uav.fleet.links`: a registered drone's link settings (:class:`DroneTarget`: URL,
  system id, signing key) and one :class:`~uav.link.DroneLink` per drone.
* :mod:`~uav.fleet.status`: :func:`fleet_status`, every drone asked at once, bounded.
* :mod:`~uav.fleet.commands`: arm, disarm, set_mode, takeoff, goto, rtl, land, each
  confirmed by its ACK and its effect.
* :mod:`~uav.fleet.missions`: check + upload + verify a plan (:func:`upload_plan`), download
  to a ``.plan`` (:func:`download_plan`, :func:`write_plan`).
* :mod:`~uav.fleet.fly`: :func:`fly`, check, upload, arm, AUTO, follow to the ground.
* :mod:`~uav.fleet.signing`: per-drone keys (:func:`add_drone`, :func:`install_key`).
* :mod:`~uav.fleet.errors`: :class:`DroneError` and its kinds; every message names the drone.
"""

from uav.fleet.errors import (
    DroneError,
    DroneLinkError,
    DroneRefused,
    FlightAborted,
    HomeMismatch,
    PlanRefused,
)
from uav.fleet.events import FlyEvent, InFlight, Readiness, Step, Transfer
from uav.fleet.fly import FlightResult, fly
from uav.fleet.links import DroneTarget, connect, link_config, target, targets
from uav.fleet.missions import (
    CheckedPlan,
    CheckOptions,
    Uploaded,
    check_for_drone,
    download_plan,
    upload_plan,
    write_plan,
)
from uav.fleet.signing import SignedAdd, add_drone, install_key
from uav.fleet.status import DroneStatus, fleet_status

__all__ = [
    "CheckOptions",
    "CheckedPlan",
    "DroneError",
    "DroneLinkError",
    "DroneRefused",
    "DroneStatus",
    "DroneTarget",
    "FlightAborted",
    "FlightResult",
    "FlyEvent",
    "HomeMismatch",
    "InFlight",
    "PlanRefused",
    "Readiness",
    "SignedAdd",
    "Step",
    "Transfer",
    "Uploaded",
    "add_drone",
    "check_for_drone",
    "connect",
    "download_plan",
    "fleet_status",
    "fly",
    "install_key",
    "link_config",
    "target",
    "targets",
    "upload_plan",
    "write_plan",
]
