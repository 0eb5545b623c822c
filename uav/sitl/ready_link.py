"""The readiness wait over the client link layer (``uav.link.DroneLink`` + ``wait_until``).

:func:`uav.sitl.ready.wait_ready` uses this when ``uav.link`` is installed. The link layer
asks for all telemetry streams (MAV_DATA_STREAM_ALL) itself and measures the wait on the
vehicle's clock.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable
from typing import Any

from uav.sitl.errors import SitlError, SitlTimeout
from uav.sitl.ports import port_free

LISTEN_POLL_S = 0.02
_pause = threading.Event()  # never set: wait(t) is a pause between polls


def link_layer() -> Any | None:
    """The ``uav.link`` module when it is installed, else None."""
    try:
        module = importlib.import_module("uav.link")
    except ImportError:
        return None
    return module if hasattr(module, "DroneLink") and hasattr(module, "wait_until") else None


def wait_ready_via_link(
    link_module: Any,
    url: str,
    host_port: tuple[str, int],
    *,
    timeout_vehicle_s: float,
    wall_limit_s: float,
    connect_timeout_s: float,
    alive: Callable[[], bool],
    on_progress: Callable[[Any], None],
) -> Any:
    """Open a DroneLink on ``url`` and wait until the vehicle is ready; returns a ReadyState."""
    from uav.sitl.ready import ReadyState

    _wait_listening(host_port, connect_timeout_s, alive)
    link = link_module.DroneLink(
        url, link_module.LinkConfig(connect_timeout_s=connect_timeout_s), name=url
    )
    last = ReadyState()

    def ready(state: Any) -> ReadyState | None:
        nonlocal last
        seen = from_vehicle_state(state)
        if not alive():
            raise SitlError(f"the simulator exited while booting: {seen.describe()}")
        if seen != last:
            last = seen
            on_progress(seen)
        return seen if seen.ready else None

    try:
        link.open()
        result: ReadyState = link_module.wait_until(
            link,
            ready,
            timeout_s=timeout_vehicle_s,
            wall_timeout_s=wall_limit_s,
            what="HEARTBEAT, a 3-D GPS fix and an EKF position",
        )
        return result
    except link_module.WaitTimeout as exc:
        raise SitlTimeout(f"vehicle not ready: {exc}; last seen {last.describe()}", last) from None
    except link_module.LinkError as exc:
        raise SitlError(f"{exc}; last seen {last.describe()}") from None
    finally:
        link.close()


def from_vehicle_state(state: Any) -> Any:
    """A link-layer ``VehicleState`` as a :class:`~uav.sitl.ready.ReadyState`."""
    from uav.sitl.ready import ReadyState

    return ReadyState(
        heartbeat=state.last_heartbeat_wall_s is not None,
        armed=state.armed,
        fix_type=state.gps_fix_type,
        satellites=state.satellites,
        ekf_flags=state.ekf_flags,
        vehicle_time_s=state.vehicle_time_s,
    )


def _wait_listening(
    host_port: tuple[str, int], timeout_s: float, alive: Callable[[], bool]
) -> None:
    """Wait until something listens on the port, without connecting (SITL boots on connect)."""
    host, port = host_port
    deadline = time.monotonic() + timeout_s
    while port_free(port, host):
        if not alive():
            raise SitlError(f"the simulator exited before listening on {host}:{port}")
        if time.monotonic() >= deadline:
            raise SitlTimeout(f"nothing listening on {host}:{port} after {timeout_s:g} s")
        _pause.wait(LISTEN_POLL_S)
