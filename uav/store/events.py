"""Enforcement events in the store: written by ``uav monitor``, listed by ``uav events``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from uav.enforce.model import EnforcementEvent
from uav.errors import InputError
from uav.store import schema
from uav.store.schema_events import events as E

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from sqlalchemy import Connection, Engine

COLUMNS = ("drone", "kind", "zone_id", "zone_name", "rule", "action", "result")


def _row(event: EnforcementEvent) -> dict[str, Any]:
    data = event.to_json()
    data.pop("id", None)
    row: dict[str, Any] = {name: data.pop(name) for name in COLUMNS}
    data.pop("time")
    row["time_s"] = event.time.timestamp()
    row["time_iso"] = event.time.isoformat(timespec="milliseconds")
    row["detail_json"] = json.dumps(data, ensure_ascii=False, sort_keys=True)
    return row


def _event(r: Any) -> EnforcementEvent:
    data = json.loads(r.detail_json)
    data.update({name: getattr(r, name) for name in COLUMNS})
    data["time"] = r.time_iso
    data["id"] = r.id
    return EnforcementEvent.from_json(data)


class EventsMixin:
    engine: Engine

    if TYPE_CHECKING:

        def begin(self) -> AbstractContextManager[Connection]: ...

    def add_event(self, event: EnforcementEvent) -> EnforcementEvent:
        """Store one event (one transaction); returns it with its id."""
        if event.time.tzinfo is None:
            raise InputError("an enforcement event needs a time with a time zone")
        with self.begin() as conn:
            res = conn.execute(E.insert().values(**_row(event)))
            assert res.inserted_primary_key is not None
            new_id = int(res.inserted_primary_key[0])
        return replace(event, id=new_id)

    def rules_signature(self) -> tuple[int, ...]:
        """Changes whenever a zone or a grant is added, removed or revoked: the monitor
        polls it to reload what it enforces."""
        z, g = schema.zones, schema.grants
        with self.engine.connect() as conn:
            zones = conn.execute(select(func.count(), func.max(z.c.id))).one()
            grants = conn.execute(
                select(func.count(), func.max(g.c.id), func.count(g.c.revoked_iso))
            ).one()
        return tuple(int(v or 0) for v in (*zones, *grants))

    def events(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        drones: Sequence[str] = (),
    ) -> list[EnforcementEvent]:
        """Events in time order, optionally from ``since`` / up to ``until`` (inclusive) and
        of the drones named."""
        q = select(E).order_by(E.c.time_s, E.c.id)
        if since is not None:
            q = q.where(E.c.time_s >= since.timestamp())
        if until is not None:
            q = q.where(E.c.time_s <= until.timestamp())
        if drones:
            q = q.where(E.c.drone.in_(list(drones)))
        with self.engine.connect() as conn:
            return [_event(r) for r in conn.execute(q).all()]
