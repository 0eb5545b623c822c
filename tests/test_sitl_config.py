"""sitl_configs/: the shipped drones, the TOML schema's checks, parameter files, commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from uav.errors import InputError
from uav.sitl.binary import SimKind
from uav.sitl.config import (
    effective_params,
    load_config,
    load_configs,
    read_parm_file,
    select_configs,
)
from uav.sitl.launch import Launcher, build_command, instance_workdir
from uav.store.drones import DRONE_NAME_RE

from .test_sitl_replay import TRACES, needs_traces

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "sitl_configs"
SAMPLE = """
name = "TH-T1"
instance = 4
sysid = 1
speedup = 5
params = ["a.parm"]

[home]
lat_deg = 23.1291
lon_deg = 113.324
alt_amsl_m = 20
heading_deg = 0
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    write(tmp_path, "a.parm", "# comment\nFENCE_ENABLE 1\n")
    return write(tmp_path, "th-t1.toml", SAMPLE)


def test_the_shipped_drones() -> None:
    configs = {c.name: c for c in load_configs(CONFIGS)}
    assert sorted(configs) == [
        "INTRUDER-ADSB", "INTRUDER-RID", "STADIUM-TRAFFIC", "TH-01", "TH-02",
    ]  # fmt: skip
    th1, th2 = configs["TH-01"], configs["TH-02"]
    assert (th1.instance, th1.sysid, th1.role) == (0, 1, None)
    assert (th2.instance, th2.sysid, th2.role) == (1, 2, None)
    assert th1.home.as_arg() == "23.1291,113.324,20,0"  # the traces' --home
    assert all(c.vehicle == "copter" and c.model == "+" for c in configs.values())
    intruders = {"INTRUDER-ADSB", "INTRUDER-RID", "STADIUM-TRAFFIC"}
    assert {c.role for n, c in configs.items() if n in intruders} == {"intruder"}
    for c in configs.values():
        assert effective_params(c.params)["MAV_SYSID"] == c.sysid
        assert DRONE_NAME_RE.match(c.name)
    assert [c.name for c in select_configs(CONFIGS, [])] == ["TH-01", "TH-02"]
    everything = select_configs(CONFIGS, [], include_intruders=True)
    assert [c.instance for c in everything] == [0, 1, 2, 3, 4]


@needs_traces
@pytest.mark.parametrize(
    ("scenario", "config"), [("adsb", "INTRUDER-ADSB"), ("remoteid", "INTRUDER-RID")]
)
def test_intruders_carry_the_recorded_recipes(scenario: str, config: str) -> None:
    facts = json.loads((TRACES / f"{scenario}.facts.json").read_text())
    (cfg,) = select_configs(CONFIGS, [config])
    params = effective_params(cfg.params)
    for name, value in facts["launch"]["extra_params"].items():
        assert params[name] == value, name


def test_police_drones_stream_what_the_readiness_wait_needs() -> None:
    for cfg in select_configs(CONFIGS, []):
        params = effective_params(cfg.params)
        assert params["MAV1_EXT_STAT"] > 0 and params["MAV1_EXTRA3"] > 0  # GPS_RAW_INT, EKF
        assert params["FENCE_ENABLE"] == 1 and params["FENCE_ALT_MAX"] <= 120


@needs_traces
def test_real_sitl_command_is_the_one_the_traces_were_recorded_with() -> None:
    (th1,) = select_configs(CONFIGS, ["TH-01"])
    launcher = Launcher(SimKind.ARDUPILOT, Path("/opt/ap/arducopter"), Path("/ap/copter.parm"))
    argv = build_command(th1, launcher, speedup=1)
    recorded = json.loads((TRACES / "boot.facts.json").read_text())["launch"]["command"].split()
    # recorded: arducopter --model + --speedup 1 --defaults copter.parm --home H -I0
    assert argv[0] == "/opt/ap/arducopter" and recorded[0] == "arducopter"
    assert argv[1:6] == recorded[1:6]
    assert argv[7:9] == recorded[7:9] == ["--home", "23.1291,113.324,20,0"]
    assert argv[9:] == ["-I", "0"] and recorded[9:] == ["-I0"]
    defaults = argv[argv.index("--defaults") + 1].split(",")
    assert defaults[0] == "/ap/copter.parm"
    assert defaults[1:] == [str(p) for p in th1.params]


def test_emulator_command_has_no_copter_parm(sample: Path) -> None:
    cfg = load_config(sample)
    argv = build_command(cfg, Launcher(SimKind.EMULATOR))
    assert argv == [
        sys.executable,
        "-m",
        "uav.sim",
        "--model",
        "+",
        "--speedup",
        "5",
        "--defaults",
        str(sample.parent / "a.parm"),
        "--home",
        "23.1291,113.324,20,0",
        "-I",
        "4",
    ]
    assert build_command(cfg, Launcher(SimKind.EMULATOR), speedup=2.5)[6] == "2.5"
    assert instance_workdir(Path("/w"), cfg) == Path("/w/I4-TH-T1")


def test_ardupilot_launcher_needs_binary_and_copter_parm() -> None:
    with pytest.raises(ValueError, match=r"copter\.parm"):
        Launcher(SimKind.ARDUPILOT, Path("/bin/arducopter"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('name = "TH-T1"', 'name = "TH 01"'), "name 'TH 01'"),
        (("speedup = 5", "speedup = 5\nspeed = 3"), "unknown key.*speed"),
        (("speedup = 5", 'speedup = 5\nmodel = "hexa"'), "model 'hexa'"),
        (("speedup = 5", 'speedup = 5\nvehicle = "plane"'), "vehicle 'plane'"),
        (("speedup = 5", 'speedup = 5\nrole = "boss"'), "role 'boss'"),
        (("speedup = 5", "speedup = 0"), "speedup 0.0: must be above 0"),
        (("instance = 4", "instance = -1"), "instance -1"),
        (("instance = 4", "instance = 6000"), "instance 6000"),
        (("instance = 4", 'instance = "4"'), "instance '4'"),
        (("sysid = 1", "sysid = 255"), "sysid 255"),
        (("sysid = 1", "sysid = 2"), "MAV_SYSID 1"),
        (('["a.parm"]', '["missing.parm"]'), "missing.parm not found"),
        (('["a.parm"]', '"a.parm"'), "params must be a list"),
        (("lat_deg = 23.1291", "lat_deg = 93.0"), "lat_deg 93.0"),
        (("lon_deg = 113.324", "lon_deg = 190"), "lon_deg 190"),
        (("heading_deg = 0", "heading_deg = 360"), "heading_deg 360"),
        (("alt_amsl_m = 20", "alt = 20"), "unknown key.*alt"),
        (("speedup = 5", 'speedup = 5\nremote_id = "ID-THAT-IS-FAR-TOO-LONG-X"'), "1..20"),
        (("[home]", "[hom]"), "unknown key.*hom"),
        (("instance = 4", "instance = [4"), "not valid TOML"),
    ],
)
def test_bad_configs_are_refused_with_the_file_named(
    sample: Path, change: tuple[str, str], message: str
) -> None:
    sample.write_text(SAMPLE.replace(*change))
    with pytest.raises(InputError, match=message) as caught:
        load_config(sample)
    assert str(sample) in str(caught.value)


def test_missing_home_is_refused(sample: Path) -> None:
    sample.write_text(SAMPLE.split("[home]")[0])
    with pytest.raises(InputError, match=r"missing \[home\]"):
        load_config(sample)


def test_sysid_comes_from_the_parameter_files(sample: Path) -> None:
    write(sample.parent, "id.parm", "MAV_SYSID 7\n")
    sample.write_text(
        SAMPLE.replace("sysid = 1", "sysid = 7").replace('"a.parm"]', '"a.parm", "id.parm"]')
    )
    assert load_config(sample).sysid == 7


def test_folder_names_and_instances_must_be_unique(tmp_path: Path, sample: Path) -> None:
    write(tmp_path, "copy.toml", SAMPLE.replace('"TH-T1"', '"TH-T2"'))
    with pytest.raises(InputError, match="instance 4 is used by both"):
        load_configs(tmp_path)
    write(tmp_path, "copy.toml", SAMPLE.replace("instance = 4", "instance = 5"))
    with pytest.raises(InputError, match="name TH-T1 is used by both"):
        load_configs(tmp_path)


def test_select_by_name_or_file(tmp_path: Path, sample: Path) -> None:
    assert [c.name for c in select_configs(tmp_path, ["TH-T1"])] == ["TH-T1"]
    assert [c.name for c in select_configs(Path("/nonexistent"), [str(sample)])] == ["TH-T1"]
    with pytest.raises(InputError, match=r"no simulator config named TH-09 .*\(have: TH-T1\)"):
        select_configs(tmp_path, ["TH-09"])
    with pytest.raises(InputError, match="no simulator configuration folder"):
        select_configs(tmp_path / "nope", [])


def test_parameter_files(tmp_path: Path) -> None:
    good = write(
        tmp_path,
        "good.parm",
        "# a comment\n\nFENCE_ENABLE 1\nFENCE_RADIUS,150.5\nMAV1_ADSB=5\nSIM_SPEEDUP 1 @READONLY\n",
    )
    assert read_parm_file(good) == {
        "FENCE_ENABLE": 1.0,
        "FENCE_RADIUS": 150.5,
        "MAV1_ADSB": 5.0,
        "SIM_SPEEDUP": 1.0,
    }
    cases = {
        "FENCE_ENABLE\n": "line 1.*expected 'NAME VALUE'",
        "OK 1\nFENCE_ENABLE one\n": "line 2.*'one' is not a number",
        "fence_enable 1\n": "not an ArduPilot parameter name",
        "SYSID_THISMAV 2\n": "SYSID_THISMAV does not exist in ArduCopter 4.7; use MAV_SYSID",
        "SR0_POSITION 4\n": "SR0_POSITION: SRn_\\* stream rates are now MAV1_\\*",
        "FENCE_RADIUS nan\n": "not a finite number",
        "A 1 2\n": "expected 'NAME VALUE'",
    }
    for text, message in cases.items():
        bad = write(tmp_path, "bad.parm", text)
        with pytest.raises(InputError, match=message):
            read_parm_file(bad)


def test_later_parameter_files_win(tmp_path: Path) -> None:
    a = write(tmp_path, "a.parm", "FENCE_RADIUS 100\nFENCE_ENABLE 1\n")
    b = write(tmp_path, "b.parm", "FENCE_RADIUS 300\n")
    assert effective_params([a, b]) == {"FENCE_RADIUS": 300.0, "FENCE_ENABLE": 1.0}


# ------------------------------------------------------------ set-track intruders


INTRUDER_FILE = """
[[intruders]]
icao = "0x7801A1"
callsign = "UAVX01"
speed_mps = 20.0
waypoints = [[23.1375, 113.3125, 100.0], [23.1375, 113.3420, 100.0]]
"""


def test_the_shipped_stadium_scenario() -> None:
    from uav.sim.traffic_intruders import load_intruders

    (cfg,) = select_configs(CONFIGS, ["STADIUM-TRAFFIC"])
    assert cfg.is_intruder and cfg.intruders == CONFIGS / "intruders" / "stadium-event.toml"
    params = effective_params(cfg.params)
    # the vehicle's ADS-B list on SERIAL0, no random SITL aircraft, no Remote ID of its own
    assert params["ADSB_TYPE"] == 1 and params["MAV1_ADSB"] > 0
    assert "SIM_ADSB_COUNT" not in params and "DID_ENABLE" not in params
    by_callsign = {i.callsign: i for i in load_intruders(cfg.intruders)}
    assert sorted(by_callsign) == ["B7012", "GDTVCAM1", "RIDX02", "UAVX01"]
    assert by_callsign["UAVX01"].adsb and by_callsign["UAVX01"].emitter_type == 14
    assert by_callsign["B7012"].adsb and by_callsign["B7012"].emitter_type == 1
    assert by_callsign["RIDX02"].remote_id and by_callsign["GDTVCAM1"].remote_id


def test_intruders_go_to_the_emulator_only(sample: Path) -> None:
    write(sample.parent, "traffic.toml", INTRUDER_FILE)
    sample.write_text(SAMPLE.replace("speedup = 5", 'speedup = 5\nintruders = "traffic.toml"'))
    cfg = load_config(sample)
    assert cfg.intruders == sample.parent / "traffic.toml"
    argv = build_command(cfg, Launcher(SimKind.EMULATOR))
    assert argv[-2:] == ["--intruders", str(sample.parent / "traffic.toml")]
    sitl = Launcher(SimKind.ARDUPILOT, Path("/opt/ap/arducopter"), Path("/ap/copter.parm"))
    with pytest.raises(InputError, match=r"need uav's emulator.*flying a mission"):
        build_command(cfg, sitl)


def test_up_refuses_intruders_on_real_sitl_before_starting_anything(
    sample: Path, tmp_path: Path
) -> None:
    from uav.sitl import control
    from uav.sitl.tracking import ProcessTable

    write(sample.parent, "traffic.toml", INTRUDER_FILE)
    sample.write_text(SAMPLE.replace("speedup = 5", 'speedup = 5\nintruders = "traffic.toml"'))
    sitl = Launcher(SimKind.ARDUPILOT, Path("/nonexistent/arducopter"), Path("/ap/copter.parm"))
    table = ProcessTable(tmp_path / "state")
    with pytest.raises(InputError, match="TH-T1: set-track intruders"):
        control.up([load_config(sample)], sitl, table, tmp_path / "work")
    assert table.records() == [] and not (tmp_path / "work").exists()


@pytest.mark.parametrize(
    ("value", "traffic", "message"),
    [
        ('"missing.toml"', None, "intruder file missing.toml not found"),
        ("3", None, "intruders must be a file name"),
        ('"traffic.toml"', "[[intruders]]\nicao = 1\n", "missing 'callsign'"),
        ('"traffic.toml"', "intruders = []\n", "describes no intruders"),
        ('"traffic.toml"', INTRUDER_FILE * 2, "ICAO 7801A1 is used twice"),
    ],
)
def test_bad_intruder_settings_are_refused(
    sample: Path, value: str, traffic: str | None, message: str
) -> None:
    if traffic is not None:
        write(sample.parent, "traffic.toml", traffic)
    sample.write_text(SAMPLE.replace("speedup = 5", f"speedup = 5\nintruders = {value}"))
    with pytest.raises(InputError, match=message):
        load_config(sample)
