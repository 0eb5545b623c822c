"""MAVLink 2 signing as ArduCopter SITL does it (signing.jsonl, signing-serial1.tlog).

* SETUP_SIGNING (it may arrive unsigned on SERIAL0) stores the key for every link. It gets no
  reply. From then on every packet the vehicle sends is signed, with link_id = the link's
  index (0 on SERIAL0, 1 on SERIAL1); each link's timestamp starts at
  ``initial_timestamp + 6,000,000`` (60 s) and goes up by 1 per signed packet. It never falls
  behind the vehicle's GPS/UNIX clock *(from source: GPS time raises it)*.
* Channel 0 (SERIAL0) accepts everything, signed or not. Other links silently drop unsigned
  packets and packets whose signature does not match the key (except RADIO_STATUS /
  RADIO_RC_CHANNELS *(from source)*).
* A signed packet is checked against its stream (link_id, sysid, compid): a new stream is
  refused when its timestamp is more than 60 s behind the link's own timestamp, a known stream
  when its timestamp does not go up. The signature is checked first *(from source)*.
* An all-zero key turns signing off on every link. Refused while armed, with the STATUSTEXT
  ``ERROR: Won't setup signing when armed`` (that text is sent by the caller).
"""

from __future__ import annotations

import hashlib
from typing import Any

SIGNATURE_LEN = 13
NEW_STREAM_WINDOW = 6_000_000  # 60 s in 10 us units
INITIAL_TIMESTAMP_LEAD = 6_000_000  # the vehicle starts 60 s ahead of the key's timestamp
UNSIGNED_ALWAYS_ACCEPTED = frozenset({109, 420})  # RADIO_STATUS, RADIO_RC_CHANNELS
IFLAG_SIGNED = 0x01


def is_signed(msg: Any) -> bool:
    return bool(msg._header.incompat_flags & IFLAG_SIGNED)


def signature_ok(key: bytes, msgbuf: bytes) -> bool:
    digest = hashlib.sha256(key + bytes(msgbuf[:-6])).digest()[:6]
    return digest == bytes(msgbuf[-6:])


def packet_timestamp(msgbuf: bytes) -> tuple[int, int]:
    """(link_id, timestamp) from a signed packet's signature block."""
    block = bytes(msgbuf[-SIGNATURE_LEN:])
    return block[0], int.from_bytes(block[1:7], "little")


class Signing:
    """The vehicle's signing key and the per-stream timestamps, shared by all links."""

    def __init__(self) -> None:
        self.key: bytes | None = None
        self._streams: dict[tuple[int, int, int], int] = {}

    @property
    def enabled(self) -> bool:
        return self.key is not None

    def setup(self, key: bytes, initial_timestamp: int, encoders: list[tuple[int, Any]]) -> None:
        """Install ``key`` (all zeros: signing off) on every link's encoder."""
        if not any(key):
            self.key = None
            for _, mav in encoders:
                mav.signing.secret_key = None
                mav.signing.sign_outgoing = False
            return
        self.key = bytes(key)
        for link_index, mav in encoders:
            self.configure_encoder(link_index, mav, initial_timestamp + INITIAL_TIMESTAMP_LEAD)

    def configure_encoder(self, link_index: int, mav: Any, timestamp: int) -> None:
        mav.signing.secret_key = self.key
        mav.signing.sign_outgoing = self.key is not None
        mav.signing.link_id = link_index
        mav.signing.timestamp = max(int(mav.signing.timestamp), timestamp)

    def accept(self, msg: Any, link_index: int, encoder: Any) -> bool:
        """Whether a received packet is processed (``encoder``: that link's MAVLink encoder,
        whose timestamp a newer incoming timestamp raises)."""
        if self.key is None:
            return True
        if is_signed(msg) and self._signed_ok(msg, encoder):
            return True
        return link_index == 0 or msg.get_msgId() in UNSIGNED_ALWAYS_ACCEPTED

    def _signed_ok(self, msg: Any, encoder: Any) -> bool:
        assert self.key is not None
        msgbuf = msg._msgbuf
        if len(msgbuf) < SIGNATURE_LEN or not signature_ok(self.key, msgbuf):
            return False
        link_id, timestamp = packet_timestamp(msgbuf)
        stream = (link_id, msg.get_srcSystem(), msg.get_srcComponent())
        last = self._streams.get(stream)
        if last is None:
            if timestamp + NEW_STREAM_WINDOW < encoder.signing.timestamp:
                return False
        elif timestamp <= last:
            return False
        self._streams[stream] = timestamp
        encoder.signing.timestamp = max(int(encoder.signing.timestamp), timestamp)
        return True
