"""KML report (plain lxml): a folder of incident placemarks and one of track paths."""

from __future__ import annotations

from lxml import etree

from uav.detect.report import ReportData, incident_row, iso_utc

KML_NS = "http://www.opengis.net/kml/2.2"
STYLES = {"high": "ff0000ff", "medium": "ff00a5ff", "low": "ff00ff00"}  # aabbggrr


def render_kml(data: ReportData) -> bytes:
    kml = etree.Element(f"{{{KML_NS}}}kml", nsmap={None: KML_NS})
    doc = _sub(kml, "Document")
    _sub(doc, "name", "uav detection report")
    for name, colour in STYLES.items():
        style = _sub(doc, "Style", id=f"sev-{name}")
        _sub(_sub(style, "IconStyle"), "color", colour)
        line = _sub(style, "LineStyle")
        _sub(line, "color", colour)
        _sub(line, "width", "2")
    incidents = _sub(doc, "Folder")
    _sub(incidents, "name", "Incidents")
    for i in sorted(data.incidents, key=lambda i: (i.opened_s, i.incident_id)):
        pm = _sub(incidents, "Placemark")
        _sub(pm, "name", i.incident_id)
        _sub(pm, "styleUrl", f"#sev-{i.severity}")
        row = incident_row(i)
        _sub(pm, "description", "\n".join(f"{k}: {'' if v is None else v}" for k, v in row.items()))
        span = _sub(pm, "TimeSpan")
        _sub(span, "begin", iso_utc(i.opened_s))
        _sub(span, "end", iso_utc(i.closed_s if i.closed_s is not None else i.updated_s))
        if i.lat_deg is not None and i.lon_deg is not None:
            _sub(_sub(pm, "Point"), "coordinates", f"{i.lon_deg:.7f},{i.lat_deg:.7f}")
    tracks = _sub(doc, "Folder")
    _sub(tracks, "name", "Tracks")
    for track_id, path in data.paths().items():
        pm = _sub(tracks, "Placemark")
        _sub(pm, "name", track_id)
        worst = max((s.severity for s in path), key=lambda s: {"high": 2, "medium": 1}.get(s, 0))
        _sub(pm, "styleUrl", f"#sev-{worst}")
        _sub(pm, "description", f"{path[-1].category}, {len(path)} detections")
        span = _sub(pm, "TimeSpan")
        _sub(span, "begin", iso_utc(path[0].time_s))
        _sub(span, "end", iso_utc(path[-1].time_s))
        coords = " ".join(f"{s.lon_deg:.7f},{s.lat_deg:.7f}" for s in path)
        geom = _sub(pm, "LineString" if len(path) > 1 else "Point")
        _sub(geom, "coordinates", coords)
    return bytes(etree.tostring(kml, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, f"{{{KML_NS}}}{tag}", **attrs)
    if text is not None:
        el.text = text
    return el
