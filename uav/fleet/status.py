"""``uav fleet status``: every drone asked at once, each within the same bound.

One thread per drone runs :func:`uav.link.query_status` with that drone's link settings
(system id, signing key); a drone that has not answered when the bound runs out is reported
as not answering, and never holds up the others.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from uav.errors import InputError
from uav.fleet.links import DroneTarget, link_config, targets
from uav.link import LinkError, VehicleState, query_status
from uav.link.status import has_telemetry

if TYPE_CHECKING:
    from uav.store import Store

DEFAULT_TIMEOUT_S = 5.0
JOIN_GRACE_S = 1.0  # beyond the bound, for query_status's own grace and thread start-up

GPS_FIX_NAMES = {0: "no GPS", 1: "no fix", 2: "2D", 3: "3D", 4: "DGPS", 5: "RTK float", 6: "RTK"}


@dataclass(frozen=True)
class DroneStatus:
    """One drone as a status query found it. ``link``: ``ok`` (HEARTBEAT and telemetry),
    ``partial`` (it answered but not all telemetry came within the bound) or ``no answer``
    (``detail`` says why). Altitudes: ``alt_rel_m`` above home, ``alt_amsl_m`` above sea level."""

    name: str
    url: str
    signing: str
    link: str
    detail: str = ""
    mode: str | None = None
    armed: bool | None = None
    system_status: int | None = None
    gps_fix_type: int | None = None
    satellites: int | None = None
    lat_deg: float | None = None
    lon_deg: float | None = None
    alt_rel_m: float | None = None
    alt_amsl_m: float | None = None
    groundspeed_mps: float | None = None
    heading_deg: float | None = None
    battery_pct: int | None = None
    fence_enabled: bool | None = None
    fence_breached: bool | None = None
    last_heard_wall_s: float | None = None  # UNIX time of the drone's last message

    @property
    def answered(self) -> bool:
        return self.link != "no answer"

    @property
    def gps_fix(self) -> str | None:
        if self.gps_fix_type is None:
            return None
        return GPS_FIX_NAMES.get(self.gps_fix_type, f"fix {self.gps_fix_type}")

    @property
    def fence(self) -> str | None:
        """``off``, ``on``, ``breached``, or None when the drone did not say."""
        if self.fence_breached and self.fence_enabled is not False:
            return "breached"
        if self.fence_enabled is None:
            return None
        return "on" if self.fence_enabled else "off"

    @property
    def last_heard(self) -> datetime | None:
        if self.last_heard_wall_s is None:
            return None
        return datetime.fromtimestamp(self.last_heard_wall_s, UTC)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("last_heard_wall_s")
        heard = self.last_heard
        data.update(
            answered=self.answered,
            gps_fix=self.gps_fix,
            fence=self.fence,
            last_heard=heard.isoformat() if heard else None,
        )
        return data


def fleet_status(
    store: Store, names: Sequence[str] = (), *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> list[DroneStatus]:
    """The status of the named drones (default: every registered drone), asked concurrently;
    returns within about ``timeout_s`` wall seconds, in the order of ``names`` (or by name).
    Unknown names raise :class:`~uav.errors.NotFound` before any drone is asked."""
    if not (math.isfinite(timeout_s) and timeout_s > 0):
        raise InputError(f"--timeout {timeout_s}: must be a positive number of seconds")
    wanted = targets(store, names)
    return query_targets(wanted, timeout_s=timeout_s)


def query_targets(wanted: Sequence[DroneTarget], *, timeout_s: float) -> list[DroneStatus]:
    """:func:`fleet_status` for drones already read from the store."""
    outcomes: dict[str, VehicleState | LinkError] = {}
    lock = threading.Lock()

    def ask(t: DroneTarget) -> None:
        found = query_status({t.name: t.url}, timeout_s, config=link_config(t))[t.name]
        with lock:
            outcomes[t.name] = found

    threads = [
        threading.Thread(target=ask, args=(t,), name=f"fleet-status {t.name}", daemon=True)
        for t in wanted
    ]
    deadline = time.monotonic() + timeout_s + JOIN_GRACE_S
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    with lock:
        return [status_of(t, outcomes.get(t.name), timeout_s) for t in wanted]


def status_of(
    t: DroneTarget, outcome: VehicleState | LinkError | None, timeout_s: float
) -> DroneStatus:
    """A :class:`DroneStatus` from what the query returned (None: nothing in time)."""
    if outcome is None:
        return DroneStatus(
            t.name, t.url, t.signing, "no answer", f"no answer within {timeout_s:g} s"
        )
    if isinstance(outcome, LinkError):
        return DroneStatus(t.name, t.url, t.signing, "no answer", str(outcome))
    s = outcome
    complete = has_telemetry(s)
    return DroneStatus(
        name=t.name,
        url=t.url,
        signing=t.signing,
        link="ok" if complete else "partial",
        detail="" if complete else f"not all telemetry came within {timeout_s:g} s",
        mode=s.mode_name,
        armed=s.armed,
        system_status=s.system_status,
        gps_fix_type=s.gps_fix_type,
        satellites=s.satellites,
        lat_deg=s.lat_deg,
        lon_deg=s.lon_deg,
        alt_rel_m=s.alt_rel_m,
        alt_amsl_m=s.alt_amsl_m,
        groundspeed_mps=s.groundspeed_mps,
        heading_deg=s.heading_deg,
        battery_pct=s.battery_pct,
        fence_enabled=s.fence_enabled,
        fence_breached=s.fence_breached,
        last_heard_wall_s=s.last_heard_wall_s,
    )
