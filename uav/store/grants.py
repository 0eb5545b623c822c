"""Authorisation grants in the store."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from uav.auth.model import Grant
from uav.errors import InputError, NotFound
from uav.store import schema
from uav.timeutil import now_utc

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from sqlalchemy import Connection, Engine

G = schema.grants


def _grant(r: Any) -> Grant:
    return Grant(
        id=r.id,
        zone_id=r.zone_id,
        drone=r.drone,
        start=datetime.fromisoformat(r.start_iso),
        end=datetime.fromisoformat(r.end_iso),
        granted_by=r.granted_by,
        reason=r.reason,
        created_at=datetime.fromisoformat(r.created_iso),
        revoked_at=datetime.fromisoformat(r.revoked_iso) if r.revoked_iso else None,
        revoked_by=r.revoked_by,
    )


class GrantsMixin:
    engine: Engine

    if TYPE_CHECKING:

        def begin(self) -> AbstractContextManager[Connection]: ...

    def add_grant(self, grant: Grant) -> Grant:
        if grant.end <= grant.start:
            raise InputError(
                f"grant end {grant.end.isoformat()} is not after start {grant.start.isoformat()}"
            )
        if not grant.drone.strip():
            raise InputError("a grant needs a drone name")
        if not grant.granted_by.strip():
            raise InputError("a grant needs the granting officer (--by)")
        created = now_utc()
        with self.begin() as conn:
            exists = conn.execute(
                select(schema.zones.c.id).where(schema.zones.c.id == grant.zone_id)
            ).first()
            if exists is None:
                raise NotFound(f"no zone with id {grant.zone_id}")
            res = conn.execute(
                G.insert().values(
                    zone_id=grant.zone_id,
                    drone=grant.drone,
                    start_s=grant.start.timestamp(),
                    start_iso=grant.start.isoformat(),
                    end_s=grant.end.timestamp(),
                    end_iso=grant.end.isoformat(),
                    granted_by=grant.granted_by,
                    reason=grant.reason,
                    created_iso=created.isoformat(),
                )
            )
            assert res.inserted_primary_key is not None
            new_id = int(res.inserted_primary_key[0])
        return self.grant(new_id)

    def grant(self, grant_id: int) -> Grant:
        with self.engine.connect() as conn:
            r = conn.execute(select(G).where(G.c.id == grant_id)).first()
        if r is None:
            raise NotFound(f"no grant with id {grant_id}")
        return _grant(r)

    def grants(
        self,
        *,
        drone: str | None = None,
        zone_id: int | None = None,
        active_between: tuple[float, float] | None = None,
        include_revoked: bool = False,
    ) -> list[Grant]:
        q = select(G).order_by(G.c.id)
        if drone is not None:
            q = q.where(G.c.drone == drone)
        if zone_id is not None:
            q = q.where(G.c.zone_id == zone_id)
        if active_between is not None:
            q = q.where(G.c.start_s <= active_between[1], G.c.end_s >= active_between[0])
        if not include_revoked:
            q = q.where(G.c.revoked_iso.is_(None))
        with self.engine.connect() as conn:
            return [_grant(r) for r in conn.execute(q).all()]

    def revoke_grant(self, grant_id: int, *, by: str) -> Grant:
        with self.begin() as conn:
            r = conn.execute(select(G).where(G.c.id == grant_id)).first()
            if r is None:
                raise NotFound(f"no grant with id {grant_id}")
            if r.revoked_iso:
                raise InputError(f"grant {grant_id} was already revoked on {r.revoked_iso}")
            conn.execute(
                update(G)
                .where(G.c.id == grant_id)
                .values(revoked_iso=now_utc().isoformat(), revoked_by=by)
            )
        return self.grant(grant_id)
