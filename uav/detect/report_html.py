"""HTML report: one self-contained file (inline CSS, inline SVG, the heat map as a PNG data
URI; nothing fetched at view time): a summary, the incidents, each track's path drawn on one
SVG map, the tracks, and a heat map of detections rendered with matplotlib."""

from __future__ import annotations

import base64
import io
import math
from html import escape

from uav.detect.report import INCIDENT_COLUMNS, ReportData, Sighting, incident_row, iso_utc

CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em}
td,th{border:1px solid #bbb;padding:.2em .45em;text-align:left;white-space:nowrap}
th{background:#eee}tr.high td{background:#fdd}tr.medium td{background:#ffe9c9}
.meta{color:#555}svg{border:1px solid #bbb;background:#fafafa}
"""
SEVERITY_COLOURS = {"high": "#d62728", "medium": "#ff7f0e", "low": "#2ca02c"}
MAP_PX = 640
HEAT_BINS = 80


def render_html(data: ReportData) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>uav detection report</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>uav detection report</h1>",
        _summary(data),
        "<h2>Incidents</h2>",
        _incident_table(data),
        "<h2>Track paths</h2>",
        _track_map(data),
        "<h2>Tracks</h2>",
        _track_table(data),
        "<h2>Heat map of detections</h2>",
        _heat_map(data),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _summary(data: ReportData) -> str:
    n_high = sum(1 for i in data.incidents if str(i.severity) == "high")
    unauth = sum(1 for s in data.sightings if not s.authorised and s.category != "manned")
    return (
        f'<p class="meta">From {escape(iso_utc(data.since_s) or "the start")} until '
        f"{escape(iso_utc(data.until_s) or 'the end')}; generated "
        f"{escape(iso_utc(data.generated_s))}. {len(data.sightings)} detections "
        f"({unauth} of unauthorised drones or unknown aircraft), "
        f"{len(data.paths())} tracks with positions, {len(data.incidents)} incidents "
        f"({n_high} high).</p>"
    )


def _incident_table(data: ReportData) -> str:
    if not data.incidents:
        return "<p>No incidents.</p>"
    head = "".join(f"<th>{escape(c)}</th>" for c in INCIDENT_COLUMNS)
    rows = []
    for i in sorted(data.incidents, key=lambda i: (i.opened_s, i.incident_id)):
        row = incident_row(i)
        cells = "".join(f"<td>{escape(_text(row[c]))}</td>" for c in INCIDENT_COLUMNS)
        rows.append(f'<tr class="{escape(str(i.severity))}">{cells}</tr>')
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _track_table(data: ReportData) -> str:
    paths = data.paths()
    if not paths:
        return "<p>No tracks with positions.</p>"
    head = "<tr><th>track</th><th>category</th><th>first</th><th>last</th><th>detections</th>"
    head += "<th>worst severity</th><th>authorised</th></tr>"
    rows = []
    for track_id, path in paths.items():
        worst = _worst(path)
        cells = (
            track_id,
            path[-1].category,
            iso_utc(path[0].time_s),
            iso_utc(path[-1].time_s),
            str(len(path)),
            worst,
            "yes" if path[-1].authorised else "no",
        )
        tds = "".join(f"<td>{escape(c)}</td>" for c in cells)
        rows.append(f'<tr class="{escape(worst)}">{tds}</tr>')
    return f"<table>{head}{''.join(rows)}</table>"


def _worst(path: list[Sighting]) -> str:
    return max((s.severity for s in path), key=lambda s: {"high": 2, "medium": 1}.get(s, 0))


def _track_map(data: ReportData) -> str:
    """All track paths on one equirectangular SVG map, coloured by their worst severity."""
    paths = data.paths()
    if not paths:
        return "<p>No positions to draw.</p>"
    lats = [s.lat_deg for p in paths.values() for s in p if s.lat_deg is not None]
    lons = [s.lon_deg for p in paths.values() for s in p if s.lon_deg is not None]
    lat0, lat1, lon0, lon1 = min(lats), max(lats), min(lons), max(lons)
    kx = math.cos(math.radians((lat0 + lat1) / 2))
    span = max((lon1 - lon0) * kx, lat1 - lat0, 1e-6)
    pad = 20

    def xy(s: Sighting) -> str:
        assert s.lat_deg is not None and s.lon_deg is not None
        x = pad + (s.lon_deg - lon0) * kx / span * (MAP_PX - 2 * pad)
        y = MAP_PX - pad - (s.lat_deg - lat0) / span * (MAP_PX - 2 * pad)
        return f"{x:.1f},{y:.1f}"

    shapes = []
    for track_id, path in paths.items():
        colour = SEVERITY_COLOURS.get(_worst(path), "#555")
        label = escape(track_id)
        if len(path) > 1:
            pts = " ".join(xy(s) for s in path)
            shapes.append(
                f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2">'
                f"<title>{label}</title></polyline>"
            )
        x, y = xy(path[-1]).split(",")
        shapes.append(
            f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}"><title>{label}</title></circle>'
            f'<text x="{x}" y="{y}" dx="4" dy="-4" font-size="10">{label}</text>'
        )
    return (
        f'<svg width="{MAP_PX}" height="{MAP_PX}" '
        f'viewBox="0 0 {MAP_PX} {MAP_PX}" role="img" aria-label="track paths">'
        + "".join(shapes)
        + "</svg>"
        + f'<p class="meta">Latitude {lat0:.5f} to {lat1:.5f}, longitude {lon0:.5f} to '
        f"{lon1:.5f} (north up, equal scale).</p>"
    )


def heat_map_png(data: ReportData) -> bytes | None:
    """A PNG heat map (2-D histogram) of the positioned detections, or None without any."""
    pts = [
        (s.lon_deg, s.lat_deg)
        for s in data.sightings
        if s.lon_deg is not None and s.lat_deg is not None
    ]
    if not pts:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    lons = [p[0] for p in pts]
    lats = [p[1] for p in pts]
    fig = Figure(figsize=(6.4, 5.2), dpi=100)
    ax = fig.add_subplot()
    _, _, _, image = ax.hist2d(lons, lats, bins=HEAT_BINS, cmin=1, cmap="inferno")
    fig.colorbar(image, ax=ax, label="detections")
    ax.set_xlabel("longitude (deg)")
    ax.set_ylabel("latitude (deg)")
    ax.set_aspect(1.0 / max(math.cos(math.radians(sum(lats) / len(lats))), 0.01))
    ax.set_title(f"{len(pts)} detections")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _heat_map(data: ReportData) -> str:
    png = heat_map_png(data)
    if png is None:
        return "<p>No positions to map.</p>"
    b64 = base64.b64encode(png).decode("ascii")
    return f'<img alt="heat map of detections" src="data:image/png;base64,{b64}">'


def _text(v: object) -> str:
    return "" if v is None else str(v)
