"""A MAVLink vehicle emulator that behaves like ArduCopter 4.7 SITL where a ground station
can see it (see ``README.md`` in this folder for where it does not).

    from uav.sim import EmulatedVehicle
    with EmulatedVehicle(instance=0, speedup=10) as vehicle:   # tcp:127.0.0.1:5760
        ...

``python -m uav.sim`` takes arducopter's command line; ``uav sim run`` flies it by hand.
The names below are imported on first use, so that ``python -m uav.sim`` can listen before
it loads pymavlink.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from uav.sim.ports import serial_ports
    from uav.sim.server import EmulatorError, EmulatorServer
    from uav.sim.vehicle import DEFAULT_HOME, EmulatedVehicle, Home

_HOMES = {
    "EmulatorError": "uav.sim.server",
    "EmulatorServer": "uav.sim.server",
    "DEFAULT_HOME": "uav.sim.vehicle",
    "EmulatedVehicle": "uav.sim.vehicle",
    "Home": "uav.sim.vehicle",
    "serial_ports": "uav.sim.ports",
}

__all__ = [
    "DEFAULT_HOME",
    "EmulatedVehicle",
    "EmulatorError",
    "EmulatorServer",
    "Home",
    "serial_ports",
]


def __getattr__(name: str) -> Any:
    module = _HOMES.get(name)
    if module is None:
        raise AttributeError(f"module 'uav.sim' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
