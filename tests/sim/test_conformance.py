"""The shared SITL conformance checker against a fresh emulator process.

``core``: the checks that exercise the vehicle core only. ``all``: all 42, which also need
the mission and fence parts (skipped while ``uav/sim/mission.py`` or ``fence.py`` is absent).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.sim.conftest import free_instance
from tests.sim.test_entry_points import read_until, spawn, stop
from uav.sim.parts import load_part

SHARED = Path(__file__).resolve().parents[2].parent / "shared"  # beside the checkout
CHECKER = Path(os.environ.get("UAV_SITL_CONFORMANCE", SHARED / "tools" / "sitl_conformance.py"))
SPEEDUP = 20
CORE_CHECKS = [
    "heartbeat",
    "streams_off_by_default",
    "arm_refused_before_ekf",
    "do_set_mode",
    "do_set_mode_unknown",
    "set_mode_no_ack",
    "request_data_stream_all",
    "set_message_interval",
    "get_message_interval",
    "autopilot_version",
    "param_list",
    "param_defaults",
    "param_read_by_name",
    "param_set",
    "home_position",
    "ready_to_arm",
    "guided_arm",
    "takeoff",
    "guided_goto",
    "rtl_land_disarm",
    "signing_enable",
    "signing_channel0_unsigned",
    "signing_second_link",
    "signing_disable",
]
PART_CHECKS = [  # need uav/sim/mission.py and fence.py
    "mission_upload",
    "mission_download",
    "mission_request_legacy",
    "mission_bad_latitude",
    "mission_unsupported_frame",
    "mission_unsupported_command",
    "mission_no_space",
    "mission_request_resent",
    "mission_upload_timeout",
    "mission_clear_all",
    "fence_upload",
    "fence_download",
    "fence_no_space",
    "fence_unsupported_frame",
    "fence_storage_limit",
    "fence_refused_keeps_old",
    "fence_enable",
    "fence_breach",
]
ALL_CHECKS = CORE_CHECKS + PART_CHECKS


def parts_present() -> bool:
    return all(
        load_part(m, c) is not None
        for m, c in (("mission", "MissionServer"), ("fence", "FenceMonitor"))
    )


@pytest.mark.sitl
@pytest.mark.parametrize("selection", ["core", "all"])
def test_conformance_checks_pass(selection: str) -> None:
    if not CHECKER.exists():
        pytest.skip(f"conformance checker {CHECKER} not available (set UAV_SITL_CONFORMANCE)")
    if selection == "all" and not parts_present():
        pytest.skip("uav/sim/mission.py or fence.py is missing")
    selected = CORE_CHECKS if selection == "core" else ALL_CHECKS
    instance = free_instance()
    vehicle = spawn("-m", "uav.sim", "--speedup", str(SPEEDUP), "-I", str(instance))
    try:
        read_until(vehicle, "Waiting for connection")
        started = time.monotonic()
        result = subprocess.run(
            [
                sys.executable,
                str(CHECKER),
                "--connect",
                f"tcp:127.0.0.1:{5760 + 10 * instance}",
                "--speedup",
                str(SPEEDUP),
                "--only",
                ",".join(selected),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        wall_s = time.monotonic() - started
    finally:
        code, err = stop(vehicle)
        if vehicle.stdout is not None:
            vehicle.stdout.close()
    lines = result.stdout.splitlines()
    passed = {line.split()[1] for line in lines if line.startswith("PASS ")}
    assert passed == set(selected), result.stdout + result.stderr
    assert result.returncode == 0, result.stdout
    assert code == 0, err
    assert wall_s < 60
