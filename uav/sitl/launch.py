"""Start one simulator process the way ArduPilot's own tools do.

In its own working directory (it keeps ``eeprom.bin`` and logs there)::

    arducopter --model + --speedup N --defaults copter.parm,a.parm,b.parm \\
        --home LAT,LON,ALT,HDG -I N

The emulator takes the same arguments after ``python -m uav.sim`` and has ArduPilot's copter
defaults built in, so its ``--defaults`` lists only the drone's own files. A config's
set-track ``intruders`` go to the emulator as ``--intruders FILE``; ArduPilot SITL has no such
thing (there an intruder is another simulated drone flying a mission), so such a config is
refused for it before anything starts.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from uav.errors import InputError
from uav.sitl.binary import SimKind
from uav.sitl.config import SitlConfig, fmt_number
from uav.sitl.errors import SitlError
from uav.sitl.tracking import ProcessRecord, ProcessTable, adopt, proc_start_ticks
from uav.timeutil import now_utc

LOG_FILE = "sitl.log"


@dataclass(frozen=True)
class Launcher:
    """What to run: real SITL (binary + ArduPilot's copter.parm) or the emulator."""

    kind: SimKind
    binary: Path | None = None
    copter_defaults: Path | None = None

    def __post_init__(self) -> None:
        if self.kind == SimKind.ARDUPILOT and (self.binary is None or self.copter_defaults is None):
            raise ValueError("ArduPilot SITL needs a binary and copter.parm")

    def program(self) -> list[str]:
        if self.kind == SimKind.EMULATOR:
            return [sys.executable, "-m", "uav.sim"]
        assert self.binary is not None
        return [str(self.binary)]

    def defaults(self, cfg: SitlConfig) -> list[Path]:
        base = [self.copter_defaults] if self.kind == SimKind.ARDUPILOT else []
        return [p for p in base if p is not None] + list(cfg.params)


def why_not_launchable(cfg: SitlConfig, launcher: Launcher) -> str | None:
    """Why this simulator cannot run ``cfg`` as written, or None."""
    if cfg.intruders is not None and launcher.kind != SimKind.EMULATOR:
        return (
            f"{cfg.name}: set-track intruders ({cfg.intruders.name}) need uav's emulator "
            "(--emulator or UAV_SIM=emulator); with ArduPilot SITL an intruder is another "
            "simulated drone flying a mission (see sitl_configs/README.md)"
        )
    return None


def check_launchable(configs: Sequence[SitlConfig], launcher: Launcher) -> None:
    """Refuse (:class:`InputError`) configs this simulator cannot run as written."""
    for cfg in configs:
        reason = why_not_launchable(cfg, launcher)
        if reason is not None:
            raise InputError(reason)


def build_command(
    cfg: SitlConfig, launcher: Launcher, *, speedup: float | None = None
) -> list[str]:
    """The full command line for ``cfg`` (``speedup`` overrides the config's)."""
    argv = [*launcher.program(), "--model", cfg.model]
    argv += ["--speedup", fmt_number(speedup if speedup is not None else cfg.speedup)]
    defaults = launcher.defaults(cfg)
    if defaults:
        argv += ["--defaults", ",".join(str(p) for p in defaults)]
    argv += ["--home", cfg.home.as_arg(), "-I", str(cfg.instance)]
    if cfg.intruders is not None:
        check_launchable([cfg], launcher)
        argv += ["--intruders", str(cfg.intruders)]
    return argv


def instance_workdir(base: Path, cfg: SitlConfig) -> Path:
    """``<base>/I<N>-<name>``: one folder per instance and drone, reused across runs."""
    return base / f"I{cfg.instance}-{cfg.name}"


def default_workdir_base(state_dir: Path) -> Path:
    return state_dir / "work"


def start(
    cfg: SitlConfig,
    launcher: Launcher,
    table: ProcessTable,
    workdir_base: Path,
    *,
    speedup: float | None = None,
    wipe: bool = False,
) -> ProcessRecord:
    """Start the simulator for ``cfg`` in its working directory and track it in ``table``.

    ``wipe`` empties the working directory first (a fresh eeprom, as in the recorded traces).
    """
    workdir = instance_workdir(workdir_base, cfg)
    if wipe and workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    argv = build_command(cfg, launcher, speedup=speedup)
    log_path = workdir / LOG_FILE
    with log_path.open("wb") as log:
        try:
            proc = subprocess.Popen(
                argv,
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives this terminal, like sim_vehicle.py
            )
        except OSError as exc:
            raise SitlError(f"cannot start {argv[0]}: {exc}") from None
    adopt(proc)
    record = ProcessRecord(
        name=cfg.name,
        instance=cfg.instance,
        pid=proc.pid,
        kind=launcher.kind.value,
        argv=tuple(argv),
        started_at=now_utc().isoformat(),
        workdir=str(workdir),
        log=str(log_path),
        sysid=cfg.sysid,
        speedup=speedup if speedup is not None else cfg.speedup,
        role=cfg.role,
        proc_start_ticks=proc_start_ticks(proc.pid),
    )
    try:
        table.add(record)
    except SitlError:
        proc.kill()
        proc.wait(timeout=5)
        raise
    return record
