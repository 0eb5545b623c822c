"""``uav plan``: check flight plans against the zones before take-off."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
    progress_bar,
)
from uav.plans.defaults import (
    DEFAULT_BUFFER_M,
    DEFAULT_MAX_ALT_M,
    DEFAULT_TIME_MARGIN_S,
    HOME_TOLERANCE_M,
)

if TYPE_CHECKING:
    from uav.check.report import CheckReport
    from uav.fleet.missions import CheckOptions

# The check's options, shared by `plan check`, `plan upload` and `uav fly`.
SpeedOption = Annotated[
    float | None,
    typer.Option("--speed", help="Horizontal speed in m/s (default: the plan's, else 10)."),
]
BufferOption = Annotated[
    float, typer.Option("--buffer", help="Lateral buffer around zones, metres.")
]
MaxAltOption = Annotated[
    float, typer.Option("--max-alt", help="Global ceiling, metres above take-off.")
]
TimeMarginOption = Annotated[
    float,
    typer.Option("--time-margin", help="Seconds added before/after each zone's active time."),
]
HomeToleranceOption = Annotated[
    float,
    typer.Option("--home-tolerance", help="How far (m) the drone's home may be from the plan's."),
]

app = typer.Typer(
    help="Flight plans: check them against the zones; upload them to a drone and download "
    "them from it.",
    no_args_is_help=True,
)

CHECK_EXIT_HELP = (
    "Exit codes: 0 the plan is clear; 1 it violates at least one zone or rule; "
    "2 bad input, or the check cannot decide safely (e.g. an AMSL zone and no home altitude)."
)


@app.command(
    "check",
    help=(
        "Check PLAN leg by leg, in 3-D and in time, against the zones.\n\n"
        "Each leg against every zone active while the drone is on it, the global ceiling, the "
        "operating area(s) and the drone's grants.\n\n"
        "Plans: QGroundControl .plan, Mission Planner .waypoints, GeoJSON or KML LineString.\n\n"
        + CHECK_EXIT_HELP
    ),
)
def check(
    ctx: typer.Context,
    plan: Path = typer.Argument(..., help="The plan file."),
    drone: str | None = typer.Option(
        None, "--drone", help="The drone that will fly it (its grants apply)."
    ),
    at: str | None = typer.Option(None, "--at", help="Take-off time (ISO 8601; default now)."),
    speed: SpeedOption = None,
    buffer: BufferOption = DEFAULT_BUFFER_M,
    max_alt: MaxAltOption = DEFAULT_MAX_ALT_M,
    time_margin: TimeMarginOption = DEFAULT_TIME_MARGIN_S,
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    with handle_errors():
        from uav.plans.check import check_plan_file

        report = check_plan_file(
            open_store(ctx),
            plan,
            drone=drone,
            at=parse_time(at, "--at"),
            speed_mps=speed,
            buffer_m=buffer,
            max_alt_m=max_alt,
            time_margin_s=time_margin,
        )
    if as_json:
        print_json(report.to_json())
    else:
        render_report(report, plan)
    if not report.clear:
        raise typer.Exit(EXIT_FINDINGS)


def render_report(report: CheckReport, plan: Path) -> None:
    from rich.table import Table

    if report.violations:
        t = Table(title=f"{plan.name}: violations")
        t.add_column("leg", no_wrap=True)
        t.add_column("rule")
        t.add_column("zone", no_wrap=True)
        t.add_column("restriction")
        t.add_column("entry (lat, lon, alt above home)")
        t.add_column("time")
        for v in report.violations:
            e = v.entry
            t.add_row(
                v.leg,
                v.rule,
                f"{v.zone} (#{v.zone_id})" if v.zone_id is not None else "-",
                v.restriction or "-",
                f"{e['lat_deg']:.6f}, {e['lon_deg']:.6f}, {e['alt_m']:.1f} m",
                str(e["time"]),
            )
        out.print(t)
    if report.warnings:
        t = Table(title="warnings")
        for col in ("leg", "rule", "zone", "clearance"):
            t.add_column(col, no_wrap=True)
        t.add_column("message")
        for w in report.warnings:
            clearance = f"{w.clearance_m:.1f} m" if w.clearance_m is not None else "-"
            t.add_row(w.leg, w.rule, w.zone or "-", clearance, w.message)
        out.print(t)
    for note in report.notes:
        err.print(f"note: {note}")
    verdict = (
        "[bold green]CLEAR[/]"
        if report.clear
        else (f"[bold red]NOT CLEAR[/]: {len(report.violations)} violation(s)")
    )
    out.print(f"{plan.name}: {verdict}, {len(report.warnings)} warning(s)")


UPLOAD_EXIT_HELP = (
    "Exit codes: 0 uploaded and verified; 1 the plan is not clear (nothing is sent; the "
    "report is the one `plan check` gives) or the drone refused the mission; 2 bad input, "
    "unknown drone, no link, a verify that failed, the drone's home too far from the plan's, "
    "or the check cannot decide safely."
)


@app.command(
    "upload",
    help=(
        "Check PLAN for the drone and, only if it is clear, upload it and verify it.\n\n"
        "The check is `uav plan check --drone NAME`'s, the drone's grants included. The "
        "upload uses the MAVLink mission protocol (items the drone asks for again are sent "
        "again); the mission is then downloaded back and compared. A drone whose home is "
        "further than --home-tolerance from the plan's is refused: the check would describe "
        "another flight. If an upload fails part-way, the drone's mission is cleared so that "
        "a partial mission cannot be flown.\n\n" + UPLOAD_EXIT_HELP
    ),
)
def upload(
    ctx: typer.Context,
    plan: Path = typer.Argument(..., help="The plan file."),
    drone: str = typer.Option(..., "--drone", help="The drone to upload to."),
    at: str | None = typer.Option(None, "--at", help="Take-off time (ISO 8601; default now)."),
    speed: SpeedOption = None,
    buffer: BufferOption = DEFAULT_BUFFER_M,
    max_alt: MaxAltOption = DEFAULT_MAX_ALT_M,
    time_margin: TimeMarginOption = DEFAULT_TIME_MARGIN_S,
    home_tolerance: HomeToleranceOption = HOME_TOLERANCE_M,
    as_json: bool = typer.Option(False, "--json", help="Print the check report as JSON."),
) -> None:
    from uav.cli.fleet import drone_errors

    with drone_errors():
        from uav.fleet.errors import PlanRefused
        from uav.fleet.missions import upload_plan

        options = check_options(at, speed, buffer, max_alt, time_margin)
        try:
            with progress_bar("mission upload") as progress:
                done = upload_plan(
                    open_store(ctx),
                    drone,
                    plan,
                    options,
                    progress=progress,
                    home_tolerance_m=home_tolerance,
                )
        except PlanRefused as exc:
            show_report(exc.report, plan, as_json)
            raise
    show_report(done.checked.report, plan, as_json)
    where = (
        "the drone has no home yet: compare it with the plan's before flying"
        if done.home_offset_m is None
        else f"its home is {done.home_offset_m:.0f} m from the plan's"
    )
    err.print(
        f"{done.drone}: {done.items - 1} mission item(s) uploaded and verified; {escape(where)}"
    )


@app.command(
    "download",
    help=(
        "Download drone NAME's mission as a QGroundControl .plan.\n\n"
        "Home comes from the drone; `uav plan check` and `uav plan upload` read the file.\n\n"
        "Exit codes: 0 written; 2 unknown drone, no link, no mission or no home on the drone, "
        "or the file cannot be written."
    ),
)
def download(
    ctx: typer.Context,
    drone: str = typer.Option(..., "--drone", help="The drone to read the mission from."),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="The .plan file to write (default: stdout)."
    ),
) -> None:
    from uav.cli.fleet import drone_errors

    with drone_errors():
        from uav.fleet.missions import download_plan, write_plan

        with progress_bar("mission download") as progress:
            doc, count = download_plan(open_store(ctx), drone, progress=progress)
        if output is not None:
            write_plan(doc, output)
    if output is None:
        print_json(doc)
        err.print(f"{drone}: {count} mission item(s)")
    else:
        err.print(
            f"{drone}: {count} mission item(s) written to {escape(str(output))}", soft_wrap=True
        )


def check_options(
    at: str | None, speed: float | None, buffer: float, max_alt: float, time_margin: float
) -> CheckOptions:
    """The check options of `plan check`, shared by `plan upload` and `fly`."""
    from uav.fleet.missions import CheckOptions

    return CheckOptions(
        at=parse_time(at, "--at"),
        speed_mps=speed,
        buffer_m=buffer,
        max_alt_m=max_alt,
        time_margin_s=time_margin,
    )


def show_report(report: CheckReport, plan: Path, as_json: bool) -> None:
    if as_json:
        print_json(report.to_json())
    else:
        render_report(report, plan)
