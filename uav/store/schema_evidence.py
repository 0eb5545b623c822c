"""Schema version 4: the detection evidence log (``uav detect``) and permits.

Owned by the detection feature; the tables join :data:`uav.store.schema.metadata`.

``evidence`` is the evidence: an append-only hash chain, one record per detection, track
change, incident change and permit change (the recipe is in :mod:`uav.store.evidence`). The
other tables are query indexes derived from it, written in the same transaction as the records
they index, each row naming its record (``seq``); ``uav detect verify`` checks them against the
chain as well. No foreign keys to ``zones``: the log outlives zone edits.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from uav.store.schema import metadata

EVIDENCE_KINDS = ("detection", "track", "incident", "permit")

evidence = Table(
    "evidence",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),  # 1, 2, 3, ... no gaps
    Column("kind", String(16), nullable=False),  # detection | track | incident | permit
    Column("time_s", Float, nullable=False),  # UNIX seconds the record is about
    Column("payload", Text, nullable=False),  # canonical JSON (orjson, sorted keys, compact, UTF-8)
    Column("prev_hash", String(64), nullable=False),  # the previous record's hash
    Column("hash", String(64), nullable=False),  # SHA-256 hex, see uav.store.evidence
)

# One row per detection record (the payload stays in ``evidence``: no copy of it here).
# ``key`` is Detection.key and UNIQUE: the log's writer checks every batch's keys under the
# chain's write lock and skips those already logged (idempotent ingest); the index refuses a
# repeat that got past it (fail closed). Keys start with their time in milliseconds, so that
# index grows at one end (a batch's inserts touch its last pages only, however large the
# table) and also serves time ranges (``--since``/``--until`` become a key range: no index
# on time_s). ``zone_ids``: every active zone the detection was inside
# (Judgement.zone_ids), ascending, comma-separated ("12,40"), NULL for none; ``--zone``
# matches it as text. --track is answered by a scan.
detections = Table(
    "detections",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),  # its evidence record
    Column("key", String(32), nullable=False),  # Detection.key
    Column("time_s", Float, nullable=False),
    Column("source", Text, nullable=False),
    Column("track_id", Text, nullable=False),
    Column("lat_deg", Float, nullable=True),
    Column("lon_deg", Float, nullable=True),
    Column("alt_m", Float, nullable=True),
    Column("alt_frame", String(16), nullable=True),
    Column("category", String(16), nullable=False),
    Column("severity", String(8), nullable=False),
    Column("authorised", Boolean, nullable=False),
    Column("zone_id", Integer, nullable=True),  # the zone that set the severity
    Column("zone_ids", Text, nullable=True),  # every zone it was inside: "12,40"; NULL: none
)
Index("ux_detections_key", detections.c.key, unique=True)

tracks = Table(  # the latest state of each track
    "tracks",
    metadata,
    Column("track_id", String(128), primary_key=True),
    Column("seq", Integer, nullable=False),  # its latest evidence record
    Column("category", String(16), nullable=False),
    Column("first_s", Float, nullable=False),
    Column("last_s", Float, nullable=False),
    Column("detections", Integer, nullable=False),
    Column("lat_deg", Float, nullable=True),
    Column("lon_deg", Float, nullable=True),
    Column("alt_m", Float, nullable=True),
    Column("alt_frame", String(16), nullable=True),
    Column("authorised", Boolean, nullable=False),
    Column("authorised_by", Text, nullable=True),
    Column("remote_id", Text, nullable=True),
    Column("icao_address", String(6), nullable=True),
    Column("operator_lat_deg", Float, nullable=True),
    Column("operator_lon_deg", Float, nullable=True),
)

incidents = Table(  # the latest state of each incident
    "incidents",
    metadata,
    Column("incident_id", String(200), primary_key=True),
    Column("seq", Integer, nullable=False),  # its latest evidence record
    Column("track_id", String(128), nullable=False),
    Column("zone_id", Integer, nullable=True),
    Column("zone_name", Text, nullable=True),
    Column("severity", String(8), nullable=False),
    Column("state", String(8), nullable=False),
    Column("opened_s", Float, nullable=False),
    Column("updated_s", Float, nullable=False),
    Column("closed_s", Float, nullable=True),
    Column("detections", Integer, nullable=False),
    Column("authorised", Boolean, nullable=False),
    Column("lat_deg", Float, nullable=True),
    Column("lon_deg", Float, nullable=True),
    Column("alt_m", Float, nullable=True),
    Column("remote_id", Text, nullable=True),
    Column("icao_address", String(6), nullable=True),
    Column("operator_lat_deg", Float, nullable=True),
    Column("operator_lon_deg", Float, nullable=True),
)
Index("ix_incidents_opened", incidents.c.opened_s)
Index("ix_incidents_zone", incidents.c.zone_id, incidents.c.opened_s)
Index("ix_incidents_track", incidents.c.track_id)

permits = Table(
    "permits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("seq", Integer, nullable=False),  # its latest evidence record
    Column("remote_id", Text, nullable=True),
    Column("icao_address", String(6), nullable=True),
    Column("operator", Text, nullable=True),
    Column("start_s", Float, nullable=False),
    Column("start_iso", String(40), nullable=False),
    Column("end_s", Float, nullable=False),
    Column("end_iso", String(40), nullable=False),
    Column("zone_id", Integer, nullable=True),
    Column("area_wkb", LargeBinary, nullable=True),  # lon/lat WGS-84 (multi)polygon
    Column("area_source", Text, nullable=True),  # the file it was read from
    Column("reason", Text, nullable=True),
    Column("created_iso", String(40), nullable=False),
    Column("revoked_iso", String(40), nullable=True),
)
Index("ix_permits_remote_id", permits.c.remote_id)
Index("ix_permits_icao", permits.c.icao_address)

TABLES: list[Table] = [evidence, detections, tracks, incidents, permits]
