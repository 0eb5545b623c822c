"""``uav fly NAME --plan PLAN``: check, upload, arm, AUTO, and follow the flight live."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from uav.cli.common import EXIT_FINDINGS, err, open_store
from uav.cli.plan import (
    BufferOption,
    HomeToleranceOption,
    MaxAltOption,
    SpeedOption,
    TimeMarginOption,
)
from uav.plans.defaults import (
    DEFAULT_BUFFER_M,
    DEFAULT_MAX_ALT_M,
    DEFAULT_TIME_MARGIN_S,
    HOME_TOLERANCE_M,
)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from uav.fleet.events import FlyEvent, InFlight, Readiness, Transfer
    from uav.fleet.fly import FlightResult

SHORT_HELP = "Check, upload and fly a plan with a drone; follow it live to the ground."
HELP = (
    "Fly PLAN with drone NAME: check the plan (as `uav plan check --drone NAME`; a plan that "
    "is not clear is never sent), wait for the drone to be ready (GPS, EKF position, pre-arm "
    "checks, home; bounded by --ready-timeout), upload and verify the mission, arm, start it "
    "in AUTO, and follow it live on stderr (mission item, distance to it, altitude, speed, "
    "battery) until the drone has landed and disarmed, bounded by the plan's duration plus a "
    "margin. A plan that does not end with RTL or LAND gets an RTL added, as the check "
    "assumed.\n\n"
    "The plan is checked again just before the upload, for the real take-off time.\n\n"
    "Ctrl-C after take-off sends the drone home (RTL) and follows it to the ground; a second "
    "Ctrl-C stops following (the drone carries on).\n\n"
    "Exit codes: 0 flown, landed and disarmed; 1 the plan is not clear, the drone refused, or "
    "the flight was stopped with Ctrl-C; 2 bad input, unknown drone, no link, not ready in "
    "time, the drone's home too far from the plan's, or no landing within the bound."
)


def fly(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Drone name."),
    plan: Path = typer.Option(..., "--plan", help="The plan file."),
    at: str | None = typer.Option(
        None,
        "--at",
        help="Take-off time to check the plan for (ISO 8601; default now). The drone takes "
        "off now, so T must be within --time-margin of now.",
    ),
    speed: SpeedOption = None,
    buffer: BufferOption = DEFAULT_BUFFER_M,
    max_alt: MaxAltOption = DEFAULT_MAX_ALT_M,
    time_margin: TimeMarginOption = DEFAULT_TIME_MARGIN_S,
    ready_timeout: float = typer.Option(
        120.0, "--ready-timeout", help="Seconds (drone's clock) to wait for it to be ready."
    ),
    home_tolerance: HomeToleranceOption = HOME_TOLERANCE_M,
) -> None:
    from uav.cli.fleet import drone_errors
    from uav.cli.plan import check_options, show_report
    from uav.fleet.errors import PlanRefused

    view = FlyView(err)
    with drone_errors():
        from uav.fleet.fly import fly as fly_plan

        try:
            result = fly_plan(
                open_store(ctx),
                name,
                plan,
                check_options(at, speed, buffer, max_alt, time_margin),
                on_event=view,
                ready_timeout_s=ready_timeout,
                home_tolerance_m=home_tolerance,
            )
        except PlanRefused as exc:
            view.close()
            show_report(exc.report, plan, as_json=False)
            raise
        finally:
            view.close()
    report_result(result)
    if result.aborted:
        raise typer.Exit(EXIT_FINDINGS)


def report_result(result: FlightResult) -> None:
    for note in result.notes:
        err.print(f"note: {escape(note)}")
    s = result.final
    where = (
        ""
        if result.landed_from_home_m is None
        else f", {result.landed_from_home_m:.1f} m from home"
    )
    took = "" if result.flight_s is None else f" after {result.flight_s:.0f} s"
    battery = "" if s.battery_pct is None else f", battery {s.battery_pct}%"
    if result.aborted:
        state = "disarmed" if s.armed is False else f"in {s.mode_name}"
        err.print(
            f"[bold yellow]{escape(result.drone)}: flight stopped with Ctrl-C[/]; {state}"
            f"{where}{battery}"
        )
    else:
        err.print(
            f"[bold green]{escape(result.drone)}: landed and disarmed[/]{took}{where}{battery}"
        )


class FlyView:
    """Shows the events of :func:`uav.fleet.fly.fly` on a console: live bars on a terminal,
    one line per change otherwise (a log, a pipe, a test)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live = console.is_terminal
        self.progress: Progress | None = None
        self.tasks: dict[str, TaskID] = {}
        self.last_line: dict[str, str] = {}

    def __call__(self, event: FlyEvent) -> None:
        from uav.fleet.events import InFlight, Readiness, Step, Transfer

        if isinstance(event, Step):
            self._print(escape(event.text))
        elif isinstance(event, Readiness):
            self._show("ready", readiness_text(event))
        elif isinstance(event, Transfer):
            self._transfer(event)
        elif isinstance(event, InFlight):
            self._show("flight", flight_text(event), key=flight_key(event))

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
            self.tasks.clear()

    def _print(self, text: str) -> None:
        target = self.progress.console if self.progress is not None else self.console
        target.print(text)

    def _bars(self) -> Progress:
        if self.progress is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=self.console,
            )
            self.progress.start()
        return self.progress

    def _show(self, kind: str, text: str, key: str | None = None) -> None:
        if not self.live:
            if self.last_line.get(kind) != (key or text):
                self.last_line[kind] = key or text
                self.console.print(f"{kind}: {text}")
            return
        bars = self._bars()
        if kind not in self.tasks:
            self.tasks[kind] = bars.add_task(f"{kind}: {text}", total=None)
        bars.update(self.tasks[kind], description=f"{kind}: {text}")

    def _transfer(self, event: Transfer) -> None:
        if not self.live:
            if event.done == event.total:
                self.console.print(f"mission {event.what}: {event.done}/{event.total} items")
            return
        bars = self._bars()
        if event.what not in self.tasks:
            self.tasks[event.what] = bars.add_task(f"mission {event.what}", total=event.total)
        bars.update(self.tasks[event.what], completed=event.done, total=event.total)


def readiness_text(r: Readiness) -> str:
    fix = "no GPS" if r.gps_fix_type is None else f"GPS fix {r.gps_fix_type}"
    prearm = {True: "passed", False: "failing", None: "?"}[r.prearm_ok]
    return (
        f"{fix}, {r.satellites or 0} sats, EKF position {'ok' if r.position_ok else 'no'}, "
        f"pre-arm {prearm}, home {'set' if r.home_set else 'not set'} "
        f"({r.waited_s:.0f} s)"
    )


def flight_key(f: InFlight) -> str:
    return f"{f.mode} {f.seq} {f.armed} {f.returning}"


def flight_text(f: InFlight) -> str:
    item = "-" if f.seq is None else f"{f.seq}/{f.total if f.total is not None else '?'}"
    dist = "" if f.wp_distance_m is None else f", {f.wp_distance_m:.0f} m to go"
    alt = "alt ?" if f.alt_rel_m is None else f"alt {f.alt_rel_m:.1f} m"
    speed = "" if f.groundspeed_mps is None else f", {f.groundspeed_mps:.1f} m/s"
    battery = "" if f.battery_pct is None else f", battery {f.battery_pct}%"
    arming = "armed" if f.armed else "disarmed"
    target = "home" if f.returning else f"item {item}"
    return f"{f.mode or '?'} ({arming}), {target}{dist}, {alt}{speed}{battery}"
