"""Schema version 4: the detection evidence log (``uav detect``) and permits.

Owned by the detection feature; the tables join :data:`uav.store.schema.metadata`.
"""

from __future__ import annotations

from sqlalchemy import Table

TABLES: list[Table] = []
