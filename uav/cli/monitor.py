"""``uav monitor`` (watch the drones, act before a breach) and ``uav events`` (what it did)."""

from __future__ import annotations

import sys
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import typer
from rich.markup import escape

from uav.cli.common import (
    EXIT_FINDINGS,
    err,
    handle_errors,
    open_store,
    out,
    parse_time,
    print_json,
)
from uav.enforce.model import Action
from uav.enforce.options import DEFAULT_LOOKAHEAD_S, DEFAULT_MONITOR_TIME_MARGIN_S
from uav.plans.defaults import DEFAULT_BUFFER_M, DEFAULT_MAX_ALT_M

if TYPE_CHECKING:
    from uav.enforce.model import EnforcementEvent

SHORT_HELP = "Watch drones live; act (RTL, BRAKE, ...) before they break a zone's rule."
HELP = (
    "Watch drones NAME... (default: every registered drone) and act before a breach. From "
    "each position (GLOBAL_POSITION_INT, asked at 10 Hz) and velocity the monitor predicts "
    "the first rule the drone would break within --lookahead seconds: entering a prohibited "
    "zone (or an authorization zone without its grant) in 3-D, floors, ceilings and "
    "schedules included (judged on the drone's own UTC, a window that opens during the "
    "look-ahead counts), leaving the operating areas, or climbing above --max-alt. When that "
    "breach is within the look-ahead, or the drone is within --buffer metres of a "
    "restrictive zone that applies to it, it sends --action once per drone and zone, "
    "confirms it (COMMAND_ACK and the mode in the HEARTBEAT) and records an event (`uav "
    "events`). A drone already in the action's mode whose stop would still end inside is "
    "switched to BRAKE once. A drone that stops reporting is an alert; the monitor keeps "
    "trying to reach it. Warning zones are shown, never acted on; disarmed drones are not "
    "acted on.\n\n"
    "Default look-ahead, 8 s: at 10 m/s that is 80 m. RTL stops a 10 m/s drone in 21 m on "
    "ArduPilot SITL (its fence RTL in the recorded flight) and in 20-40 m on the emulator; "
    "the position rate, the prediction and the command add under 1 s (10 m). BRAKE stops "
    "in 7 m (750 cm/s^2).\n\n"
    "Runs until --duration (wall seconds) or Ctrl-C. The live table is on stderr; "
    "--json-log FILE appends one JSON object per event per line ('-': stdout).\n\n"
    "Exit codes: 0 the monitor ran and ended; 1 an action was refused or not confirmed in "
    "time (or the link went while acting), or a drone could not be judged (an 'uncertain' "
    "event); 2 bad input, unknown drone."
)


def monitor(
    ctx: typer.Context,
    names: list[str] = typer.Argument(None, help="Drone names (default: every drone)."),
    action: Action = typer.Option(
        Action.RTL, "--action", help="What to do before a breach; warn sends nothing."
    ),
    buffer: float = typer.Option(
        DEFAULT_BUFFER_M,
        "--buffer",
        help="Act when the drone is this close (m, horizontally) to a restrictive zone that "
        "applies to it now.",
    ),
    lookahead: float = typer.Option(
        DEFAULT_LOOKAHEAD_S,
        "--lookahead",
        help="Seconds ahead the breach is predicted (at the current velocity).",
    ),
    duration: float | None = typer.Option(
        None, "--duration", help="Stop after this many seconds (default: until Ctrl-C)."
    ),
    json_log: str | None = typer.Option(
        None, "--json-log", help="Append each event as one JSON line to FILE ('-': stdout)."
    ),
    max_alt: float = typer.Option(
        DEFAULT_MAX_ALT_M, "--max-alt", help="Ceiling, metres above take-off."
    ),
    time_margin: float = typer.Option(
        DEFAULT_MONITOR_TIME_MARGIN_S,
        "--time-margin",
        help="Seconds added before and after each zone's active time.",
    ),
) -> None:
    from uav.cli.dashboard import Dashboard
    from uav.enforce.monitor import Monitor, MonitorOptions

    options = MonitorOptions(
        action=action,
        buffer_m=buffer,
        lookahead_s=lookahead,
        max_alt_m=max_alt,
        time_margin_s=time_margin,
    )
    view = Dashboard(err)
    # 20 drones' positions arrive together: hand the GIL over every 1 ms rather than 5 ms so
    # the last drone of a burst is assessed sooner (bench/monitor.py measures it)
    sys.setswitchinterval(0.001)
    with handle_errors(), _open_log(json_log) as log:
        mon = Monitor(open_store(ctx), names or (), options, on_event=view.on_event, json_log=log)
        err.print(
            f"monitoring {len(mon.targets)} drone(s) against {mon.zone_count} zone(s): "
            f"action {action.value}, look-ahead {lookahead:g} s, buffer {buffer:g} m"
        )
        with view:
            try:
                result = mon.run(duration_s=duration, tick=view.tick)
            except KeyboardInterrupt:
                result = mon.result()
    _summary(result)
    if result.failed_actions:
        raise typer.Exit(EXIT_FINDINGS)


def _summary(result: object) -> None:
    from uav.enforce.monitor import MonitorResult

    assert isinstance(result, MonitorResult)
    err.print(
        f"monitor stopped: {result.events} event(s), {result.actions} action(s) sent, "
        f"{result.failed_actions} not confirmed, {result.alerts} alert(s)"
    )
    if result.store_errors:
        err.print(f"[bold red]warning:[/] {result.store_errors} event(s) could not be stored")


class _open_log:
    """The --json-log stream: None, stdout for '-', or FILE opened for appending."""

    def __init__(self, target: str | None) -> None:
        self.target = target
        self.file: TextIO | None = None

    def __enter__(self) -> TextIO | None:
        if self.target is None:
            return None
        if self.target == "-":
            return sys.stdout
        from uav.errors import InputError

        try:
            self.file = Path(self.target).open("a", encoding="utf-8")
        except OSError as exc:
            raise InputError(f"--json-log {self.target}: {exc.strerror or exc}") from None
        return self.file

    def __exit__(self, *exc: object) -> None:
        if self.file is not None:
            self.file.close()


def events(
    ctx: typer.Context,
    since: str | None = typer.Option(None, "--since", help="From this time (ISO 8601)."),
    until: str | None = typer.Option(None, "--until", help="Up to this time (ISO 8601)."),
    drone: list[str] = typer.Option(None, "--drone", help="Only this drone (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="JSON on stdout."),
) -> None:
    """List the monitor's enforcement events and alerts, oldest first."""
    with handle_errors():
        found = open_store(ctx).events(
            since=parse_time(since, "--since"),
            until=parse_time(until, "--until"),
            drones=drone or (),
        )
    if as_json:
        print_json([e.to_json() for e in found])
        return
    _events_table(found)
    err.print(f"{len(found)} event(s)")


def _events_table(found: list[EnforcementEvent]) -> None:
    from rich.table import Table

    t = Table("id", "time (UTC)", "drone", "event", "zone", "breach in")
    for e in found:
        what = e.kind.value if e.action is None else f"{e.action} {e.result.value}"
        t.add_row(
            str(e.id),
            e.time.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            escape(e.drone),
            what,
            escape(e.zone_name or e.rule or ""),
            "" if e.time_to_breach_s is None else f"{e.time_to_breach_s:.1f} s",
        )
    out.print(t)
