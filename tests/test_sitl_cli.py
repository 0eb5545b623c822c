"""`uav sitl up|down|status` through CliRunner, with a fake `arducopter` that replays `boot`.

The fake binary (tests/test_sitl_replay.py run as a program) takes the real command line,
records it, and serves the recorded boot session on 5760+10N at the requested speed-up, so
``up`` really launches, waits for GPS and EKF, registers, and ``down`` really stops it.
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from uav.sitl import control
from uav.sitl.binary import emulator_available
from uav.sitl.ports import port_free, ports_for, reserve_instances
from uav.sitl.tracking import ProcessTable, is_alive, poll_until, sitl_state_dir

from .conftest import Invoke
from .test_sitl_replay import needs_traces

ROOT = Path(__file__).resolve().parents[1]
SPEEDUP = 100
DRONE = """
name = "{name}"
instance = {instance}
sysid = {sysid}
speedup = {speedup}
serial = "SN-{name}"
params = ["streams.parm", "sysid-{sysid}.parm"]
{role}
[home]
lat_deg = 23.1291
lon_deg = 113.324
alt_amsl_m = 20
heading_deg = 0
"""


@dataclass
class Rig:
    configs: Path
    binary: Path
    defaults_dir: Path
    state: Path
    instances: list[int]

    def up_args(self, *extra: object) -> list[object]:
        return [
            "sitl",
            "up",
            *extra,
            "--configs",
            self.configs,
            "--binary",
            self.binary,
            "--defaults-dir",
            self.defaults_dir,
        ]

    def workdir(self, name: str, instance: int) -> Path:
        return sitl_state_dir(self.state) / "work" / f"I{instance}-{name}"


@pytest.fixture
def rig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    """Two drone configs (TH-T1, and the intruder INTR-T), the fake SITL, a state dir."""
    for var in ("ARDUPILOT_SITL", "ARDUPILOT_HOME", "UAV_SIM", "UAV_SITL_CONFIGS"):
        monkeypatch.delenv(var, raising=False)
    state = tmp_path / "state"
    monkeypatch.setenv("UAV_STATE_DIR", str(state))
    binary = tmp_path / "bin" / "arducopter"
    binary.parent.mkdir()
    binary.write_text(
        f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(ROOT)!r})\n"
        "from tests.test_sitl_replay import main\nmain(sys.argv[1:])\n"
    )
    binary.chmod(0o755)
    defaults_dir = tmp_path / "ardupilot"
    defaults_dir.mkdir()
    (defaults_dir / "copter.parm").write_text("FRAME_CLASS 1\nFRAME_TYPE 0\n")
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "streams.parm").write_text("MAV1_EXT_STAT 2\nMAV1_EXTRA3 2\n")
    with reserve_instances(2) as reservation:
        first, second = reservation.instances
        for name, instance, sysid, role in (
            ("TH-T1", first, 1, ""),
            ("INTR-T", second, 7, 'role = "intruder"'),
        ):
            (configs / f"sysid-{sysid}.parm").write_text(f"MAV_SYSID {sysid}\n")
            (configs / f"{name.lower()}.toml").write_text(
                DRONE.format(name=name, instance=instance, sysid=sysid, speedup=SPEEDUP, role=role)
            )
        try:
            yield Rig(configs, binary, defaults_dir, state, [first, second])
        finally:
            control.down(ProcessTable(sitl_state_dir(state)), term_timeout_s=2)


def status(uav: Invoke) -> list[dict[str, object]]:
    r = uav("sitl", "status", "--json")
    assert r.exit_code == 0, r.stderr
    return list(json.loads(r.stdout))


def fleet(uav: Invoke) -> dict[str, dict[str, object]]:
    return {d["name"]: d for d in json.loads(uav("fleet", "list", "--json").stdout)}


@needs_traces
def test_up_status_down(uav: Invoke, rig: Rig) -> None:
    first, second = rig.instances
    r = uav(*rig.up_args("--all", "--json", "--wipe"))
    assert r.exit_code == 0, r.stderr
    started = {i["name"]: i for i in json.loads(r.stdout)}
    th = started["TH-T1"]
    assert th["ready"] and th["registered"] and not th["already_running"]
    assert th["connect_url"] == f"tcp:127.0.0.1:{5760 + 10 * first}" and th["kind"] == "ardupilot"
    assert started["INTR-T"]["ready"] and not started["INTR-T"]["registered"]
    assert "ready to fly, registered in the fleet" in r.stderr

    drones = fleet(uav)
    assert list(drones) == ["TH-T1"]  # the intruder is not the unit's
    assert drones["TH-T1"]["sim_instance"] == first and drones["TH-T1"]["serial"] == "SN-TH-T1"
    assert drones["TH-T1"]["connect_url"] == th["connect_url"]

    launch = json.loads((rig.workdir("TH-T1", first) / "launch.json").read_text())
    assert launch["cwd"] == str(rig.workdir("TH-T1", first))
    assert launch["argv"] == [
        "--model",
        "+",
        "--speedup",
        str(SPEEDUP),
        "--defaults",
        f"{rig.defaults_dir / 'copter.parm'},{rig.configs / 'streams.parm'},"
        f"{rig.configs / 'sysid-1.parm'}",
        "--home",
        "23.1291,113.324,20,0",
        "-I",
        str(first),
    ]

    tracked = {s["name"]: s for s in status(uav)}
    assert tracked["TH-T1"]["alive"] and tracked["INTR-T"]["alive"]
    assert tracked["TH-T1"]["ports"] == list(ports_for(first))
    assert tracked["INTR-T"]["role"] == "intruder" and tracked["INTR-T"]["instance"] == second
    assert tracked["TH-T1"]["command"][0] == str(rig.binary)

    again = uav(*rig.up_args("TH-T1"))
    assert again.exit_code == 0, again.stderr
    assert "already running" in again.stderr
    assert again.stdout == f"TH-T1\ttcp:127.0.0.1:{5760 + 10 * first}\n"
    assert {s["pid"] for s in status(uav)} == {s["pid"] for s in tracked.values()}

    r = uav("sitl", "down", "INTR-T")
    assert r.exit_code == 0 and "INTR-T" in r.stderr and ": stopped" in r.stderr
    assert not is_alive(int(str(tracked["INTR-T"]["pid"])))
    assert [s["name"] for s in status(uav)] == ["TH-T1"]
    r = uav("sitl", "down")
    assert r.exit_code == 0 and "TH-T1" in r.stderr and ": stopped" in r.stderr
    assert not is_alive(int(str(tracked["TH-T1"]["pid"])))
    assert status(uav) == []
    assert all(port_free(p) for p in ports_for(first))
    assert list(fleet(uav)) == ["TH-T1"]  # the registration stays for the next `up`


@needs_traces
def test_down_kills_what_ignores_sigterm(
    uav: Invoke, rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_IGNORE_SIGTERM", "1")
    r = uav(*rig.up_args("TH-T1", "--no-wait"))
    assert r.exit_code == 0, r.stderr
    assert "registered in the fleet" in r.stderr and "ready" not in r.stderr
    port = ports_for(rig.instances[0])[0]
    poll_until(lambda: not port_free(port), timeout_s=15, what="fake SITL listening")
    r = uav("sitl", "down", "--timeout", "0.3")
    assert r.exit_code == 0 and ": killed" in r.stderr
    assert status(uav) == []


@needs_traces
def test_a_vehicle_not_ready_in_time_is_stopped_and_not_registered(uav: Invoke, rig: Rig) -> None:
    r = uav(*rig.up_args("TH-T1", "--timeout", "5"))
    assert r.exit_code == 2
    assert "vehicle not ready" in r.stderr and "EKF" in r.stderr and "stopped (log:" in r.stderr
    assert r.stdout == ""
    assert status(uav) == [] and fleet(uav) == {}
    log = rig.workdir("TH-T1", rig.instances[0]) / "sitl.log"
    assert "stand-in vehicle listening" in log.read_text()


def test_no_binary_is_exit_2_with_the_way_out(
    uav: Invoke, rig: Rig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    r = uav("sitl", "up", "--configs", rig.configs)
    assert r.exit_code == 2
    assert "no ArduPilot SITL binary found" in r.stderr and "--emulator" in r.stderr
    assert status(uav) == []


def test_emulator_on_request_only(uav: Invoke, rig: Rig) -> None:
    if emulator_available():
        pytest.skip("uav.sim is installed: covered by the emulator's own tests")
    r = uav("sitl", "up", "--configs", rig.configs, "--emulator")
    assert r.exit_code == 2 and "python -m uav.sim) is not installed" in r.stderr


def test_real_sitl_needs_copter_parm(uav: Invoke, rig: Rig) -> None:
    r = uav("sitl", "up", "--configs", rig.configs, "--binary", rig.binary)
    assert r.exit_code == 2 and "copter.parm" in r.stderr and "ARDUPILOT_HOME" in r.stderr
    assert status(uav) == []


def test_nothing_starts_when_a_real_drone_has_the_name(uav: Invoke, rig: Rig) -> None:
    assert uav("fleet", "add", "TH-T1", "--connect", "udpin:0.0.0.0:14550").exit_code == 0
    r = uav(*rig.up_args())
    assert r.exit_code == 2 and "TH-T1 is registered as a real drone" in r.stderr
    assert status(uav) == []
    assert fleet(uav)["TH-T1"]["connect_url"] == "udpin:0.0.0.0:14550"


def test_nothing_starts_when_a_port_is_taken(uav: Invoke, rig: Rig) -> None:
    port = ports_for(rig.instances[0])[1]
    with socket.create_server(("127.0.0.1", port)):
        r = uav(*rig.up_args("--all"))
    assert r.exit_code == 2 and f"port(s) {port}" in r.stderr and "another program" in r.stderr
    assert status(uav) == []


def test_bad_names_and_empty_state(uav: Invoke, rig: Rig) -> None:
    r = uav(*rig.up_args("TH-T9"))
    assert r.exit_code == 2 and "no simulator config named TH-T9" in r.stderr
    r = uav("sitl", "down")
    assert r.exit_code == 0 and "no simulators are tracked" in r.stderr
    r = uav("sitl", "down", "TH-T1")
    assert r.exit_code == 2 and "no simulator named TH-T1 is tracked" in r.stderr
    r = uav("sitl", "status")
    assert r.exit_code == 0 and "0 simulator(s), 0 alive" in r.stderr


@needs_traces
def test_an_interrupted_up_stops_what_it_started(rig: Rig) -> None:
    from uav.sitl.binary import SimKind
    from uav.sitl.config import select_configs
    from uav.sitl.launch import Launcher

    def interrupt(_name: str, _state: object) -> None:
        raise KeyboardInterrupt  # as Ctrl-C would, while waiting

    table = ProcessTable(sitl_state_dir(rig.state))
    launcher = Launcher(SimKind.ARDUPILOT, rig.binary, rig.defaults_dir / "copter.parm")
    configs = select_configs(rig.configs, [], include_intruders=True)
    with pytest.raises(KeyboardInterrupt):
        control.up(configs, launcher, table, rig.state / "work", on_progress=interrupt)
    assert table.records() == []
    for instance in rig.instances:
        poll_until(
            lambda i=instance: all(port_free(p) for p in ports_for(i)),
            timeout_s=5,
            what="ports released",
        )


def test_all_on_real_sitl_leaves_out_emulator_only_intruders_and_says_so(
    uav: Invoke, rig: Rig
) -> None:
    (rig.configs / "intruders").mkdir()
    (rig.configs / "intruders" / "traffic.toml").write_text(
        '[[intruders]]\nicao = "0x7801A1"\ncallsign = "UAVX01"\nspeed_mps = 20.0\n'
        "waypoints = [[23.1375, 113.3125, 100.0], [23.1375, 113.3420, 100.0]]\n"
    )
    # an instance of its own: the rig's are reserved but not started, so their ports are free
    spare = next(
        i
        for i in range(300, 400)
        if i not in rig.instances and all(port_free(p) for p in ports_for(i))
    )
    (rig.configs / "tracks.toml").write_text(
        DRONE.format(
            name="TRACKS",
            instance=spare,
            sysid=9,
            speedup=SPEEDUP,
            role='role = "intruder"\nintruders = "intruders/traffic.toml"',
        )
    )
    (rig.configs / "sysid-9.parm").write_text("MAV_SYSID 9\n")
    # named explicitly: refused, nothing started
    r = uav(*rig.up_args("TRACKS", "--no-wait"))
    assert r.exit_code == 2 and "TRACKS: set-track intruders" in r.stderr
    assert status(uav) == []
    # everything: started but that one, which is named with the reason
    r = uav(*rig.up_args("--all", "--no-wait"))
    assert r.exit_code == 0, r.stderr
    assert "skipped" in r.stderr and "TRACKS: set-track intruders" in r.stderr
    assert sorted(s["name"] for s in status(uav)) == ["INTR-T", "TH-T1"]
