"""Which simulator to run: ArduPilot's ``arducopter`` SITL binary or uav's own emulator.

Binary discovery order: ``--binary PATH``, then ``$ARDUPILOT_SITL``, then ``arducopter`` on
``PATH``. Real SITL also needs ArduPilot's standard copter defaults (``copter.parm``), looked
up in ``--defaults-dir DIR``, then ``$ARDUPILOT_HOME/Tools/autotest/default_params``. The
emulator has those defaults built in.
"""

from __future__ import annotations

import enum
import importlib.util
import os
import shutil
from pathlib import Path

from uav.errors import InputError
from uav.sitl.errors import SitlError

COPTER_DEFAULTS = "copter.parm"
COPTER_DEFAULTS_IN_TREE = Path("Tools") / "autotest" / "default_params" / COPTER_DEFAULTS
SIM_ENV = "UAV_SIM"


class SimKind(enum.StrEnum):
    ARDUPILOT = "ardupilot"
    EMULATOR = "emulator"


def find_binary(explicit: Path | None = None) -> Path | None:
    """The SITL binary to run, or None when there is none.

    A path given explicitly (option or ``$ARDUPILOT_SITL``) that is not an executable file
    is an error, never silently skipped.
    """
    if explicit is not None:
        return _executable(explicit, "--binary")
    env = os.environ.get("ARDUPILOT_SITL")
    if env:
        return _executable(Path(env), "$ARDUPILOT_SITL")
    found = shutil.which("arducopter")
    return Path(found).resolve() if found else None


def find_copter_defaults(defaults_dir: Path | None = None) -> Path:
    """ArduPilot's ``copter.parm``; real SITL must get it as its first ``--defaults`` file."""
    candidates: list[Path] = []
    if defaults_dir is not None:
        candidates.append(defaults_dir / COPTER_DEFAULTS)
    home = os.environ.get("ARDUPILOT_HOME")
    if home:
        candidates.append(Path(home) / COPTER_DEFAULTS_IN_TREE)
    for c in candidates:
        if c.is_file():
            return c.resolve()
    looked = ", ".join(str(c) for c in candidates) or "nowhere"
    raise InputError(
        "ArduPilot SITL needs its copter defaults (copter.parm): pass --defaults-dir DIR "
        "(the folder holding copter.parm) or set ARDUPILOT_HOME to an ArduPilot source tree "
        f"(looked at: {looked})"
    )


def emulator_available() -> bool:
    """True when ``python -m uav.sim`` can run (the emulator package is installed)."""
    try:
        return importlib.util.find_spec("uav.sim.__main__") is not None
    except ImportError:
        return False


def no_binary_message() -> str:
    return (
        "no ArduPilot SITL binary found (looked at --binary, $ARDUPILOT_SITL and "
        "'arducopter' on PATH); pass --binary PATH, or run uav's built-in emulator with "
        f"--emulator or {SIM_ENV}=emulator"
    )


def choose_kind(binary: Path | None, *, emulator: bool = False) -> SimKind:
    """Emulator when asked (``--emulator`` or ``UAV_SIM=emulator``), else real SITL.

    With no binary and no request for the emulator this fails: uav never swaps a real
    simulator for its emulator behind the user's back.
    """
    wanted = os.environ.get(SIM_ENV, "").strip().lower()
    if wanted not in ("", *SimKind):
        raise InputError(f"{SIM_ENV}={wanted!r}: must be 'emulator' or 'ardupilot'")
    if emulator or wanted == SimKind.EMULATOR:
        if not emulator_available():
            raise SitlError("the emulator (python -m uav.sim) is not installed in this uav")
        return SimKind.EMULATOR
    if binary is None:
        raise SitlError(no_binary_message())
    return SimKind.ARDUPILOT


def _executable(path: Path, source: str) -> Path:
    p = path.expanduser()
    if not p.is_file():
        raise InputError(f"{source}: no file {p}")
    if not os.access(p, os.X_OK):
        raise InputError(f"{source}: {p} is not executable")
    return p.resolve()
