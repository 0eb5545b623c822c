"""Links to registered drones: what the registry says about each one, and one
:class:`~uav.link.DroneLink` per drone, signed with its key when it has one."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from uav.fleet.errors import about
from uav.link import DroneLink, LinkConfig

if TYPE_CHECKING:
    from uav.store import Store

CONNECT_TIMEOUT_S = 5.0  # wall seconds for the TCP connect, then for the first HEARTBEAT


@dataclass(frozen=True)
class DroneTarget:
    """How to reach one registered drone (read from the store before any link opens)."""

    name: str
    url: str
    sysid: int
    signing_key: bytes | None = field(default=None, repr=False)
    sign_requested: bool = False

    @property
    def signing(self) -> str:
        """``on``, ``requested`` (wanted, no key installed yet) or ``off``."""
        if self.signing_key is not None:
            return "on"
        return "requested" if self.sign_requested else "off"


def target(store: Store, name: str) -> DroneTarget:
    """The registered drone ``name`` (:class:`~uav.errors.NotFound` when there is none)."""
    d = store.drone(name)
    return DroneTarget(d.name, d.connect_url, d.sysid, store.signing_key(d.name), d.sign_requested)


def targets(store: Store, names: Sequence[str] = ()) -> list[DroneTarget]:
    """The drones named (each once, in the order given), or every registered drone."""
    wanted = list(dict.fromkeys(names)) if names else [d.name for d in store.drones()]
    return [target(store, name) for name in wanted]


def link_config(t: DroneTarget, base: LinkConfig | None = None) -> LinkConfig:
    """``base`` (default :class:`LinkConfig` with :data:`CONNECT_TIMEOUT_S`) addressed to the
    drone's system id and signing with its key."""
    cfg = base or LinkConfig(connect_timeout_s=CONNECT_TIMEOUT_S)
    return replace(cfg, target_system=t.sysid, signing_key=t.signing_key)


def open_link(t: DroneTarget, base: LinkConfig | None = None) -> DroneLink:
    """An open link to the drone (the caller closes it); a failure names the drone."""
    link = DroneLink(t.url, link_config(t, base), name=t.name)
    try:
        with about(t.name):
            link.open()
    except BaseException:
        link.close()
        raise
    return link


@contextmanager
def connect(t: DroneTarget, base: LinkConfig | None = None) -> Iterator[DroneLink]:
    """An open link to the drone, closed on exit; link errors name the drone."""
    link = open_link(t, base)
    try:
        yield link
    finally:
        link.close()
