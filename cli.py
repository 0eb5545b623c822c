"""The ``uav`` command line: a thin layer over the ``uav`` library.

Each command parses its options, makes one library call and renders the result: data on
stdout (``--json`` where it lists or checks), messages and errors on stderr.
"""

from __future__ import annotations

import typer

from uav.cli import auth, detect, fence, fleet, fly, monitor, permits, plan, sim, sitl, zones
from uav.cli.common import EXIT_CODES_HELP, State

app = typer.Typer(
    name="uav",
    help=(
        "Airspace management and no-fly enforcement for police drone units.\n\n" + EXIT_CODES_HELP
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    db: str | None = typer.Option(  # not a Path: it would fold a URL's "//" into "/"
        None,
        "--db",
        envvar="UAV_DB",
        help="Database: an SQLite file path or an SQLAlchemy URL (postgresql://...). "
        "Default: uav.db in the user data directory.",
        show_default=False,
    ),
) -> None:
    ctx.obj = State(db=db)


app.add_typer(zones.app, name="zones")
app.add_typer(auth.app, name="auth")
app.add_typer(plan.app, name="plan")
app.add_typer(fleet.app, name="fleet")
app.add_typer(fence.app, name="fence")
app.add_typer(sitl.app, name="sitl")
app.add_typer(sim.app, name="sim")
app.add_typer(detect.app, name="detect")
app.add_typer(permits.app, name="permits")
app.command("fly", help=fly.HELP, short_help=fly.SHORT_HELP)(fly.fly)
app.command("monitor", help=monitor.HELP, short_help=monitor.SHORT_HELP)(monitor.monitor)
app.command("events")(monitor.events)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
