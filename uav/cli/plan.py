"""``uav plan``: check flight plans against the zones before take-off."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from uav.cli.common import (
    EXIT_FINDINGS,
    err,
    handle_errors,
    open_store,
    out,
    parse_time,
    print_json,
)

if TYPE_CHECKING:
    from uav.check.report import CheckReport

app = typer.Typer(help="Flight plans: check them against the zones.", no_args_is_help=True)

CHECK_EXIT_HELP = (
    "Exit codes: 0 the plan is clear; 1 it violates at least one zone or rule; "
    "2 bad input, or the check cannot decide safely (e.g. an AMSL zone and no home altitude)."
)


@app.command(
    "check",
    help=(
        "Check PLAN leg by leg in 3-D and in time against every zone active while the drone is "
        "on that leg, the global ceiling, the operating area(s) and the drone's grants.\n\n"
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
    speed: float | None = typer.Option(
        None, "--speed", help="Horizontal speed in m/s (default: the plan's, else 10)."
    ),
    buffer: float = typer.Option(20.0, "--buffer", help="Lateral buffer around zones, metres."),
    max_alt: float = typer.Option(
        120.0, "--max-alt", help="Global ceiling, metres above take-off."
    ),
    time_margin: float = typer.Option(
        60.0, "--time-margin", help="Seconds added before/after each zone's active time."
    ),
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
