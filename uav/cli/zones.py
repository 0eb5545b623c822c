"""``uav zones``: load, list, show, export and remove airspace zones."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from uav.zones.model import Zone

from uav.cli.common import (
    EXIT_CODES_HELP,
    err,
    handle_errors,
    open_store,
    out,
    parse_time,
    print_json,
)

app = typer.Typer(
    help="Airspace zones: load them from the files officers receive, list, export, remove.\n\n"
    + EXIT_CODES_HELP,
    no_args_is_help=True,
)

FORMATS_HELP = "auto, geojson, kml, openair, ed269, qgc (QGroundControl .plan), mpfence"


@app.command("load")
def load(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., help="Zone files (GeoJSON, KML/KMZ, OpenAir, ...)."),
    fmt: str = typer.Option("auto", "--format", "-f", help=f"File format: {FORMATS_HELP}."),
    crs: str = typer.Option(
        "wgs84", "--crs", help="Coordinates of the files: wgs84, gcj02, bd09 or EPSG:n."
    ),
    restriction: str | None = typer.Option(
        None,
        "--restriction",
        help="For zones whose file does not say: prohibited, authorization, warning, "
        "operating-area.",
    ),
    floor: float | None = typer.Option(None, "--floor", help="Floor in metres, if not in file."),
    ceiling: float | None = typer.Option(
        None, "--ceiling", help="Ceiling in metres, if not in file."
    ),
    altitude_ref: str | None = typer.Option(
        None, "--altitude-ref", help="Reference of --floor/--ceiling: agl (default) or amsl."
    ),
    start: str | None = typer.Option(None, "--start", help="Active from (ISO 8601)."),
    end: str | None = typer.Option(None, "--end", help="Active until (ISO 8601)."),
    name: str | None = typer.Option(None, "--name", help="Name for zones the file leaves unnamed."),
    timezone: str | None = typer.Option(
        None, "--timezone", help="IANA time zone for daily windows the file does not place."
    ),
    replace: bool = typer.Option(
        False, "--replace", help="First remove zones earlier loaded from the same files."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the loaded zones as JSON."),
) -> None:
    """Load zones from files.

    All files are checked before anything is stored: one bad feature and nothing changes
    (exit 2, naming the file, feature and line)."""
    with handle_errors():
        from uav.geo.crs import normalise_crs
        from uav.zones.build import ZoneDefaults
        from uav.zones.describe import zone_summary
        from uav.zones.load import load_zone_files

        defaults = ZoneDefaults(
            restriction=restriction,
            floor_m=floor,
            ceiling_m=ceiling,
            altitude_ref=altitude_ref,
            start=parse_time(start, "--start"),
            end=parse_time(end, "--end"),
            name=name,
            timezone=timezone,
        )
        store = open_store(ctx)
        result = load_zone_files(
            store, files, fmt=fmt, crs=normalise_crs(crs), defaults=defaults, replace=replace
        )
    if as_json:
        print_json([zone_summary(z) for z in result.zones])
    else:
        _zone_table(result.zones)
    msg = f"loaded {len(result.zones)} zone(s) from {len(files)} file(s) into {store.url}"
    if replace:
        msg += f"; replaced {result.replaced}"
    err.print(msg)


@app.command("list")
def list_(
    ctx: typer.Context,
    active_at: str | None = typer.Option(
        None, "--active-at", help="Only zones active at this time (ISO 8601 or 'now')."
    ),
    near: str | None = typer.Option(None, "--near", help="LAT,LON: only zones near this point."),
    radius: float = typer.Option(5000.0, "--radius", help="Metres around --near."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List zones."""
    with handle_errors():
        from uav.zones import query

        zones = open_store(ctx).zones()
        when = parse_time(active_at, "--active-at")
        if when is not None:
            zones = query.active_at(zones, when)
        if near is not None:
            lat_deg, lon_deg = _parse_latlon(near)
            zones = query.near(zones, lat_deg, lon_deg, radius)
    if as_json:
        from uav.zones.describe import zone_summary

        print_json([zone_summary(z) for z in zones])
    else:
        _zone_table(zones)
        err.print(f"{len(zones)} zone(s)")


@app.command("show")
def show(
    ctx: typer.Context,
    zone_id: int = typer.Argument(..., help="Zone id."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (with GeoJSON geometry)."),
) -> None:
    """Show one zone in full."""
    with handle_errors():
        from uav.zones.describe import zone_detail

        zone = open_store(ctx).zone(zone_id)
        detail = zone_detail(zone)
    if as_json:
        print_json(detail)
        return
    from rich.table import Table

    t = Table(show_header=False, box=None)
    for key in ("id", "name", "restriction", "geometry_kind", "radius_m"):
        if key in detail:
            t.add_row(key, str(detail[key]))
    t.add_row("band", zone.band.describe())
    t.add_row("schedule", zone.schedule.describe())
    for key in ("reason", "authority", "message"):
        if detail[key]:
            t.add_row(key, str(detail[key]))
    for key, value in detail["source"].items():
        t.add_row(f"source {key}", str(value))
    out.print(t)


@app.command("export")
def export(
    ctx: typer.Context,
    fmt: str = typer.Option("geojson", "--format", "-f", help="geojson or kml."),
    output: Path | None = typer.Option(None, "-o", "--output", help="File (default stdout)."),
    ids: list[int] | None = typer.Argument(None, help="Zone ids (default: all)."),
) -> None:
    """Export zones; the file loads back with `uav zones load` to the same zones."""
    with handle_errors():
        from uav.errors import InputError

        if fmt not in ("geojson", "kml"):
            raise InputError(f"--format {fmt!r}: use geojson or kml")
        store = open_store(ctx)
        zones = store.zones(ids) if ids else store.zones()
        if ids:
            missing = sorted(set(ids) - {z.id for z in zones})
            if missing:
                raise InputError(f"no zone with id {', '.join(map(str, missing))}")
        if fmt == "kml":
            from uav.formats.kml import dump
        else:
            from uav.formats.geojson import dump
        data = dump(zones)
        if output is None:
            typer.echo(data.decode("utf-8"), nl=False)
        else:
            try:
                output.write_bytes(data)
            except OSError as exc:
                raise InputError(f"cannot write {output}: {exc.strerror}") from None
    err.print(f"exported {len(zones)} zone(s)" + (f" to {output}" if output else ""))


@app.command("remove")
def remove(
    ctx: typer.Context,
    ids: list[int] = typer.Argument(..., help="Zone ids."),
) -> None:
    """Remove zones (and their grants). All or nothing: an unknown id removes none."""
    with handle_errors():
        removed = open_store(ctx).remove_zones(ids)
    for z in removed:
        err.print(f"removed zone {z.id} {z.name!r}")


def _parse_latlon(text: str) -> tuple[float, float]:
    from uav.errors import InputError

    try:
        lat_s, lon_s = text.split(",")
        lat_deg, lon_deg = float(lat_s), float(lon_s)
    except ValueError:
        raise InputError(
            f"--near {text!r}: use LAT,LON in degrees, e.g. 23.1066,113.3245"
        ) from None
    if not (-90 <= lat_deg <= 90 and -180 <= lon_deg <= 180):
        raise InputError(f"--near {text!r}: latitude or longitude out of range")
    return lat_deg, lon_deg


def _zone_table(zones: list[Zone]) -> None:
    from rich.table import Table

    t = Table("id", "name", "restriction", "shape", "band", "schedule")
    for z in zones:
        t.add_row(
            str(z.id),
            z.name,
            z.restriction.value,
            z.geometry_kind,
            z.band.describe(),
            z.schedule.describe(),
        )
    out.print(t)
