"""``uav permits``: third-party drones allowed to fly, by Remote ID or ICAO address."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from uav.cli.common import (
    EXIT_CODES_HELP,
    err,
    handle_errors,
    open_store,
    out,
    parse_time,
    print_json,
)

if TYPE_CHECKING:
    from uav.detect.permits import Permit

app = typer.Typer(
    help="Permits: third-party drones allowed to fly for a time.\n\n"
    "By Remote ID or ICAO address, optionally only in one zone or area. Every change is "
    "logged in the evidence chain.\n\n" + EXIT_CODES_HELP,
    no_args_is_help=True,
)


@app.command("add")
def add(
    ctx: typer.Context,
    remote_id: str | None = typer.Option(None, "--remote-id", help="Remote ID (UAS id)."),
    icao: str | None = typer.Option(None, "--icao", help="ICAO address, 6 hex digits."),
    operator: str | None = typer.Option(None, "--operator", help="Operator (name or id)."),
    start: str = typer.Option(..., "--start", help="From (ISO 8601)."),
    end: str = typer.Option(..., "--end", help="Until (ISO 8601)."),
    zone: int | None = typer.Option(None, "--zone", help="Only inside this zone id."),
    area: Path | None = typer.Option(None, "--area", help="Only inside this zone file's union."),
    reason: str | None = typer.Option(None, "--reason", help="Why (event, case number)."),
    as_json: bool = typer.Option(False, "--json", help="Print the permit as JSON."),
) -> None:
    """Permit a drone (--remote-id and/or --icao) from START to END."""
    with handle_errors():
        from uav.detect.permits import Permit, normalise_icao, read_area

        start_dt, end_dt = parse_time(start, "--start"), parse_time(end, "--end")
        assert start_dt is not None and end_dt is not None
        shape = read_area(area) if area is not None else None
        rid = remote_id.strip() if remote_id is not None and remote_id.strip() else None
        permit = Permit(
            start=start_dt,
            end=end_dt,
            remote_id=rid,
            icao_address=normalise_icao(icao),
            operator=operator,
            zone_id=zone,
            area=shape,
            area_source=str(area) if area is not None else None,
            reason=reason,
        )
        p = open_store(ctx).add_permit(permit)
    if as_json:
        print_json(permit_json(p))
    else:
        out.print(str(p.id))
    err.print(f"permit {p.id}: {escape(_who(p))} from {p.start} to {p.end}{escape(_where(p))}")


@app.command("list")
def list_(
    ctx: typer.Context,
    all_: bool = typer.Option(False, "--all", help="Include revoked permits."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List permits (not revoked, unless --all)."""
    with handle_errors():
        permits = open_store(ctx).permits(include_revoked=all_)
    if as_json:
        print_json([permit_json(p) for p in permits])
        return
    from rich.table import Table

    t = Table("id", "remote id", "icao", "operator", "start", "end", "where", "reason", "revoked")
    for p in permits:
        t.add_row(
            str(p.id),
            escape(p.remote_id or ""),
            p.icao_address or "",
            escape(p.operator or ""),
            p.start.isoformat(),
            p.end.isoformat(),
            escape(_where(p).removeprefix(" in ")),
            escape(p.reason or ""),
            p.revoked_at.isoformat() if p.revoked_at else "",
        )
    out.print(t)
    err.print(f"{len(permits)} permit(s)")


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    permit_id: int = typer.Argument(..., help="Permit id."),
) -> None:
    """Revoke a permit (kept, marked revoked; the change is logged)."""
    with handle_errors():
        p = open_store(ctx).revoke_permit(permit_id)
    err.print(f"permit {p.id} revoked")


def _who(p: Permit) -> str:
    ids = [f"remote id {p.remote_id}" if p.remote_id else "", f"ICAO {p.icao_address or ''}"]
    return " / ".join(i for i in ids if i and i != "ICAO ")


def _where(p: Permit) -> str:
    if p.zone_id is not None:
        return f" in zone {p.zone_id}"
    if p.area is not None:
        return f" in the area of {p.area_source}"
    return ""


def permit_json(p: Permit) -> dict[str, Any]:
    return {
        "id": p.id,
        "remote_id": p.remote_id,
        "icao_address": p.icao_address,
        "operator": p.operator,
        "start": p.start.isoformat(),
        "end": p.end.isoformat(),
        "zone_id": p.zone_id,
        "area_wkt": None if p.area is None else p.area.wkt,
        "area_source": p.area_source,
        "reason": p.reason,
        "created_at": p.created_at.isoformat() if p.created_at else None,
        "revoked_at": p.revoked_at.isoformat() if p.revoked_at else None,
    }
