"""TCP ports of emulated vehicles (standard library only: ``python -m uav.sim`` binds them
before it loads pymavlink, so it listens as soon as SITL would)."""

from __future__ import annotations

import socket

HOST = "127.0.0.1"
BASE_PORT = 5760
BACKLOG = 4


def serial_ports(instance: int, base_port: int = BASE_PORT) -> tuple[int, int, int]:
    """SERIAL0, SERIAL1, SERIAL2 of instance N: 5760+10N, 5762+10N, 5763+10N."""
    first = base_port + 10 * instance
    return (first, first + 2, first + 3)


def bind_port(host: str, port: int, *, listen: bool) -> socket.socket:
    """A non-blocking TCP socket bound to ``port`` (listening, or only reserved)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.setblocking(False)
        if listen:
            sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock
