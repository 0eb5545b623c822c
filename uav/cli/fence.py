"""``uav fence``: the zones compiled into a drone's onboard (ArduPilot) fence."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from uav.cli.common import err, open_store, out, print_json
from uav.plans.defaults import DEFAULT_MAX_ALT_M

if TYPE_CHECKING:
    from uav.fence.compile import FenceSpec
    from uav.fence.items import FenceShapes

PUSH_EXIT_HELP = (
    "Exit codes: 0 pushed and verified (or, with --dry-run, it could be pushed); 1 refused "
    "(nothing was sent; the reasons are shown: home, a rally point or the mission inside an "
    "exclusion, zones only the monitor can enforce, ...) or refused by the drone; 2 bad "
    "input, unknown drone, no link, or what the drone holds differs from what was sent."
)

app = typer.Typer(
    help="The drone's onboard fence: the zones that matter to its flight, compiled for ArduPilot."
    "\n\n"
    "Compiled into ArduPilot fence items: exclusion polygons and circles, an operating-area "
    "inclusion, the fence circle and an altitude limit.",
    no_args_is_help=True,
)


@app.command(
    "push",
    help=(
        "Compile the zones that matter to drone NAME into its onboard fence and upload it."
        "\n\n"
        "Select the zones that matter to drone NAME (near home, active during its flight, "
        "not granted to it), compile them to fence items, simplified conservatively to the "
        "drone's budget (70 items, 560 bytes), set FENCE_ENABLE/TYPE/ACTION/ALT_MAX/RADIUS/"
        "MARGIN, upload with the fence mission type, and verify by reading both back. "
        "Refused when home, a rally point, the drone or its mission would be inside an "
        "exclusion or outside the inclusion, or when zones can only be enforced by the "
        "monitor (unless --monitored).\n\n" + PUSH_EXIT_HELP
    ),
)
def push(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Drone name."),
    radius: float | None = typer.Option(
        None,
        "--radius",
        help="FENCE_RADIUS in m (default: the mission's and rally points' reach + 100 m, "
        "at least 1000 m).",
        show_default=False,
    ),
    max_points: int | None = typer.Option(
        None, "--max-points", help="Fence items allowed (3-70; default 70)."
    ),
    action: str = typer.Option(
        "rtl", "--action", help="On a breach: rtl, land, brake, smart-rtl or report."
    ),
    margin: float = typer.Option(2.0, "--margin", help="FENCE_MARGIN, metres."),
    max_alt: float = typer.Option(
        DEFAULT_MAX_ALT_M, "--max-alt", help="Global ceiling, metres above take-off."
    ),
    for_: str | None = typer.Option(
        None,
        "--for",
        help="Flight window from now, e.g. 45m or 2h (default: the mission's duration + "
        "10 min; no mission: 1h).",
    ),
    monitored: bool = typer.Option(
        False,
        "--monitored",
        help="`uav monitor` watches this drone: push what can be expressed onboard and leave "
        "the rest to the monitor.",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show what would be uploaded; send nothing."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the fence as JSON."),
) -> None:
    from uav.cli.fleet import drone_errors

    with drone_errors():
        from uav.fence.compile import FenceOptions
        from uav.fence.push import FenceRefused, push_fence
        from uav.timeutil import parse_duration_s

        options = FenceOptions(
            radius_m=radius,
            max_points=max_points,
            action=action,
            margin_m=margin,
            max_alt_m=max_alt,
            duration_s=None if for_ is None else parse_duration_s(for_),
            monitored=monitored,
            dry_run=dry_run,
        )
        try:
            result = push_fence(open_store(ctx), name, options)
        except FenceRefused as exc:
            if exc.spec is not None:
                _show_spec(exc.spec, as_json, {"pushed": False, "refused": list(exc.reasons)})
            raise
    extra = {"pushed": result.uploaded, "params_read": result.params_read}
    _show_spec(result.spec, as_json, extra)
    spec = result.spec
    used = f"{spec.shapes.item_count} item(s), {spec.shapes.bytes_used} of 560 bytes"
    if result.uploaded:
        err.print(
            f"{escape(spec.situation.drone)}: fence uploaded and verified ({used}); "
            f"FENCE_ENABLE 1, FENCE_TYPE {spec.params['FENCE_TYPE']:g}"
        )
    else:
        err.print(f"{escape(spec.situation.drone)}: dry run ({used}): nothing was sent")
    if spec.monitor_only:
        names = ", ".join(escape(z.name) for z in spec.monitor_only)
        err.print(f"[yellow]only the monitor enforces:[/] {names}")


def _show_spec(spec: FenceSpec, as_json: bool, extra: dict[str, object]) -> None:
    if as_json:
        print_json({**spec.to_json(), **extra})
        return
    from rich.table import Table

    t = Table(title=f"{spec.situation.drone}: zones", box=None)
    for col in ("zone", "restriction", "role", "vertices", "area change"):
        t.add_column(col, no_wrap=col != "zone")
    t.add_column("why")
    for z in spec.zones:
        vertices = f"{z.original_vertices} → {z.pushed_vertices}" if z.original_vertices else "-"
        change = f"{z.area_change_m2:+.0f} m² ({z.area_change_pct:+.1f} %)" if z.area_m2 else "-"
        label = escape(z.name) + (f" (#{z.zone_id})" if z.zone_id is not None else "")
        t.add_row(label, z.restriction, z.role, vertices, change, escape(z.reason))
    out.print(t)
    _print_shapes(spec.shapes)
    params = ", ".join(f"{k} {v:g}" for k, v in spec.params.items())
    out.print(f"params: {params}")
    out.print(f"FENCE_ALT_MAX from {escape(spec.alt_max_why)}")
    for note in spec.notes:
        err.print(f"note: {escape(note)}")


def _print_shapes(shapes: FenceShapes) -> None:
    for p in shapes.polygons:
        kind = "inclusion" if p.inclusion else "exclusion"
        out.print(f"{kind} polygon: {len(p.vertices)} vertices")
    for c in shapes.circles:
        kind = "inclusion" if c.inclusion else "exclusion"
        out.print(
            f"{kind} circle: {c.lat_e7 / 1e7:.7f}, {c.lon_e7 / 1e7:.7f}, radius {c.radius_m:g} m"
        )
    if shapes.return_point is not None:
        la, lo = shapes.return_point
        out.print(f"return point: {la / 1e7:.7f}, {lo / 1e7:.7f}")
    out.print(f"{shapes.item_count} item(s), {shapes.bytes_used} of 560 bytes")


@app.command(
    "show",
    help="Read drone NAME's fence back.\n\n"
    "Inclusion/exclusion polygons (vertex counts), circles, the return point, the FENCE_* "
    "parameters and the storage used.\n\n"
    "Exit codes: 0 shown; 2 unknown drone or no link.",
)
def show(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Drone name."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    from uav.cli.fleet import drone_errors

    with drone_errors():
        from uav.fence.push import show_fence

        found = show_fence(open_store(ctx), name)
    if as_json:
        print_json(found.to_json())
        return
    _print_shapes(found.shapes)
    out.print("params: " + ", ".join(f"{k} {v:g}" for k, v in found.params.items()))
    for note in found.shapes.notes:
        err.print(f"note: {escape(note)}")


@app.command(
    "clear",
    help="Clear drone NAME's fence items and set FENCE_ENABLE 0 (the fence is then off).\n\n"
    "Exit codes: 0 cleared; 1 refused by the drone; 2 unknown drone or no link.",
)
def clear(ctx: typer.Context, name: str = typer.Argument(..., help="Drone name.")) -> None:
    from uav.cli.fleet import drone_errors

    with drone_errors():
        from uav.fence.push import clear_fence

        clear_fence(open_store(ctx), name)
    err.print(f"{escape(name)}: fence items cleared and FENCE_ENABLE set to 0: the fence is off")
