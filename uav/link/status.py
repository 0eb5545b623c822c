"""Ask many drones for their state at once, each bounded, none blocking the others."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import replace

from uav.link.connection import DroneLink, LinkConfig
from uav.link.errors import ConnectFailed, LinkError, WaitTimeout
from uav.link.state import VehicleState
from uav.link.waits import wait_until

StatusOrError = VehicleState | LinkError

CONNECT_SHARE = 0.45  # of the bound, for each of TCP connect and the first HEARTBEAT
JOIN_GRACE_S = 0.5


def has_telemetry(state: VehicleState) -> bool:
    """The streams have started: GPS, battery and EKF status have all been heard."""
    return (
        state.gps_fix_type is not None
        and state.voltage_v is not None
        and state.ekf_flags is not None
    )


def query_status(
    urls: Mapping[str, str], timeout_s: float = 5.0, *, config: LinkConfig | None = None
) -> dict[str, StatusOrError]:
    """Connect to every drone concurrently (one thread each) and return each one's
    :class:`VehicleState` (as complete as it got within the bound) or the
    :class:`LinkError` that stopped it. Returns within about ``timeout_s`` wall seconds; a
    drone that has not answered by then is reported as :class:`ConnectFailed`."""
    base = config or LinkConfig()
    cfg = replace(base, connect_timeout_s=timeout_s * CONNECT_SHARE, reconnect_attempts=0)
    deadline = time.monotonic() + timeout_s
    results: dict[str, StatusOrError] = {}
    lock = threading.Lock()

    def work(name: str, url: str) -> None:
        outcome = _query_one(name, url, cfg, deadline)
        with lock:
            results.setdefault(name, outcome)

    threads = [
        threading.Thread(target=work, args=(name, url), name=f"status {name}", daemon=True)
        for name, url in urls.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()) + JOIN_GRACE_S)
    with lock:
        for name, url in urls.items():
            results.setdefault(name, ConnectFailed(url, f"no answer within {timeout_s:g} s"))
        return {name: results[name] for name in urls}


def _query_one(name: str, url: str, config: LinkConfig, deadline: float) -> StatusOrError:
    link = DroneLink(url, config, name=name)
    try:
        link.open()
        remaining = deadline - time.monotonic()
        try:
            return wait_until(
                link,
                lambda s: s if has_telemetry(s) else None,
                timeout_s=max(0.0, remaining),
                wall_timeout_s=max(0.0, remaining),
                what=f"{name}: telemetry",
            )
        except WaitTimeout as exc:
            return exc.last_state or link.state
    except LinkError as exc:
        return exc
    finally:
        link.close()
