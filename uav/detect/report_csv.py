"""CSV report: one row per incident (its latest state), in the order they opened."""

from __future__ import annotations

import csv
import io

from uav.detect.report import INCIDENT_COLUMNS, ReportData, incident_row


def render_csv(data: ReportData) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(INCIDENT_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for i in sorted(data.incidents, key=lambda i: (i.opened_s, i.incident_id)):
        row = incident_row(i)
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buf.getvalue()
