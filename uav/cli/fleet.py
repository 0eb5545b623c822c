"""``uav fleet``: the registry of the unit's drones (name, link, ids, signing)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from uav.cli.common import EXIT_CODES_HELP, err, handle_errors, open_store, out, print_json

if TYPE_CHECKING:
    from uav.store.drones import Drone

app = typer.Typer(
    help="The fleet registry: which drones there are and how to reach them.\n\n" + EXIT_CODES_HELP,
    no_args_is_help=True,
)


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
    sign: bool = typer.Option(False, "--sign", help="Sign this drone's MAVLink traffic."),
    as_json: bool = typer.Option(False, "--json", help="Print the registered drone as JSON."),
) -> None:
    """Register drone NAME."""
    with handle_errors():
        from uav.store.drones import Drone

        d = open_store(ctx).add_drone(
            Drone(
                name=name,
                connect_url=connect,
                sysid=sysid,
                serial=serial,
                remote_id=remote_id,
                sign_requested=sign,
            )
        )
    if as_json:
        print_json(drone_json(d))
    err.print(f"drone {d.name} registered: {d.connect_url}, sysid {d.sysid}, signing {d.signing}")


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
