"""The vehicle's clock: boot time multiplied by the speed-up.

SITL starts its clock when the first client connects to SERIAL0 (t = 0 in every recording)
and runs ``speedup`` vehicle seconds per wall second. GPS/UNIX time is taken from the host
clock at boot and then advances in vehicle time, so at a speed-up above 1 the vehicle's
UNIX time runs ahead of the host's.
"""

from __future__ import annotations

import time
from collections.abc import Callable

SIGNING_EPOCH_UNIX_S = 1420070400  # 2015-01-01 UTC; MAVLink signing counts 10 us from here


class VehicleClock:
    """Vehicle seconds since boot, ``speedup`` times faster than the wall clock."""

    def __init__(
        self,
        speedup: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        unix: Callable[[], float] = time.time,
    ) -> None:
        if not speedup > 0:
            raise ValueError(f"speedup must be positive, not {speedup}")
        self.speedup = float(speedup)
        self._monotonic = monotonic
        self._unix = unix
        self._boot_wall_s: float | None = None
        self._boot_unix_s = 0.0

    @property
    def started(self) -> bool:
        return self._boot_wall_s is not None

    def start(self) -> None:
        """Boot now (idempotent)."""
        if self._boot_wall_s is None:
            self._boot_wall_s = self._monotonic()
            self._boot_unix_s = self._unix()

    def now_s(self) -> float:
        """Vehicle seconds since boot (0 before boot)."""
        if self._boot_wall_s is None:
            return 0.0
        return (self._monotonic() - self._boot_wall_s) * self.speedup

    def vehicle_s_at(self, wall_s: float) -> float:
        """The vehicle time at monotonic wall time ``wall_s``."""
        if self._boot_wall_s is None:
            return 0.0
        return (wall_s - self._boot_wall_s) * self.speedup

    def wall_at(self, vehicle_s: float) -> float:
        """The monotonic wall time at which the vehicle clock reads ``vehicle_s``."""
        if self._boot_wall_s is None:
            return float("inf")
        return self._boot_wall_s + vehicle_s / self.speedup

    def unix_s(self, vehicle_s: float) -> float:
        """GPS/UNIX time at vehicle time ``vehicle_s`` (host clock at boot + vehicle time)."""
        return self._boot_unix_s + vehicle_s

    def signing_timestamp(self, vehicle_s: float) -> int:
        """MAVLink signing timestamp (10 us units since 2015-01-01) at ``vehicle_s``."""
        return int((self.unix_s(vehicle_s) - SIGNING_EPOCH_UNIX_S) * 100_000)
