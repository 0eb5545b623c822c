"""Finding the SITL binary and copter.parm, and choosing between SITL and the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from uav.errors import InputError
from uav.sitl.binary import (
    COPTER_DEFAULTS_IN_TREE,
    SimKind,
    choose_kind,
    emulator_available,
    find_binary,
    find_copter_defaults,
)
from uav.sitl.errors import SitlError


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No SITL anywhere: an empty PATH folder, no ARDUPILOT_* or UAV_SIM."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    for var in ("ARDUPILOT_SITL", "ARDUPILOT_HOME", "UAV_SIM"):
        monkeypatch.delenv(var, raising=False)
    return bin_dir


def test_binary_discovery_order(
    tmp_path: Path, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert find_binary() is None
    on_path = executable(clean_env / "arducopter")
    assert find_binary() == on_path
    from_env = executable(tmp_path / "env" / "arducopter")
    monkeypatch.setenv("ARDUPILOT_SITL", str(from_env))
    assert find_binary() == from_env
    given = executable(tmp_path / "given" / "arducopter")
    assert find_binary(given) == given


def test_a_named_binary_must_exist_and_be_executable(
    tmp_path: Path, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    executable(clean_env / "arducopter")  # never used instead of a bad explicit choice
    with pytest.raises(InputError, match="--binary: no file"):
        find_binary(tmp_path / "nope")
    plain = tmp_path / "plain"
    plain.write_text("")
    with pytest.raises(InputError, match="is not executable"):
        find_binary(plain)
    monkeypatch.setenv("ARDUPILOT_SITL", str(tmp_path / "gone"))
    with pytest.raises(InputError, match=r"\$ARDUPILOT_SITL: no file"):
        find_binary()


def test_copter_defaults(tmp_path: Path, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match=r"needs its copter defaults.*looked at: nowhere"):
        find_copter_defaults()
    tree = tmp_path / "ardupilot"
    parm = tree / COPTER_DEFAULTS_IN_TREE
    parm.parent.mkdir(parents=True)
    parm.write_text("FRAME_CLASS 1\n")
    monkeypatch.setenv("ARDUPILOT_HOME", str(tree))
    assert find_copter_defaults() == parm
    own = tmp_path / "mine"
    own.mkdir()
    (own / "copter.parm").write_text("FRAME_CLASS 1\n")
    assert find_copter_defaults(own) == own / "copter.parm"
    monkeypatch.delenv("ARDUPILOT_HOME")
    with pytest.raises(InputError, match=r"empty/copter\.parm"):
        find_copter_defaults(tmp_path / "empty")


def test_no_binary_is_an_error_unless_the_emulator_is_asked_for(
    tmp_path: Path, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SitlError, match=r"no ArduPilot SITL binary found.*--emulator"):
        choose_kind(None)
    sitl = executable(tmp_path / "arducopter")
    assert choose_kind(sitl) == SimKind.ARDUPILOT
    monkeypatch.setenv("UAV_SIM", "ardupilot")
    with pytest.raises(SitlError, match="no ArduPilot SITL binary"):
        choose_kind(None)
    monkeypatch.setenv("UAV_SIM", "gazebo")
    with pytest.raises(InputError, match="UAV_SIM='gazebo'"):
        choose_kind(sitl)


def test_the_emulator_when_asked(
    tmp_path: Path, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sitl = executable(tmp_path / "arducopter")
    if emulator_available():
        assert choose_kind(sitl, emulator=True) == SimKind.EMULATOR
        monkeypatch.setenv("UAV_SIM", "emulator")
        assert choose_kind(None) == SimKind.EMULATOR
    else:
        with pytest.raises(SitlError, match=r"emulator \(python -m uav.sim\) is not installed"):
            choose_kind(sitl, emulator=True)
