"""``uav sitl``: start, stop and list simulated drones (ArduPilot SITL or uav's emulator)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from uav.cli.common import (
    EXIT_CODES_HELP,
    EXIT_ERROR,
    EXIT_FINDINGS,
    EXIT_OK,
    err,
    handle_errors,
    open_store,
    out,
    print_json,
)

if TYPE_CHECKING:
    from uav.sitl.control import Instance, InstanceStatus
    from uav.sitl.launch import Launcher
    from uav.sitl.ready import ReadyState
    from uav.store import Store

app = typer.Typer(
    help="Simulated drones from sitl_configs/: ArduPilot SITL, or uav's emulator on request."
    "\n\n" + EXIT_CODES_HELP,
    no_args_is_help=True,
)

STATE_DIR_OPTION = typer.Option(
    None,
    "--state-dir",
    envvar="UAV_STATE_DIR",
    help="Where uav keeps its record of running simulators. Default: the user state dir.",
    show_default=False,
)


@app.command("up")
def up(
    ctx: typer.Context,
    names: list[str] | None = typer.Argument(
        None,
        help="Drones to start: config names or .toml files. "
        "Default: the unit's drones (configs without a role).",
        show_default=False,
    ),
    all_: bool = typer.Option(False, "--all", help="With no NAME: also start the intruders."),
    configs: Path | None = typer.Option(
        None,
        "--configs",
        envvar="UAV_SITL_CONFIGS",
        help="The configuration folder. Default: ./sitl_configs, else the one shipped with uav.",
        show_default=False,
    ),
    binary: Path | None = typer.Option(
        None,
        "--binary",
        help="ArduPilot SITL binary. Default: $ARDUPILOT_SITL, else arducopter on PATH.",
        show_default=False,
    ),
    emulator: bool = typer.Option(
        False, "--emulator", help="Run uav's emulator (also: UAV_SIM=emulator)."
    ),
    defaults_dir: Path | None = typer.Option(
        None,
        "--defaults-dir",
        help="Folder holding ArduPilot's copter.parm (real SITL only). "
        "Default: $ARDUPILOT_HOME/Tools/autotest/default_params.",
        show_default=False,
    ),
    workdir: Path | None = typer.Option(
        None,
        "--workdir",
        help="Parent of the per-instance working folders. Default: under --state-dir.",
        show_default=False,
    ),
    state_dir: Path | None = STATE_DIR_OPTION,
    speedup: float | None = typer.Option(
        None, "--speedup", min=0.01, help="Override every config's speed-up.", show_default=False
    ),
    timeout: float = typer.Option(
        120.0, "--timeout", min=1.0, help="Readiness bound, in seconds of vehicle time."
    ),
    no_wait: bool = typer.Option(
        False,
        "--no-wait",
        help="Do not wait for GPS and EKF (register at once; intruders' missions not started).",
    ),
    wipe: bool = typer.Option(
        False, "--wipe", help="Start from an empty working folder (fresh eeprom)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the started drones as JSON."),
) -> None:
    """Start simulated drones, wait until they can fly, and register them in the fleet.

    Intruders (role = intruder) are started but not registered: they are not the unit's.
    An intruder with a `mission` gets it uploaded, armed and started in AUTO (not checked
    against the zones); if that fails its simulator keeps running.
    """
    from uav.sitl import control
    from uav.sitl.config import default_configs_dir, select_configs
    from uav.sitl.launch import default_workdir_base
    from uav.sitl.tracking import ProcessTable, sitl_state_dir

    with handle_errors():
        chosen = select_configs(
            configs or default_configs_dir(), names or [], include_intruders=all_
        )
        launcher = _launcher(binary, emulator, defaults_dir)
        if not names:  # leave out, and say so, what only the emulator can play
            chosen = _launchable(chosen, launcher)
        if not chosen:
            from uav.errors import InputError

            raise InputError("no simulator configuration to start")
        store = open_store(ctx)  # before starting anything: an unusable database stops here
        control.check_registrable(store, chosen)
        table = ProcessTable(sitl_state_dir(state_dir))
        lines: dict[str, str] = {c.name: "starting" for c in chosen}
        with err.status(_progress_text(lines)) as spinner:

            def progress(name: str, state: ReadyState) -> None:
                lines[name] = state.describe()
                spinner.update(_progress_text(lines))

            instances = control.up(
                chosen,
                launcher,
                table,
                workdir or default_workdir_base(table.state_dir),
                speedup=speedup,
                wipe=wipe,
                wait=not no_wait,
                timeout_vehicle_s=timeout,
                on_progress=progress,
            )
        registered = _register(store, instances)
    _report_up(instances, registered, as_json)
    code = _up_exit_code(instances)
    if code != EXIT_OK:
        raise typer.Exit(code)


@app.command("down")
def down(
    names: list[str] | None = typer.Argument(
        None, help="Drones to stop. Default: every tracked simulator.", show_default=False
    ),
    state_dir: Path | None = STATE_DIR_OPTION,
    timeout: float = typer.Option(
        10.0, "--timeout", min=0.1, help="Seconds between SIGTERM and SIGKILL."
    ),
) -> None:
    """Stop simulators started by `uav sitl up` (from any terminal)."""
    from uav.sitl import control
    from uav.sitl.tracking import ProcessTable, sitl_state_dir

    with handle_errors():
        outcomes = control.down(
            ProcessTable(sitl_state_dir(state_dir)), names or [], term_timeout_s=timeout
        )
    if not outcomes:
        err.print("no simulators are tracked")
    for record, outcome in outcomes:
        what = f"{record.name} (instance {record.instance}, pid {record.pid})"
        if outcome == "not ours":
            outcome = "already gone; its pid now belongs to another program, left alone"
        err.print(f"{escape(what)}: {escape(outcome)}")
    if any(o.startswith("failed") for _, o in outcomes):
        raise typer.Exit(EXIT_ERROR)


@app.command("status")
def status(
    state_dir: Path | None = STATE_DIR_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List tracked simulators: alive or not, pid, ports."""
    from uav.sitl import control
    from uav.sitl.tracking import ProcessTable, sitl_state_dir

    with handle_errors():
        rows = control.status(ProcessTable(sitl_state_dir(state_dir)))
    if as_json:
        print_json([status_json(s) for s in rows])
        return
    from rich.table import Table

    t = Table("name", "kind", "instance", "pid", "alive", "ports", "role", "started")
    for s in rows:
        r = s.record
        alive = "yes" if s.alive else "no"
        ports = ",".join(map(str, s.ports))
        t.add_row(
            r.name, r.kind, str(r.instance), str(r.pid), alive, ports, r.role or "", r.started_at
        )
    out.print(t)
    err.print(f"{len(rows)} simulator(s), {sum(s.alive for s in rows)} alive")


def status_json(s: InstanceStatus) -> dict[str, object]:
    r = s.record
    return {
        "name": r.name,
        "kind": r.kind,
        "instance": r.instance,
        "pid": r.pid,
        "alive": s.alive,
        "ports": list(s.ports),
        "connect_url": s.url,
        "sysid": r.sysid,
        "speedup": r.speedup,
        "role": r.role,
        "started_at": r.started_at,
        "workdir": r.workdir,
        "log": r.log,
        "command": list(r.argv),
        "mission": None if r.mission is None else r.mission.to_json(),
    }


def _launcher(binary: Path | None, emulator: bool, defaults_dir: Path | None) -> Launcher:
    from uav.sitl.binary import SimKind, choose_kind, find_binary, find_copter_defaults
    from uav.sitl.launch import Launcher

    found = find_binary(binary)
    kind = choose_kind(found, emulator=emulator)
    if kind == SimKind.EMULATOR:
        if found is None:
            err.print("no ArduPilot SITL binary found; running uav's emulator as asked")
        return Launcher(SimKind.EMULATOR)
    return Launcher(SimKind.ARDUPILOT, found, find_copter_defaults(defaults_dir))


def _launchable(chosen: list[Any], launcher: Any) -> list[Any]:
    from uav.sitl.launch import why_not_launchable

    kept = []
    for cfg in chosen:
        reason = why_not_launchable(cfg, launcher)
        if reason is None:
            kept.append(cfg)
        else:
            err.print(f"[yellow]skipped[/] {escape(reason)}")
    return kept


def _progress_text(lines: dict[str, str]) -> str:
    return "waiting for the vehicles: " + "; ".join(
        f"[bold]{escape(n)}[/] {escape(t)}" for n, t in lines.items()
    )


def _register(store: Store, instances: list[Instance]) -> set[str]:
    """Register every ready drone of the unit; intruders stay out of the fleet."""
    from uav.sitl.control import register

    fleet = [i for i in instances if i.error is None and not i.config.is_intruder]
    return {register(store, i).name for i in fleet}


def _report_up(instances: list[Instance], registered: set[str], as_json: bool) -> None:
    if as_json:
        print_json([_instance_json(i, i.config.name in registered) for i in instances])
    for i in instances:
        label = f"{i.config.name} (instance {i.config.instance}, pid {i.record.pid})"
        if i.error is not None:
            err.print(
                f"[bold red]error:[/] {escape(label)}: {escape(str(i.error))}; stopped "
                f"(log: {escape(i.record.log)})"
            )
            continue
        if not as_json:
            sys.stdout.write(f"{i.config.name}\t{i.url}\n")  # NAME<TAB>URL, for scripts
        parts = ["already running" if i.already_running else "started"]
        if i.ready is not None:
            parts.append("ready to fly")
        if i.config.name in registered:
            parts.append("registered in the fleet")
        elif i.config.is_intruder:
            parts.append("an intruder, not registered in the fleet")
        err.print(f"{escape(label)}: {', '.join(parts)}")
        _report_mission(i)


def _report_mission(i: Instance) -> None:
    """``NAME: mission of N items started``, or why it was not (the simulator runs on)."""
    cfg = i.config
    if cfg.mission is None:
        return
    name = escape(cfg.name)
    if i.mission is not None and i.mission_error is None:
        err.print(f"{name}: mission of {i.mission.items} items started")
    elif i.mission_error is not None:
        err.print(
            f"[bold red]error:[/] {name}: mission not started: {escape(str(i.mission_error))}; "
            f"the simulator is left running (`uav sitl down {name}`)"
        )
    elif i.already_running:
        err.print(f"{name}: already running; its mission was not uploaded again")
    else:
        err.print(f"[yellow]{name}: mission not started[/] (no readiness wait: --no-wait)")


def _up_exit_code(instances: list[Instance]) -> int:
    """2 for a drone not ready or a mission that failed on the link; 1 for a mission the
    vehicle refused; else 0."""
    from uav.fleet.errors import DroneRefused

    if any(i.error for i in instances):
        return EXIT_ERROR
    failed = [i.mission_error for i in instances if i.mission_error is not None]
    if any(not isinstance(e, DroneRefused) for e in failed):
        return EXIT_ERROR
    return EXIT_FINDINGS if failed else EXIT_OK


def _instance_json(i: Instance, registered: bool) -> dict[str, object]:
    return {
        "name": i.config.name,
        "instance": i.config.instance,
        "pid": i.record.pid,
        "kind": i.record.kind,
        "connect_url": i.url,
        "sysid": i.config.sysid,
        "role": i.config.role,
        "already_running": i.already_running,
        "ready": i.ready is not None,
        "registered": registered,
        "error": None if i.error is None else str(i.error),
        "log": i.record.log,
        "mission": None if i.mission is None else i.mission.to_json(),
    }
