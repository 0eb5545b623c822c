"""The ground-station side of MAVLink: one :class:`DroneLink` per drone.

* :mod:`~uav.link.connection`: :class:`DroneLink` (dronekit2 ``Vehicle`` over pymavlink,
  MAVLink 2, source 255/190), reconnects, :class:`VehicleState` snapshots
  (:mod:`~uav.link.state`); :mod:`~uav.link.transport`: the pymavlink level and why
  dronekit's own connection is not used.
* :mod:`~uav.link.waits`: :func:`wait_until` on the vehicle's clock, always bounded.
* :mod:`~uav.link.commands`: arm, disarm, set_mode, takeoff, goto, rtl, land; each confirmed
  by its COMMAND_ACK and its effect. :mod:`~uav.link.params`: set_params, get_params.
* :mod:`~uav.link.missions`: mission / fence / rally upload, download, verify, clear;
  :mod:`~uav.link.mission_items`: the items, FlightPlan <-> items, items -> ``.plan``.
* :mod:`~uav.link.signing`: MAVLink2 signing on and off.
* :mod:`~uav.link.status`: :func:`query_status` of many drones at once.

Everything raised on purpose is a :class:`LinkError` (a :class:`uav.errors.UavError`), or an
:class:`uav.errors.InputError` for arguments that cannot be used (a latitude out of range, an
unknown mode name: :class:`UnknownMode` is both).
"""

from uav.link.commands import (
    arm,
    command_long,
    disarm,
    goto,
    land,
    rtl,
    set_mode,
    start_mission,
    takeoff,
)
from uav.link.connection import DroneLink, LinkConfig
from uav.link.errors import (
    CommandRefused,
    ConnectFailed,
    LinkError,
    LinkLost,
    MissionMismatch,
    MissionRejected,
    ParamRejected,
    SigningError,
    UnknownMode,
    WaitTimeout,
)
from uav.link.mission_items import (
    MissionItemInt,
    mission_items_to_plan_json,
    plan_to_mission_items,
)
from uav.link.params import get_params, set_params
from uav.link.signing import disable_signing, enable_signing, generate_key
from uav.link.state import Home, LinkStatus, StatusText, VehicleState
from uav.link.status import StatusOrError, query_status
from uav.link.subscription import Subscription
from uav.link.waits import wait_disarmed, wait_ready_to_arm, wait_until

__all__ = [
    "CommandRefused",
    "ConnectFailed",
    "DroneLink",
    "Home",
    "LinkConfig",
    "LinkError",
    "LinkLost",
    "LinkStatus",
    "MissionItemInt",
    "MissionMismatch",
    "MissionRejected",
    "ParamRejected",
    "SigningError",
    "StatusOrError",
    "StatusText",
    "Subscription",
    "UnknownMode",
    "VehicleState",
    "WaitTimeout",
    "arm",
    "command_long",
    "disable_signing",
    "disarm",
    "enable_signing",
    "generate_key",
    "get_params",
    "goto",
    "land",
    "mission_items_to_plan_json",
    "plan_to_mission_items",
    "query_status",
    "rtl",
    "set_mode",
    "set_params",
    "start_mission",
    "takeoff",
    "wait_disarmed",
    "wait_ready_to_arm",
    "wait_until",
]
