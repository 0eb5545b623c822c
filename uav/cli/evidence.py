"""``uav detect verify``: check the evidence log (the command is registered in uav.cli.detect)."""

from __future__ import annotations

import typer
from rich.markup import escape

from uav.cli.common import (
    EXIT_FINDINGS,
    counted,
    err,
    handle_errors,
    open_store,
    out,
    print_json,
    progress_bar,
)

VERIFY_HELP = (
    "Check the evidence log's hash chain and the tables derived from it.\n\n"
    "Exit 0 when intact (prints the record count and the tip hash to keep), 1 naming the "
    "first bad record."
)


def run_verify(ctx: typer.Context, *, as_json: bool, tip: str | None) -> None:
    with handle_errors():
        from uav.detect.verify import verify_evidence

        with progress_bar("verifying records") as progress:
            report = verify_evidence(open_store(ctx), tip_hash=tip, progress=progress)
    if as_json:
        print_json(report.to_json())
    else:
        out.print(f"{report.tip.seq}:{report.tip.hash}")
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(report.by_kind.items()))
    if report.problem is None:
        detail = f" ({kinds})" if kinds else ""
        err.print(f"evidence log intact: {counted(report.records, 'record')}{detail}")
        return
    err.print(f"[bold red]evidence log NOT intact:[/] {escape(report.problem.describe())}")
    raise typer.Exit(EXIT_FINDINGS)
