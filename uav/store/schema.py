"""Tables (SQLAlchemy Core) and the schema version.

Only portable types and SQL: the same schema serves SQLite and PostgreSQL. Instants are
stored twice: epoch seconds (``*_s``, for queries) and ISO 8601 text with the original offset
(``*_iso``, for display and export).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

SCHEMA_VERSION = 4  # 3: uav.store.schema_events, 4: uav.store.schema_evidence

metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

zones = Table(
    "zones",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("restriction", String(32), nullable=False),
    Column("geometry_kind", String(16), nullable=False),  # polygon | multipolygon | circle
    Column("geometry_wkb", LargeBinary, nullable=True),  # polygons, lon/lat WGS-84
    Column("circle_lon_deg", Float, nullable=True),
    Column("circle_lat_deg", Float, nullable=True),
    Column("circle_radius_m", Float, nullable=True),
    Column("min_lon_deg", Float, nullable=False),
    Column("min_lat_deg", Float, nullable=False),
    Column("max_lon_deg", Float, nullable=False),
    Column("max_lat_deg", Float, nullable=False),
    Column("floor_m", Float, nullable=False),
    Column("floor_ref", String(8), nullable=False),
    Column("ceiling_m", Float, nullable=True),
    Column("ceiling_ref", String(8), nullable=False),
    Column("start_s", Float, nullable=True),
    Column("start_iso", String(40), nullable=True),
    Column("end_s", Float, nullable=True),
    Column("end_iso", String(40), nullable=True),
    Column("daily", Text, nullable=True),  # JSON list of window strings
    Column("timezone", String(64), nullable=False),
    Column("reason", Text, nullable=True),
    Column("authority", Text, nullable=True),
    Column("message", Text, nullable=True),
    Column("source_file", Text, nullable=True),
    Column("source_format", String(16), nullable=True),
    Column("feature_index", Integer, nullable=True),
    Column("source_sha256", String(64), nullable=True),
    Column("loaded_by", Text, nullable=True),
    Column("loaded_at_iso", String(40), nullable=True),
)
Index("ix_zones_source_file", zones.c.source_file)
Index("ix_zones_bbox", zones.c.min_lon_deg, zones.c.min_lat_deg)

grants = Table(
    "grants",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("zone_id", Integer, ForeignKey("zones.id", ondelete="CASCADE"), nullable=False),
    Column("drone", Text, nullable=False),
    Column("start_s", Float, nullable=False),
    Column("start_iso", String(40), nullable=False),
    Column("end_s", Float, nullable=False),
    Column("end_iso", String(40), nullable=False),
    Column("granted_by", Text, nullable=False),
    Column("reason", Text, nullable=True),
    Column("created_iso", String(40), nullable=False),
    Column("revoked_iso", String(40), nullable=True),
    Column("revoked_by", Text, nullable=True),
)
Index("ix_grants_drone", grants.c.drone)

# Schema version 2: the fleet registry.
drones = Table(
    "drones",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("connect_url", Text, nullable=False),  # pymavlink-style: tcp:HOST:PORT, udpin:...
    Column("sysid", Integer, nullable=False),
    Column("serial", Text, nullable=True),  # airframe serial (the Remote ID serial number)
    Column("remote_id", Text, nullable=True),  # Remote ID registration / UAS id
    Column("sign_requested", Boolean, nullable=False),
    Column("signing_key", LargeBinary, nullable=True),  # 32 bytes; never printed or exported
    Column("sim_instance", Integer, nullable=True),  # set for simulated drones (uav sitl up)
    Column("created_iso", String(40), nullable=False),
)
