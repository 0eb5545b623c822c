"""Schema version 3: enforcement events (``uav monitor`` -> ``uav events``).

Owned by the enforcement feature; the tables join :data:`uav.store.schema.metadata`. The
columns a query filters or a table shows are columns; the rest of the event is JSON.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, String, Table, Text

from uav.store.schema import metadata

events = Table(
    "enforcement_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time_s", Float, nullable=False),  # UNIX seconds of the event (ground clock)
    Column("time_iso", String(40), nullable=False),
    Column("drone", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("zone_id", Integer, nullable=True),  # no foreign key: the log outlives zone edits
    Column("zone_name", Text, nullable=True),
    Column("rule", String(40), nullable=True),
    Column("action", String(32), nullable=True),
    Column("result", String(32), nullable=False),
    Column("detail_json", Text, nullable=False),  # everything else, as JSON
)
Index("ix_enforcement_events_time", events.c.time_s)
Index("ix_enforcement_events_drone", events.c.drone, events.c.time_s)

TABLES = [events]
