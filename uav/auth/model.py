"""The grant model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Grant:
    """Drone ``drone`` may be inside zone ``zone_id`` from ``start`` to ``end``."""

    zone_id: int
    drone: str
    start: datetime
    end: datetime
    granted_by: str
    reason: str | None = None
    id: int | None = None
    created_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def covers(self, drone: str, zone_id: int, t0_s: float, t1_s: float) -> bool:
        """True when this grant lets ``drone`` be inside ``zone_id`` for all of [t0, t1]."""
        return (
            not self.is_revoked
            and self.drone == drone
            and self.zone_id == zone_id
            and self.start.timestamp() <= t0_s
            and t1_s <= self.end.timestamp()
        )
