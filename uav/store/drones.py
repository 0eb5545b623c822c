"""The fleet registry: each drone's name, how to reach it, its ids, and its signing key.

The MAVLink signing key is write-only as far as display goes: :class:`Drone` does not carry
it (only whether one is set), and it is read back only through :meth:`signing_key`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, select, update

from uav.errors import InputError, NotFound
from uav.store import schema
from uav.timeutil import now_utc

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from sqlalchemy import Engine

D = schema.drones
DRONE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SIGNING_KEY_BYTES = 32
UAS_ID_MAX_CHARS = 20  # OPEN_DRONE_ID_BASIC_ID.uas_id
_NET_URL_RE = re.compile(r"^(tcp|tcpin|udp|udpin|udpout|udpbcast):([^:\s]+):(\d{1,5})$")
_SERIAL_URL_RE = re.compile(r"^(/dev/[^\s,]+|COM\d+)(,\d{3,7})?$")


@dataclass(frozen=True)
class Drone:
    """A registered drone. ``sim_instance`` is set for drones started by ``uav sitl up``."""

    name: str
    connect_url: str
    sysid: int = 1
    serial: str | None = None
    remote_id: str | None = None
    sign_requested: bool = False
    signing_key_set: bool = False
    sim_instance: int | None = None
    id: int | None = None
    created_at: datetime | None = None

    @property
    def signing(self) -> str:
        """``on`` (a key is installed), ``requested`` (wanted, no key yet) or ``off``."""
        if self.signing_key_set:
            return "on"
        return "requested" if self.sign_requested else "off"


def check_connect_url(url: str) -> str:
    """A pymavlink connection string uav accepts, or :class:`InputError`."""
    text = url.strip()
    net = _NET_URL_RE.match(text)
    if net and 0 < int(net.group(3)) < 65536:
        return text
    if _SERIAL_URL_RE.match(text):
        return text
    raise InputError(
        f"connection {url!r}: use tcp:HOST:PORT, udpin:HOST:PORT, udpout:HOST:PORT or a "
        "serial device such as /dev/ttyUSB0,57600"
    )


def check_uas_id(label: str, value: str | None) -> str | None:
    """A serial number or UAS id as Remote ID broadcasts it: 1..20 printable ASCII chars."""
    if value is None:
        return None
    v = value.strip()
    if not v or len(v) > UAS_ID_MAX_CHARS or not v.isascii() or not v.isprintable():
        raise InputError(
            f"{label} {value!r}: Remote ID carries 1..{UAS_ID_MAX_CHARS} printable ASCII characters"
        )
    return v


def check_drone(d: Drone) -> Drone:
    """Refuse what cannot be a drone's record; returns it with the URL normalised."""
    if not DRONE_NAME_RE.match(d.name):
        raise InputError(
            f"drone name {d.name!r}: use letters, digits, '.', '_' or '-' (at most 64)"
        )
    if isinstance(d.sysid, bool) or not 1 <= d.sysid <= 254:
        raise InputError(f"sysid {d.sysid}: must be 1..254 (255 is the ground station)")
    if d.sim_instance is not None and d.sim_instance < 0:
        raise InputError(f"simulator instance {d.sim_instance} must be 0 or more")
    return Drone(
        name=d.name,
        connect_url=check_connect_url(d.connect_url),
        sysid=d.sysid,
        serial=check_uas_id("serial", d.serial),
        remote_id=check_uas_id("remote id", d.remote_id),
        sign_requested=d.sign_requested,
        sim_instance=d.sim_instance,
    )


def _drone(r: Any) -> Drone:
    return Drone(
        id=r.id,
        name=r.name,
        connect_url=r.connect_url,
        sysid=r.sysid,
        serial=r.serial,
        remote_id=r.remote_id,
        sign_requested=bool(r.sign_requested),
        signing_key_set=r.signing_key is not None,
        sim_instance=r.sim_instance,
        created_at=datetime.fromisoformat(r.created_iso),
    )


def _values(d: Drone) -> dict[str, object]:
    return {
        "connect_url": d.connect_url,
        "sysid": d.sysid,
        "serial": d.serial,
        "remote_id": d.remote_id,
        "sign_requested": d.sign_requested,
        "sim_instance": d.sim_instance,
    }


class DronesMixin:
    engine: Engine

    if TYPE_CHECKING:

        def begin(self) -> AbstractContextManager[Connection]: ...

    def add_drone(self, drone: Drone) -> Drone:
        """Register a new drone; the name must be new, and (URL, sysid) not already used."""
        d = check_drone(drone)
        with self.begin() as conn:
            if _row(conn, d.name) is not None:
                raise InputError(f"a drone named {d.name!r} is already registered")
            _refuse_shared_link(conn, d)
            conn.execute(
                D.insert().values(name=d.name, created_iso=now_utc().isoformat(), **_values(d))
            )
        return self.drone(d.name)

    def update_drone(self, drone: Drone) -> Drone:
        """Replace a registered drone's link, ids and sim instance (its key is kept)."""
        d = check_drone(drone)
        with self.begin() as conn:
            if _row(conn, d.name) is None:
                raise NotFound(f"no drone named {d.name!r}")
            _refuse_shared_link(conn, d)
            conn.execute(update(D).where(D.c.name == d.name).values(**_values(d)))
        return self.drone(d.name)

    def drone(self, name: str) -> Drone:
        with self.engine.connect() as conn:
            r = _row(conn, name)
        if r is None:
            raise NotFound(f"no drone named {name!r}")
        return _drone(r)

    def drones(self) -> list[Drone]:
        with self.engine.connect() as conn:
            return [_drone(r) for r in conn.execute(select(D).order_by(D.c.name)).all()]

    def remove_drone(self, name: str) -> Drone:
        """Unregister a drone; returns what was removed. Its grants are left as they are."""
        gone = self.drone(name)
        with self.begin() as conn:
            if conn.execute(delete(D).where(D.c.name == name)).rowcount != 1:
                raise NotFound(f"no drone named {name!r}")
        return gone

    def set_signing_key(self, name: str, key: bytes | None) -> None:
        """Store (or with None, forget) the drone's 32-byte MAVLink signing key."""
        if key is not None and (not isinstance(key, bytes) or len(key) != SIGNING_KEY_BYTES):
            raise InputError(f"a MAVLink signing key is {SIGNING_KEY_BYTES} bytes")
        with self.begin() as conn:
            res = conn.execute(update(D).where(D.c.name == name).values(signing_key=key))
            if res.rowcount != 1:
                raise NotFound(f"no drone named {name!r}")

    def signing_key(self, name: str) -> bytes | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(D.c.signing_key).where(D.c.name == name)).first()
        if r is None:
            raise NotFound(f"no drone named {name!r}")
        return None if r.signing_key is None else bytes(r.signing_key)


def _row(conn: Connection, name: str) -> Any:
    return conn.execute(select(D).where(D.c.name == name)).first()


def _refuse_shared_link(conn: Connection, d: Drone) -> None:
    """Two drones answering on the same link with the same sysid cannot be told apart."""
    other = conn.execute(
        select(D.c.name).where(
            D.c.connect_url == d.connect_url, D.c.sysid == d.sysid, D.c.name != d.name
        )
    ).first()
    if other is not None:
        raise InputError(
            f"{other.name} is already registered on {d.connect_url} with sysid {d.sysid}"
        )
