"""Live enforcement: ``uav monitor`` predicts each drone's breaches and acts before them.

* :mod:`~uav.enforce.predict`: :class:`Predictor` (pure: no link), a drone state in, an
  :class:`Assessment` out: the first zone it would enter within the lookahead (the plan
  check on a 2-point path) and the clearance to the nearest restrictive zone.
* :mod:`~uav.enforce.monitor`: :class:`Monitor`, one watcher per drone (link, prediction,
  action confirmed by the vehicle), alerts, events.
* :mod:`~uav.enforce.model`: :class:`EnforcementEvent`, :class:`Action`, ...

Names are loaded on first use, so ``uav.store`` can import the event model cheaply.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Action": "uav.enforce.model",
    "EnforcementEvent": "uav.enforce.model",
    "EventKind": "uav.enforce.model",
    "Position": "uav.enforce.model",
    "Result": "uav.enforce.model",
    "Assessment": "uav.enforce.predict",
    "NearestZone": "uav.enforce.predict",
    "PredictedBreach": "uav.enforce.predict",
    "Predictor": "uav.enforce.predict",
    "Monitor": "uav.enforce.monitor",
    "MonitorOptions": "uav.enforce.monitor",
    "MonitorResult": "uav.enforce.monitor",
    "DroneView": "uav.enforce.watch",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'uav.enforce' has no attribute {name!r}")
    return getattr(import_module(module), name)
