"""Per-drone MAVLink2 signing keys: made here, installed with SETUP_SIGNING, kept in the
store (never printed), and used by every later link to the drone (:mod:`uav.fleet.links`).

Installing a new key on a drone that already signs first turns signing off with the old
key, then installs the new one. The store is written only once the drone signs with the new
key; if the drone ends up without a key, the store forgets the old one (a link that signs
with a key the drone does not hold would not hear it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from uav.fleet.errors import DroneError, DroneLinkError, about
from uav.fleet.links import DroneTarget, open_link, target
from uav.link import DroneLink, LinkConfig, disable_signing, enable_signing, generate_key
from uav.link.signing import CONFIRM_TIMEOUT_S

if TYPE_CHECKING:
    from uav.store import Store
    from uav.store.drones import Drone


@dataclass(frozen=True)
class SignedAdd:
    """What :func:`add_drone` did: the drone as registered, and why its key is not
    installed (None when it is)."""

    drone: Drone
    not_installed: DroneError | None = None


def install_key(store: Store, name: str, base: LinkConfig | None = None) -> Drone:
    """Make a new key for drone ``name``, install it and keep it; returns the drone."""
    t = target(store, name)
    drone = store.drone(name)
    if not drone.sign_requested:
        drone = store.update_drone(replace(drone, sign_requested=True))
    key = generate_key()
    with _connect_for_keying(t, base) as link:
        if link.signing:
            _drop_old_key(store, name, link)
        with about(name):
            enable_signing(link, key, timeout_s=CONFIRM_TIMEOUT_S)
        try:
            store.set_signing_key(name, key)
        except BaseException:
            with about(name):
                disable_signing(link)
            raise
    return store.drone(name)


@contextmanager
def _connect_for_keying(t: DroneTarget, base: LinkConfig | None) -> Iterator[DroneLink]:
    """A link with the stored key; when the drone does not answer it (it may have lost its
    key, e.g. a wiped eeprom), a link without one."""
    try:
        link = open_link(t, base)
    except DroneLinkError:
        if t.signing_key is None:
            raise
        link = open_link(replace(t, signing_key=None), base)
    try:
        yield link
    finally:
        link.close()


def _drop_old_key(store: Store, name: str, link: DroneLink) -> None:
    with about(name):
        disable_signing(link)
    store.set_signing_key(name, None)


def add_drone(store: Store, drone: Drone, base: LinkConfig | None = None) -> SignedAdd:
    """Register ``drone``; when it asks for signing, install a key at once. A drone that
    cannot be reached (or refuses) stays registered with signing ``requested``:
    :func:`install_key` installs it later."""
    added = store.add_drone(drone)
    if not added.sign_requested:
        return SignedAdd(added)
    try:
        return SignedAdd(install_key(store, added.name, base))
    except DroneError as exc:
        return SignedAdd(store.drone(added.name), exc)
