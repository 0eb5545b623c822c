"""Instance numbers and their TCP ports, and reserving free instances.

Instance N listens on 127.0.0.1: ``5760+10N`` (SERIAL0, the GCS link), ``5762+10N`` (SERIAL1)
and ``5763+10N`` (SERIAL2), as ArduPilot SITL does.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from uav.sitl.config import MAX_INSTANCE
from uav.sitl.errors import SitlError

BASE_PORT = 5760
PORT_STEP = 10
SERIAL_OFFSETS = (0, 2, 3)
HOST = "127.0.0.1"


def ports_for(instance: int) -> tuple[int, int, int]:
    """(SERIAL0, SERIAL1, SERIAL2) TCP ports of instance N."""
    base = BASE_PORT + PORT_STEP * instance
    return (base + SERIAL_OFFSETS[0], base + SERIAL_OFFSETS[1], base + SERIAL_OFFSETS[2])


def connect_url(instance: int, serial: int = 0) -> str:
    """The pymavlink-style URL of one of the instance's links (SERIAL0 by default)."""
    return f"tcp:{HOST}:{ports_for(instance)[serial]}"


def port_free(port: int, host: str = HOST) -> bool:
    """True when a server could listen on ``host:port`` now (nothing else is)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def busy_ports(instance: int) -> list[int]:
    return [p for p in ports_for(instance) if not port_free(p)]


@dataclass
class InstanceReservation:
    """Instance numbers held for this process (an advisory lock file per instance).

    Two processes reserving at once never get the same number, and a number is only handed
    out while its three ports are free. Release with :meth:`release` (or ``with``).
    """

    instances: list[int] = field(default_factory=list)
    _files: list[IO[bytes]] = field(default_factory=list, repr=False)

    def release(self) -> None:
        for f in self._files:
            with contextlib.suppress(OSError):
                fcntl.flock(f, fcntl.LOCK_UN)
            f.close()
        self._files.clear()
        self.instances.clear()

    def __enter__(self) -> InstanceReservation:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


def lock_dir() -> Path:
    d = Path(tempfile.gettempdir()) / f"uav-sitl-instances-{os.getuid()}"
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    return d


def reserve_instances(
    count: int, *, first: int = 10, last: int = 400, rng: random.Random | None = None
) -> InstanceReservation:
    """Reserve ``count`` instance numbers in ``first..last`` whose ports are all free.

    The search starts at a random place so that parallel test runs rarely even contend.
    """
    if not 0 <= first <= last <= MAX_INSTANCE:
        raise ValueError(f"bad instance range {first}..{last}")
    candidates = list(range(first, last + 1))
    start = (rng or random.Random()).randrange(len(candidates))
    reservation = InstanceReservation()
    for n in candidates[start:] + candidates[:start]:
        if len(reservation.instances) == count:
            break
        handle = _try_lock(n)
        if handle is None:
            continue
        if busy_ports(n):
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()
            continue
        reservation.instances.append(n)
        reservation._files.append(handle)
    if len(reservation.instances) < count:
        reservation.release()
        raise SitlError(f"could not find {count} free simulator instance(s) in {first}..{last}")
    return reservation


def _try_lock(instance: int) -> IO[bytes] | None:
    handle = (lock_dir() / f"instance-{instance}.lock").open("ab")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle
