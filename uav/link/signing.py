"""MAVLink2 signing: a shared 32-byte key between ground station and vehicle.

Observed (signing trace): SETUP_SIGNING gets no ACK and no STATUSTEXT; from then on every
packet the vehicle sends, on every link, is signed (its timestamps start 60 s after the
initial_timestamp sent). Other links then ignore unsigned commands silently, but the first
MAVLink port (SERIAL0) still accepts unsigned ones. An all-zero key with timestamp 0 turns
signing off. ArduPilot refuses SETUP_SIGNING while armed ("Won't setup signing when armed").

So :func:`enable_signing` confirms by waiting for a signed packet that verifies with the key,
and :func:`disable_signing` by waiting for an unsigned one. Once signing is on, the link
accepts only packets that verify. The key is never logged, printed or put in an error.
"""

from __future__ import annotations

import secrets
import time

from uav.link.commands import collect_texts
from uav.link.connection import DroneLink
from uav.link.errors import LinkError, SigningError
from uav.link.state import LinkStatus
from uav.link.transport import signing_timestamp_now

KEY_BYTES = 32
CONFIRM_TIMEOUT_S = 3.0  # wall seconds for the vehicle's packets to change over
REFUSED_WHILE_ARMED = "Won't setup signing when armed"


def generate_key() -> bytes:
    """32 random bytes from the operating system's CSPRNG."""
    return secrets.token_bytes(KEY_BYTES)


def enable_signing(link: DroneLink, key: bytes, *, timeout_s: float = CONFIRM_TIMEOUT_S) -> None:
    """Give the vehicle ``key`` (SETUP_SIGNING, initial_timestamp = now) and sign everything
    the link sends from then on. Raises :class:`SigningError` (and leaves the link as it
    was) when the vehicle refuses or does not start signing within ``timeout_s``."""
    if not isinstance(key, bytes) or len(key) != KEY_BYTES or key == bytes(KEY_BYTES):
        raise SigningError(f"a signing key is {KEY_BYTES} bytes, not all zero")
    if link.signing:
        raise SigningError("the link already signs: disable signing before setting a new key")
    text_mark = link.state.statustext_count
    setup = link.mav.setup_signing_encode(
        link.target_system, link.target_component, key, signing_timestamp_now()
    )
    # verify with the key before asking, so the vehicle's first signed packet counts; sign
    # what goes out once SETUP_SIGNING (unsigned, as in the trace) is gone
    link.use_signing(key, accept_unsigned=True, sign_outgoing=False)
    try:
        link.send(setup)
    except LinkError:
        link.use_signing(None, accept_unsigned=True)
        raise
    link.use_signing(key, accept_unsigned=True)  # until the vehicle's packets change over
    try:
        _await_rx_signed(link, True, text_mark, timeout_s)
    except SigningError:
        link.use_signing(None, accept_unsigned=True)
        raise
    link.use_signing(key, accept_unsigned=False)


def disable_signing(link: DroneLink, *, timeout_s: float = CONFIRM_TIMEOUT_S) -> None:
    """Turn signing off on the vehicle (SETUP_SIGNING with an all-zero key and timestamp 0,
    sent signed) and on the link, once the vehicle's packets come unsigned."""
    text_mark = link.state.statustext_count
    setup = link.mav.setup_signing_encode(
        link.target_system, link.target_component, bytes(KEY_BYTES), 0
    )
    link.set_accept_unsigned(True)  # keep signing what goes out until the vehicle switched
    link.send(setup)
    _await_rx_signed(link, False, text_mark, timeout_s)
    link.use_signing(None, accept_unsigned=True)


def _await_rx_signed(link: DroneLink, signed: bool, text_mark: int, timeout_s: float) -> None:
    """Wait (wall clock) for a vehicle packet that is (or is not) signed."""
    deadline = time.monotonic() + timeout_s
    state = link.state
    seen = state.rx_count
    while True:
        if state.rx_count > seen and state.rx_signed is signed:
            return
        refusals = [t for t in state.texts_since(text_mark) if REFUSED_WHILE_ARMED in t]
        if refusals:
            raise SigningError(f"the vehicle refused: {refusals[0]}")
        if state.link != LinkStatus.CONNECTED:
            raise SigningError(f"the link is {state.link}: {state.link_detail}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            texts = collect_texts(link, text_mark)
            detail = f" ({'; '.join(texts)})" if texts else ""
            word = "signed" if signed else "unsigned"
            raise SigningError(f"no {word} packet from the vehicle within {timeout_s:g} s{detail}")
        state = link.wait_for_update(state.version, remaining)
