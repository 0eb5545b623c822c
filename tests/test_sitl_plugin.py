"""The pytest plugin (tests/sim_plugin.py): free instances, and `vehicles` in a real session.

The `vehicles` checks run an inner pytest session in a subprocess, with the fake `arducopter`
of test_sitl_cli.py standing in for ArduPilot SITL, and then check from outside that every
vehicle it started was stopped.
"""

from __future__ import annotations

import importlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from uav.sitl.errors import SitlError
from uav.sitl.ports import port_free, ports_for, reserve_instances

from .test_sitl_replay import needs_traces

ROOT = Path(__file__).resolve().parents[1]
INNER_TIMEOUT_S = 120

INNER_TESTS = """
import json, os
from pathlib import Path

import pytest

from uav.sitl.ports import port_free


@pytest.mark.sitl
def test_two_vehicles(vehicles, sim_kind):
    a, b = vehicles(2, ready=True, speedup=100)
    assert sim_kind.value == os.environ["EXPECT_KIND"]
    assert a.instance != b.instance and (a.sysid, b.sysid) == (1, 2)
    assert a.url == f"tcp:127.0.0.1:{5760 + 10 * a.instance}"
    assert not port_free(a.ports[0]) and not port_free(b.ports[0])
    Path(os.environ["OUT"]).write_text(json.dumps([a.instance, b.instance]))
"""


def test_free_instance_is_free_and_held(free_instance: int) -> None:
    assert all(port_free(p) for p in ports_for(free_instance))
    with pytest.raises(SitlError, match="could not find 1 free"):
        reserve_instances(1, first=free_instance, last=free_instance)


def test_reservations_skip_busy_ports() -> None:
    with reserve_instances(2) as held:
        a, b = held.instances
    with socket.create_server(("127.0.0.1", ports_for(a)[2])):  # another program on SERIAL2
        with pytest.raises(SitlError):
            reserve_instances(1, first=a, last=a)
        with reserve_instances(1, first=min(a, b), last=max(a, b)) as again:
            assert again.instances != [a]


def run_inner(
    tmp_path: Path, env: dict[str, str], *args: str, drop: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    test_file = tmp_path / "test_inner.py"
    test_file.write_text(INNER_TESTS)
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    sitl: simulated vehicle\n")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(test_file),
            "-p",
            "tests.sim_plugin",
            "-p",
            "no:cacheprovider",
            "-c",
            str(tmp_path / "pytest.ini"),
            "-rs",
            "-q",
            *args,
        ],
        cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if k not in drop}, **env},
        capture_output=True,
        text=True,
        timeout=INNER_TIMEOUT_S,
        check=False,
    )


def fake_sitl_env(tmp_path: Path) -> dict[str, str]:
    binary = tmp_path / "bin" / "arducopter"
    binary.parent.mkdir()
    binary.write_text(
        f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(ROOT)!r})\n"
        "from tests.test_sitl_replay import main\nmain(sys.argv[1:])\n"
    )
    binary.chmod(0o755)
    parm = tmp_path / "ardupilot" / "Tools" / "autotest" / "default_params" / "copter.parm"
    parm.parent.mkdir(parents=True)
    parm.write_text("FRAME_CLASS 1\n")
    return {
        "ARDUPILOT_SITL": str(binary),
        "ARDUPILOT_HOME": str(tmp_path / "ardupilot"),
        "OUT": str(tmp_path / "out.json"),
        "EXPECT_KIND": "ardupilot",
    }


@needs_traces
@pytest.mark.sitl
def test_vehicles_start_on_free_instances_and_are_always_stopped(tmp_path: Path) -> None:
    env = fake_sitl_env(tmp_path)
    result = run_inner(tmp_path, env)  # default --sim: a binary is found -> ardupilot
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout and "not confirmed disarmed" not in result.stdout
    instances = json.loads((tmp_path / "out.json").read_text())
    for instance in instances:
        assert all(port_free(p) for p in ports_for(instance)), f"instance {instance} left running"


def test_real_sitl_without_a_binary_skips_with_the_reason(tmp_path: Path) -> None:
    env = {"PATH": str(tmp_path / "empty"), "OUT": "", "EXPECT_KIND": "ardupilot"}
    result = run_inner(tmp_path, env, "--sim=ardupilot", drop=("ARDUPILOT_SITL",))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 skipped" in result.stdout and "no SITL binary" in result.stdout


def emulator_importable() -> bool:
    try:
        return hasattr(importlib.import_module("uav.sim"), "EmulatedVehicle")
    except ImportError:
        return False


def test_emulator_skips_while_uav_sim_is_not_importable(tmp_path: Path) -> None:
    if emulator_importable():
        pytest.skip("uav.sim.EmulatedVehicle exists: the emulator is exercised for real")
    result = run_inner(tmp_path, {"OUT": "", "EXPECT_KIND": "emulator"}, "--sim=emulator")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 skipped" in result.stdout
    assert "uav.sim.EmulatedVehicle is not importable yet" in result.stdout
