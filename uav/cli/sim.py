"""``uav sim``: run emulated ArduCopter vehicles to fly by hand (a training simulator)."""

from __future__ import annotations

import math
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from uav.cli.common import EXIT_ERROR, err, handle_errors

if TYPE_CHECKING:
    from uav.sim.server import EmulatorServer
    from uav.sim.vehicle import EmulatedVehicle

app = typer.Typer(
    help="The MAVLink vehicle emulator (an ArduCopter SITL stand-in).", no_args_is_help=True
)


@app.callback()
def sim() -> None:
    """Emulated ArduCopter vehicles (MAVLink 2 over TCP, like ArduPilot SITL)."""


RUN_HELP = (
    "Run N emulated quadcopters until Ctrl-C.\n\n"
    "Vehicle k (k = 0..N-1) is instance "
    "FIRST+k: it listens on tcp 127.0.0.1 5760+10*I (SERIAL0, connect your ground station "
    "here), 5762+10*I and 5763+10*I, has MAV_SYSID SYSID+k, and boots when a client first "
    "connects to its SERIAL0. Vehicles start side by side, 20 m apart eastwards.\n\n"
    "Exit codes: 0 stopped with Ctrl-C, SIGTERM or --stop-after; 2 bad option, unreadable "
    "parameter file, port in use, or an emulator error."
)


@app.command("run", help=RUN_HELP)
def run(
    instances: int = typer.Option(1, "--instances", "-n", min=1, max=200, help="Vehicles."),
    first: int = typer.Option(0, "--first-instance", "-I", min=0, help="Instance of vehicle 0."),
    speedup: float = typer.Option(1.0, "--speedup", "-s", help="Vehicle s per wall s."),
    home: str = typer.Option(
        "23.1291,113.3240,20,0", "--home", help="LAT,LON,ALT,HDG of vehicle 0 (ALT m AMSL)."
    ),
    defaults: list[Path] = typer.Option(
        [], "--defaults", help="ArduPilot .parm file (repeatable; later files win)."
    ),
    sysid: int = typer.Option(1, "--sysid", min=1, max=255, help="MAV_SYSID of vehicle 0."),
    stop_after: float | None = typer.Option(
        None, "--stop-after", help="Stop after this many wall seconds (for scripts)."
    ),
) -> None:
    with handle_errors():
        from uav.errors import InputError
        from uav.sim.server import EmulatorServer

        if not speedup > 0:
            raise InputError("--speedup must be positive")
        if sysid + instances - 1 > 255:
            raise InputError("--sysid + --instances - 1 must not exceed 255")
        server = EmulatorServer()
        try:
            for k in range(instances):
                vehicle = _make_vehicle(first + k, k, home, speedup, defaults, sysid + k)
                server.add(vehicle)
                _print_vehicle(vehicle)
        except BaseException:
            server.stop()
            raise
        code = _serve(server, stop_after)
    raise typer.Exit(code)


def _make_vehicle(
    instance: int, k: int, home: str, speedup: float, defaults: list[Path], sysid: int
) -> EmulatedVehicle:
    from uav.sim.physics import METRES_PER_DEGREE
    from uav.sim.vehicle import EmulatedVehicle, Home

    base = Home.parse(home)
    east_deg = 20.0 * k / (METRES_PER_DEGREE * math.cos(math.radians(base.lat_deg)))
    spot = Home(base.lat_deg, base.lon_deg + east_deg, base.alt_amsl_m, base.heading_deg)
    return EmulatedVehicle(instance, spot, speedup, defaults=defaults, sysid=sysid)


def _print_vehicle(vehicle: EmulatedVehicle) -> None:
    ports = ", ".join(
        f"SERIAL{i} tcp:127.0.0.1:{p}" for i, p in enumerate(vehicle.ports) if p is not None
    )
    typer.echo(f"instance {vehicle.instance} sysid {vehicle.sysid}: {ports}")
    sys.stdout.flush()


def _serve(server: EmulatorServer, stop_after: float | None) -> int:
    """Run until Ctrl-C, SIGTERM or ``stop_after`` wall seconds (signal handlers restored)."""
    done = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):  # also when started with SIGINT ignored
            previous[signum] = signal.signal(signum, lambda signum, frame: done.set())
    server.start()
    err.print("Running; Ctrl-C stops.")
    try:
        done.wait(stop_after)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if server.errors:
        err.print(f"[bold red]error:[/] the emulator failed {len(server.errors)} time(s)")
        return EXIT_ERROR
    return 0
