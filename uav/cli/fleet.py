"""``uav fleet``: the registry of the unit's drones, their status, and commands to them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from uav.cli.common import (
    EXIT_CODES_HELP,
    EXIT_FINDINGS,
    err,
    handle_errors,
    open_store,
    out,
    print_json,
)

if TYPE_CHECKING:
    from rich.table import Table

    from uav.fleet.status import DroneStatus
    from uav.link import LinkConfig, VehicleState
    from uav.store.drones import Drone

COMMAND_EXIT_HELP = (
    "Exit codes: 0 done, and the effect seen in the drone's telemetry; 1 refused by the "
    "drone (its reason is shown, e.g. 'Arm: Fence requires position'); 2 bad input, unknown "
    "drone, no link, or no confirmation in time."
)
NEGATIVE_HELP = "Put -- before negative numbers: uav fleet goto TH-01 -- -33.86 151.2 30."

app = typer.Typer(
    help="The fleet: which drones there are, how to reach them, their status, and commands "
    "to them.\n\nCommands to a drone wait for its acknowledgement and for the effect "
    "(bounded), and name the drone in every message.\n\n" + EXIT_CODES_HELP,
    no_args_is_help=True,
)


@contextmanager
def drone_errors() -> Iterator[None]:
    """Render errors about a drone on stderr: a refusal by the drone (or the plan check, or
    the pilot's Ctrl-C) exits 1, anything else uav raises exits 2."""
    from uav.fleet.errors import DroneRefused, FlightAborted, MoveRefused, PlanRefused

    with handle_errors():
        try:
            yield
        except (DroneRefused, PlanRefused, FlightAborted, MoveRefused) as exc:
            label = "stopped" if isinstance(exc, FlightAborted) else "refused"
            err.print(f"[bold red]{label}:[/] {escape(str(exc))}")
            raise typer.Exit(EXIT_FINDINGS) from None


# ---------------------------------------------------------------------- the registry


@app.command("add")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Drone name, e.g. TH-01."),
    connect: str = typer.Option(
        ...,
        "--connect",
        help="MAVLink connection: tcp:HOST:PORT, udpin:HOST:PORT, udpout:HOST:PORT or "
        "a serial device such as /dev/ttyUSB0,57600.",
    ),
    sysid: int = typer.Option(1, "--sysid", help="The drone's MAVLink system id (MAV_SYSID)."),
    serial: str | None = typer.Option(
        None, "--serial", help="Airframe serial number (the one its Remote ID broadcasts)."
    ),
    remote_id: str | None = typer.Option(
        None, "--remote-id", help="Remote ID registration / UAS id."
    ),
    sign: bool = typer.Option(
        False,
        "--sign",
        help="Sign this drone's MAVLink traffic: make a key (kept in the database, never "
        "shown) and install it now. If the drone cannot be reached, signing stays "
        "'requested': run `uav fleet sign NAME` later.",
    ),
    timeout: float = typer.Option(
        3.0, "--timeout", help="With --sign: seconds to wait for the drone to answer."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the registered drone as JSON."),
) -> None:
    """Register drone NAME."""
    with handle_errors():
        from uav.store.drones import Drone

        drone = Drone(
            name=name,
            connect_url=connect,
            sysid=sysid,
            serial=serial,
            remote_id=remote_id,
            sign_requested=sign,
        )
        store = open_store(ctx)
        problem = None
        if sign:
            from uav.fleet.signing import add_drone

            added = add_drone(store, drone, _link_base(timeout))
            d, problem = added.drone, added.not_installed
        else:
            d = store.add_drone(drone)
    if as_json:
        print_json(drone_json(d))
    err.print(f"drone {d.name} registered: {d.connect_url}, sysid {d.sysid}, signing {d.signing}")
    if problem is not None:
        err.print(
            f"[yellow]warning:[/] signing key not installed: {escape(str(problem))}\n"
            f"Run `uav fleet sign {escape(d.name)}` when the drone is reachable."
        )


@app.command("list")
def list_(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the registered drones (signing keys are never shown)."""
    with handle_errors():
        drones = open_store(ctx).drones()
    if as_json:
        print_json([drone_json(d) for d in drones])
        return
    from rich.table import Table

    t = Table("name", "connect", "sysid", "serial", "remote id", "signing", "sim")
    for d in drones:
        t.add_row(
            d.name,
            d.connect_url,
            str(d.sysid),
            d.serial or "",
            d.remote_id or "",
            d.signing,
            "" if d.sim_instance is None else f"instance {d.sim_instance}",
        )
    out.print(t)
    err.print(f"{len(drones)} drone(s)")


@app.command("remove")
def remove(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Drone name."),
) -> None:
    """Unregister drone NAME (its signing key is forgotten with it)."""
    with handle_errors():
        d = open_store(ctx).remove_drone(name)
    err.print(f"drone {d.name} removed from the fleet")


@app.command(
    "sign",
    help="Make a new signing key for drone NAME and install it (SETUP_SIGNING).\n\n"
    "From then on every link to it signs every message. The key is kept in the database and "
    "never shown; a drone that already signs gets the new key in place of the old one. The "
    "drone must be disarmed.\n\n" + COMMAND_EXIT_HELP,
)
def sign(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Drone name."),
    timeout: float = typer.Option(5.0, "--timeout", help="Seconds to wait for the drone."),
) -> None:
    with drone_errors():
        from uav.fleet.signing import install_key

        d = install_key(open_store(ctx), name, _link_base(timeout))
    err.print(f"{d.name}: signing {d.signing}; every link to it now signs its messages")


def drone_json(d: Drone) -> dict[str, object]:
    """A drone for --json output: everything but the signing key."""
    return {
        "name": d.name,
        "connect_url": d.connect_url,
        "sysid": d.sysid,
        "serial": d.serial,
        "remote_id": d.remote_id,
        "signing": d.signing,
        "sim_instance": d.sim_instance,
        "created_at": d.created_at.isoformat() if d.created_at else None,
    }


def _link_base(timeout_s: float) -> LinkConfig:
    """A LinkConfig connecting within ``timeout_s`` (InputError unless positive)."""
    import math

    from uav.errors import InputError
    from uav.link import LinkConfig

    if not (math.isfinite(timeout_s) and timeout_s > 0):
        raise InputError(f"--timeout {timeout_s}: must be a positive number of seconds")
    return LinkConfig(connect_timeout_s=timeout_s)


# ---------------------------------------------------------------------- status


@app.command(
    "status",
    help="Ask every drone (or the NAMEs given) for its state, all at once.\n\n"
    "Link, mode, armed, GPS fix and satellites, position (altitude above home and above sea "
    "level), ground speed, heading, battery, fence, when it was last heard. A drone that does "
    "not answer within --timeout is shown as not answering.\n\nExit codes: 0 the status was shown "
    "(whether or not every drone answered); 2 unknown drone or bad option.",
)
def status(
    ctx: typer.Context,
    names: list[str] = typer.Argument(None, help="Drone names (default: every drone)."),
    timeout: float = typer.Option(
        5.0, "--timeout", help="Seconds to wait for each drone (all are asked at once)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list."),
) -> None:
    with handle_errors():
        from uav.fleet.status import fleet_status

        found = fleet_status(open_store(ctx), names or (), timeout_s=timeout)
    if as_json:
        print_json([s.to_json() for s in found])
    else:
        out.print(status_table(found))
    for s in found:
        if s.detail:
            err.print(f"{escape(s.name)}: {s.link}: {escape(s.detail)}")
    answered = sum(1 for s in found if s.answered)
    err.print(f"{answered} of {len(found)} drone(s) answered")


def status_table(found: list[DroneStatus]) -> Table:
    """One row per drone (cells wrap on a narrow terminal). "mode" says ARMED when armed;
    "alt m" is above home, AMSL in brackets."""
    import time

    from rich.table import Table

    t = Table(box=None, pad_edge=False, padding=(0, 1, 0, 0))
    t.add_column("drone", no_wrap=True)
    t.add_column("link", overflow="fold", max_width=6)
    t.add_column("mode", overflow="fold", min_width=9)
    t.add_column("GPS", overflow="fold")
    t.add_column("lat, lon", overflow="fold", min_width=10)
    t.add_column("alt m", overflow="fold")
    for col in ("speed", "hdg", "batt", "fence", "heard"):
        t.add_column(col, overflow="fold", justify="right")
    now = time.time()
    for s in found:
        armed = " [bold]ARMED[/]" if s.armed else ""
        t.add_row(
            s.name,
            s.link if s.answered else "[bold red]no answer[/]",
            f"{s.mode or '-'}{armed}",
            "-" if s.gps_fix_type is None else f"{_gps(s.gps_fix_type)}/{s.satellites or 0}",
            "-" if s.lat_deg is None else f"{s.lat_deg:.6f}, {s.lon_deg:.6f}",
            "-" if s.alt_rel_m is None else f"{s.alt_rel_m:.1f} ({_num(s.alt_amsl_m, '{:.1f}')})",
            _num(s.groundspeed_mps, "{:.1f} m/s"),
            _num(s.heading_deg, "{:.0f}°"),
            _num(s.battery_pct, "{}%"),
            "[bold red]BREACH[/]" if s.fence == "breached" else (s.fence or "-"),
            "-" if s.last_heard_wall_s is None else f"{max(0.0, now - s.last_heard_wall_s):.1f}s",
        )
    return t


def _gps(fix_type: int) -> str:
    return {0: "none", 1: "nofix", 2: "2D", 3: "3D", 4: "DGPS", 5: "RTKf", 6: "RTK"}.get(
        fix_type, str(fix_type)
    )


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


# ---------------------------------------------------------------------- commands


def _done(name: str, text: str) -> None:
    err.print(f"{escape(name)}: {text}")


def _where(s: VehicleState) -> str:
    if s.lat_deg is None or s.lon_deg is None:
        return "position unknown"
    alt = "" if s.alt_rel_m is None else f", {s.alt_rel_m:.1f} m above home"
    return f"at {s.lat_deg:.6f}, {s.lon_deg:.6f}{alt}"


@app.command("arm", help="Arm drone NAME.\n\n" + COMMAND_EXIT_HELP)
def arm(ctx: typer.Context, name: str = typer.Argument(..., help="Drone name.")) -> None:
    with drone_errors():
        from uav.fleet import commands

        s = commands.arm(open_store(ctx), name)
    _done(name, f"armed ({s.mode_name})")


@app.command("disarm", help="Disarm drone NAME.\n\n" + COMMAND_EXIT_HELP)
def disarm(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Drone name."),
    force: bool = typer.Option(
        False, "--force", help="Disarm even in flight: the motors stop and the drone FALLS."
    ),
) -> None:
    with drone_errors():
        from uav.fleet import commands

        s = commands.disarm(open_store(ctx), name, force=force)
    _done(name, f"disarmed ({s.mode_name})")


NO_CHECK_HELP = "Skip the zone check (an emergency: the pilot answers for the leg)."


def _warn_unchecked(name: str, no_check: bool) -> None:
    if no_check:
        err.print(f"[yellow]warning:[/] {escape(name)}: not checked against the zones (--no-check)")


@app.command(
    "takeoff",
    help="Take drone NAME off to ALT metres above home.\n\n"
    "It must be armed in GUIDED. Returns when it is there. The climb is checked against the "
    "zones first (as `plan check` checks a leg): a climb inside a zone is refused, exit 1, "
    "nothing sent.\n\n" + COMMAND_EXIT_HELP,
)
def takeoff(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Drone name."),
    alt: float = typer.Argument(..., help="Altitude above home, metres."),
    no_check: bool = typer.Option(False, "--no-check", help=NO_CHECK_HELP),
) -> None:
    with drone_errors():
        from uav.fleet import commands

        _warn_unchecked(name, no_check)
        s = commands.takeoff(open_store(ctx), name, alt, check=not no_check)
    _done(name, f"took off: {_where(s)}")


@app.command(
    "goto",
    help="Fly drone NAME to LAT LON at ALT metres above home (WGS-84 degrees).\n\n"
    "It must be flying in GUIDED. Returns when it is there. The straight leg from where the "
    "drone is is checked against the zones first: a leg that enters a zone, or a target "
    "inside one, is refused (exit 1, nothing sent); leaving a zone the drone is in is "
    "allowed. " + NEGATIVE_HELP + "\n\n" + COMMAND_EXIT_HELP,
)
def goto(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Drone name."),
    lat: float = typer.Argument(..., help="Latitude, degrees."),
    lon: float = typer.Argument(..., help="Longitude, degrees."),
    alt: float = typer.Argument(..., help="Altitude above home, metres."),
    no_check: bool = typer.Option(False, "--no-check", help=NO_CHECK_HELP),
) -> None:
    with drone_errors():
        from uav.fleet import commands

        _warn_unchecked(name, no_check)
        s = commands.goto(open_store(ctx), name, lat, lon, alt, check=not no_check)
    _done(name, f"arrived {_where(s)}")


@app.command(
    "mode",
    help="Switch drone NAME to flight mode MODE.\n\n"
    "ArduCopter names: GUIDED, AUTO, LOITER, RTL, LAND, ALT_HOLD, STABILIZE, ... An unknown "
    "name is bad input (exit 2).\n\n" + COMMAND_EXIT_HELP,
)
def mode(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Drone name."),
    mode_name: str = typer.Argument(..., metavar="MODE", help="Flight mode."),
) -> None:
    with drone_errors():
        from uav.fleet import commands

        s = commands.set_mode(open_store(ctx), name, mode_name)
    _done(name, f"in {s.mode_name}")


WAIT_HELP = "Also wait until it has landed and disarmed."


@app.command("rtl", help="Return drone NAME to launch (mode RTL).\n\n" + COMMAND_EXIT_HELP)
def rtl(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Drone name."),
    wait: bool = typer.Option(False, "--wait", help=WAIT_HELP),
) -> None:
    with drone_errors():
        from uav.fleet import commands

        s = commands.rtl(open_store(ctx), name, wait_landed=wait)
    _done(name, f"landed and disarmed {_where(s)}" if wait else "returning to launch (RTL)")


@app.command("land", help="Land drone NAME where it is (mode LAND).\n\n" + COMMAND_EXIT_HELP)
def land(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Drone name."),
    wait: bool = typer.Option(False, "--wait", help=WAIT_HELP),
) -> None:
    with drone_errors():
        from uav.fleet import commands

        s = commands.land(open_store(ctx), name, wait_landed=wait)
    _done(name, f"landed and disarmed {_where(s)}" if wait else "landing (LAND)")
