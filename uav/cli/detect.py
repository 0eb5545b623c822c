"""``uav detect``: listen to sensor feeds, judge and log what flies; list, count and report it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from uav.cli import evidence
from uav.cli.common import (
    EXIT_CODES_HELP,
    EXIT_FINDINGS,
    counted,
    err,
    handle_errors,
    open_store,
    out,
    parse_time,
    print_json,
)

if TYPE_CHECKING:
    from uav.detect.listen import ListenSummary
    from uav.detect.model import Incident
    from uav.detect.pipeline import Pipeline, Result
    from uav.detect.report_query import Filters

app = typer.Typer(
    help="Unauthorised-drone detection: sensor feeds, judgement, tracks, incidents and the "
    "evidence log.\n\n" + EXIT_CODES_HELP,
    no_args_is_help=True,
)

SINCE = typer.Option(None, "--since", help="From (ISO 8601), inclusive.")
UNTIL = typer.Option(None, "--until", help="Until (ISO 8601), inclusive.")
LIVE_ROWS = 20


@app.command("listen")
def listen(
    ctx: typer.Context,
    sources: list[str] = typer.Argument(
        ...,
        help="mavlink:URL, fleet, sbs:tcp:HOST:PORT, aircraft-json:PATH_OR_URL, jsonl:PATH|-, "
        "replay:FILE",
        show_default=False,
    ),
    duration: str | None = typer.Option(
        None, "--duration", help="Stop after this long (90s, 15m, 2h).", show_default=False
    ),
    max_n: int | None = typer.Option(
        None, "--max", min=1, help="Stop after this many new detections.", show_default=False
    ),
    on_alert: str | None = typer.Option(
        None,
        "--on-alert",
        help="Run CMD (no shell) with the incident's JSON on stdin for each new high-severity "
        "incident.",
        show_default=False,
    ),
    alert_timeout: float = typer.Option(10.0, "--alert-timeout", help="Seconds per alert."),
    buffer_m: float = typer.Option(
        20.0, "--buffer", "--buffer-m", min=0.0, help="Buffer (m) around high-severity zones."
    ),
    manned_above_m: float | None = typer.Option(
        None,
        "--manned-above",
        help="Take ADS-B targets without an emitter category (SBS-1 feeds carry none) "
        "reported above this altitude (m, in their own frame) as manned aircraft. Default: "
        "off, such targets are judged as drones (fail closed).",
        show_default=False,
    ),
    interval_s: float = typer.Option(
        1.0, "--interval", min=0.05, help="Seconds between polls of aircraft-json sources."
    ),
    ground_amsl_m: float | None = typer.Option(
        None,
        "--ground-amsl-m",
        help="Ground height (m AMSL) in the area, to compare AMSL with AGL limits; without it "
        "such limits are taken as met (fail closed).",
        show_default=False,
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Ingest detections from SOURCE(s) until --duration, --max, the sources end, or Ctrl-C."""
    with handle_errors():
        from uav.detect.alerts import AlertRunner
        from uav.detect.evidence import EvidenceLog
        from uav.detect.listen import PermitRefresher, open_pipeline
        from uav.detect.listen import listen as run_listen
        from uav.detect.sources import parse_source
        from uav.timeutil import parse_duration_s

        duration_s = parse_duration_s(duration) if duration is not None else None
        store = open_store(ctx)
        feeds = [parse_source(spec, store=store, interval_s=interval_s) for spec in sources]
        alerts = None
        if on_alert is not None:
            alerts = AlertRunner(on_alert, _report_alert, timeout_s=alert_timeout)
        view = _LiveView(alerts)
        with EvidenceLog(store) as log:
            pipeline = open_pipeline(
                store,
                log,
                buffer_m=buffer_m,
                ground_amsl_m=ground_amsl_m,
                manned_above_m=manned_above_m,
            )
            view.pipeline = pipeline
            try:
                with view:
                    summary = run_listen(
                        feeds,
                        pipeline,
                        duration_s=duration_s,
                        max_detections=max_n,
                        on_result=view.update,
                        refresh=PermitRefresher(store, pipeline.judge),
                    )
            finally:
                if alerts is not None and not alerts.close():
                    err.print("[yellow]warning:[/] some alerts were still running at exit")
    _print_summary(summary, view, alerts.sent if alerts else 0, as_json)
    if summary.refused:
        err.print(
            f"[bold red]refused:[/] {summary.refused} detection(s) held a value the evidence "
            "log cannot record (not a finite number, or too large): they are not in the log"
        )
        raise typer.Exit(EXIT_FINDINGS)


def _report_alert(outcome: Any) -> None:
    if not outcome.ok:
        err.print(
            f"[yellow]alert for {escape(outcome.incident_id)} failed:[/] {escape(outcome.detail)}"
        )


class _LiveView:
    """Current tracks and open incidents: a live table on a terminal, event lines otherwise."""

    def __init__(self, alerts: Any) -> None:
        self.alerts = alerts
        self.high: list[Incident] = []
        self.opened = 0
        self._live: Any = None
        self.pipeline: Pipeline | None = None

    def __enter__(self) -> _LiveView:
        if err.is_terminal:
            from rich.live import Live

            self._live = Live(console=err, refresh_per_second=4, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def update(self, result: Result, summary: ListenSummary) -> None:
        from uav.detect.model import IncidentState

        for inc in result.new_high:
            self.high.append(inc)
            if self.alerts is not None:
                self.alerts.submit(inc)
        for inc in result.incidents:
            if inc.state is IncidentState.OPEN:
                self.opened += 1
            if self._live is None and inc.state is not IncidentState.UPDATED:
                err.print(_incident_line(inc))
        if self._live is not None:
            self._live.update(self._table(result, summary))

    def _table(self, result: Result, summary: ListenSummary) -> Any:
        from rich.console import Group
        from rich.table import Table

        from uav.detect.report import iso_utc

        del result
        tracks = Table("track", "category", "last seen", "lat", "lon", "alt m", "authorised")
        incs = Table("incident", "zone", "severity", "opened", "detections")
        if self.pipeline is not None:
            recent = sorted(self.pipeline.tracker.tracks, key=lambda t: -t.last_s)
            for t in recent[:LIVE_ROWS]:
                tracks.add_row(
                    escape(t.track_id),
                    str(t.category),
                    iso_utc(t.last_s),
                    _num(t.lat_deg, 5),
                    _num(t.lon_deg, 5),
                    _num(t.alt_m, 0),
                    escape(t.authorised_by or "no"),
                )
            for i in self.pipeline.incidents.open[:LIVE_ROWS]:
                incs.add_row(
                    escape(i.incident_id),
                    escape(f"{i.zone_id} {i.zone_name or ''}"),
                    str(i.severity),
                    iso_utc(i.opened_s),
                    str(i.detections),
                )
        return Group(
            f"{counted(summary.detections, 'detection')}, "
            f"{counted(summary.duplicates, 'duplicate')}, "
            f"{counted(self.opened, 'incident')} opened ({len(self.high)} high)",
            tracks,
            incs,
        )


def _incident_line(inc: Incident) -> str:
    from uav.detect.report import iso_utc

    zone = f"{inc.zone_id} {inc.zone_name or ''}".strip()
    colour = {"high": "red", "medium": "yellow"}.get(str(inc.severity), "white")
    return (
        f"[{colour}]{inc.state} {inc.severity}[/] {escape(inc.incident_id)} zone {escape(zone)} "
        f"at {iso_utc(inc.updated_s)}"
    )


def _print_summary(summary: ListenSummary, view: _LiveView, alerts: int, as_json: bool) -> None:
    feeds: list[dict[str, Any]] = [
        {"source": r.source.name, **r.stats.snapshot(), "error": r.error} for r in summary.sources
    ]
    doc = {
        "detections": summary.detections,
        "duplicates": summary.duplicates,
        "refused": summary.refused,
        "batches": summary.batches,
        "stopped": summary.reason,
        "incidents_opened": view.opened,
        "high_incidents": [i.incident_id for i in view.high],
        "alerts_run": alerts,
        "sources": feeds,
    }
    if as_json:
        print_json(doc)
        return
    out.print(
        f"{counted(summary.detections, 'detection')} "
        f"({counted(summary.duplicates, 'duplicate')}), "
        f"{counted(view.opened, 'incident')} opened, {len(view.high)} high; "
        f"stopped: {summary.reason}"
    )
    for s in feeds:
        line = f"  {s['source']}: {s['parsed']} parsed, {s['skipped']} skipped"
        if s["error"] or s["last_error"]:
            line += f" ({s['error'] or s['last_error']})"
        out.print(escape(line))


# --- queries -------------------------------------------------------------------------------


def _filters(
    since: str | None,
    until: str | None,
    zone: int | None = None,
    unauthorised: bool = False,
    track: str | None = None,
) -> Filters:
    from uav.detect.report_query import Filters

    s, u = parse_time(since, "--since"), parse_time(until, "--until")
    return Filters(
        since_s=None if s is None else s.timestamp(),
        until_s=None if u is None else u.timestamp(),
        zone_id=zone,
        unauthorised=unauthorised,
        track_id=track,
    )


@app.command("list")
def list_(
    ctx: typer.Context,
    since: str | None = SINCE,
    until: str | None = UNTIL,
    zone: int | None = typer.Option(None, "--zone", help="Only detections inside this zone."),
    unauthorised: bool = typer.Option(
        False, "--unauthorised", help="Only unauthorised drones and unknown aircraft."
    ),
    track: str | None = typer.Option(None, "--track", help="Only this track (rid:..., icao:...)."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List logged detections, oldest first.

    With --json each row also carries the sighting exactly as logged ("detection"), so the
    list can be replayed (replay:FILE)."""
    with handle_errors():
        from uav.detect.report_query import sighting_records, sightings

        filters = _filters(since, until, zone, unauthorised, track)
        if as_json:
            print_json(sighting_records(open_store(ctx), filters, limit))
            return
        found = sightings(open_store(ctx), filters, limit)
    from rich.table import Table

    from uav.detect.report import iso_utc

    t = Table(
        "time",
        "track",
        "category",
        "severity",
        "zone",
        "authorised",
        "lat",
        "lon",
        "alt m",
        "source",
    )
    for s in found:
        t.add_row(
            iso_utc(s.time_s),
            escape(s.track_id),
            s.category,
            s.severity,
            "" if s.zone_id is None else str(s.zone_id),
            "yes" if s.authorised else "no",
            _num(s.lat_deg, 6),
            _num(s.lon_deg, 6),
            _num(s.alt_m, 1) + ("" if s.alt_frame is None else f" {s.alt_frame}"),
            escape(s.source),
        )
    out.print(t)
    err.print(counted(len(found), "detection"))


def _num(v: float | None, digits: int) -> str:
    return "" if v is None else f"{v:.{digits}f}"


@app.command("stats")
def stats(
    ctx: typer.Context,
    since: str | None = SINCE,
    until: str | None = UNTIL,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Counts of logged detections per zone, per hour (UTC) and per source."""
    with handle_errors():
        from uav.detect.report_query import stats as query_stats

        st = query_stats(open_store(ctx), _filters(since, until))
    if as_json:
        print_json(st.to_json())
        return
    from rich.table import Table

    out.print(
        f"{counted(st.detections, 'detection')}: {st.unauthorised} of unauthorised drones or "
        f"unknown aircraft, {st.manned} of manned aircraft; by severity {st.by_severity}"
    )
    zt = Table(
        "zone", "detections", "unauthorised", "high incidents", "medium incidents", title="per zone"
    )
    for z in st.per_zone:
        zt.add_row(
            *(
                str(z[k])
                for k in (
                    "zone_id",
                    "detections",
                    "unauthorised",
                    "incidents_high",
                    "incidents_medium",
                )
            )
        )
    ht = Table("hour (UTC)", "detections", "unauthorised", title="per hour")
    for h in st.per_hour:
        ht.add_row(h["hour"], str(h["detections"]), str(h["unauthorised"]))
    st_ = Table("source", "detections", "unauthorised", title="per source")
    for s in st.per_source:
        st_.add_row(escape(s["source"]), str(s["detections"]), str(s["unauthorised"]))
    out.print(zt, ht, st_)


@app.command("report")
def report(
    ctx: typer.Context,
    fmt: str = typer.Option(..., "--format", help="csv, geojson, kml or html."),
    output: Path = typer.Option(..., "-o", "--output", help="The file to write."),
    since: str | None = SINCE,
    until: str | None = UNTIL,
) -> None:
    """Write a report of incidents, tracks and detections (HTML: one self-contained file)."""
    with handle_errors():
        from uav.detect.report import FORMATS, write_report
        from uav.detect.report_query import report_data
        from uav.errors import InputError

        if fmt not in FORMATS:
            raise InputError(f"--format {fmt!r}: use {', '.join(FORMATS)}")
        data = report_data(open_store(ctx), _filters(since, until))
        size = write_report(data, fmt, output)
    out.print(str(output))
    err.print(
        f"{fmt} report: {counted(len(data.incidents), 'incident')}, "
        f"{counted(len(data.paths()), 'track')}, {counted(len(data.sightings), 'detection')}, "
        f"{counted(size, 'byte')}"
    )


@app.command("verify", help=evidence.VERIFY_HELP)
def verify(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    tip: str | None = typer.Option(None, "--tip", help="A tip hash recorded earlier."),
) -> None:
    evidence.run_verify(ctx, as_json=as_json, tip=tip)
