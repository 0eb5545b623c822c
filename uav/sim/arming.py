"""Pre-arm checks, as far as the recordings show them.

flight.jsonl, ARM at 4.15 s in STABILIZE with the fence enabled: ACK 4 and, severity 2,
``Arm: Accels inconsistent``, ``Arm: EKF attitude is bad``, ``Arm: AHRS: waiting for home``,
``Arm: Fence requires position``. The periodic report at 30.44 s (GUIDED, fence enabled) was
``PreArm: Need Position Estimate`` alone: it names only the first failing check.
"Mode not armable" for AUTO, RTL, LAND, ... is *from source*.
"""

from __future__ import annotations

from uav.sim.boot import BootState
from uav.sim.constants import NOT_ARMABLE_MODES, POSITION_MODES


def prearm_failures(
    boot: BootState, *, mode: int, fence_failure: str | None, arming_check: bool
) -> list[str]:
    """The failing pre-arm checks, in ArduPilot's order (empty: the pre-arm bit is healthy).

    ``fence_failure``: what the fence says (``Fence requires position``), or None.
    """
    failures: list[str] = []
    if arming_check:
        if not boot.accels_consistent:
            failures.append("Accels inconsistent")
        if not boot.attitude_ok:
            failures.append("EKF attitude is bad")
        if not boot.home_settled:
            failures.append("AHRS: waiting for home")
    if mode in POSITION_MODES and not boot.using_gps:
        failures.append("Need Position Estimate")
    if fence_failure:
        failures.append(fence_failure)
    return failures


def arm_failures(
    boot: BootState, *, mode: int, fence_failure: str | None, arming_check: bool
) -> list[str]:
    """What refuses an ARM command now (each reported as ``Arm: <text>``)."""
    failures = prearm_failures(
        boot, mode=mode, fence_failure=fence_failure, arming_check=arming_check
    )
    if mode in NOT_ARMABLE_MODES:
        failures.append("Mode not armable")
    return failures
