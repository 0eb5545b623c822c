"""``uav auth``: officers' grants letting a drone into a restricted zone for a time."""

from __future__ import annotations

import typer

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
    help="Authorisations: grant a drone entry to a zone for a time window.\n\n" + EXIT_CODES_HELP,
    no_args_is_help=True,
)


@app.command("grant")
def grant(
    ctx: typer.Context,
    zone: int = typer.Option(..., "--zone", help="Zone id."),
    drone: str = typer.Option(..., "--drone", help="Drone name."),
    start: str = typer.Option(..., "--start", help="From (ISO 8601)."),
    end: str = typer.Option(..., "--end", help="Until (ISO 8601)."),
    by: str = typer.Option(..., "--by", help="The officer granting it."),
    reason: str | None = typer.Option(None, "--reason", help="Why (mission, case number)."),
    as_json: bool = typer.Option(False, "--json", help="Print the grant as JSON."),
) -> None:
    """Grant DRONE entry to ZONE from START to END."""
    with handle_errors():
        from uav.auth.model import Grant

        start_dt, end_dt = parse_time(start, "--start"), parse_time(end, "--end")
        assert start_dt is not None and end_dt is not None
        g = open_store(ctx).add_grant(
            Grant(
                zone_id=zone, drone=drone, start=start_dt, end=end_dt, granted_by=by, reason=reason
            )
        )
    if as_json:
        print_json(grant_json(g))
    else:
        out.print(f"{g.id}")
    err.print(f"grant {g.id}: {drone} may enter zone {zone} from {g.start} to {g.end}")


@app.command("list")
def list_(
    ctx: typer.Context,
    drone: str | None = typer.Option(None, "--drone", help="Only this drone's grants."),
    zone: int | None = typer.Option(None, "--zone", help="Only grants for this zone."),
    all_: bool = typer.Option(False, "--all", help="Include revoked grants."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List grants."""
    with handle_errors():
        grants = open_store(ctx).grants(drone=drone, zone_id=zone, include_revoked=all_)
    if as_json:
        print_json([grant_json(g) for g in grants])
        return
    from rich.table import Table

    t = Table("id", "zone", "drone", "start", "end", "by", "reason", "revoked")
    for g in grants:
        t.add_row(
            str(g.id),
            str(g.zone_id),
            g.drone,
            g.start.isoformat(),
            g.end.isoformat(),
            g.granted_by,
            g.reason or "",
            g.revoked_at.isoformat() if g.revoked_at else "",
        )
    out.print(t)
    err.print(f"{len(grants)} grant(s)")


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    grant_id: int = typer.Argument(..., help="Grant id."),
    by: str = typer.Option(..., "--by", help="The officer revoking it."),
) -> None:
    """Revoke a grant (kept in the database, marked revoked)."""
    with handle_errors():
        g = open_store(ctx).revoke_grant(grant_id, by=by)
    err.print(f"grant {g.id} revoked by {by}")


def grant_json(g: object) -> dict[str, object]:
    from uav.auth.model import Grant

    assert isinstance(g, Grant)
    return {
        "id": g.id,
        "zone_id": g.zone_id,
        "drone": g.drone,
        "start": g.start.isoformat(),
        "end": g.end.isoformat(),
        "granted_by": g.granted_by,
        "reason": g.reason,
        "created_at": g.created_at.isoformat() if g.created_at else None,
        "revoked_at": g.revoked_at.isoformat() if g.revoked_at else None,
        "revoked_by": g.revoked_by,
    }
