"""ArduCopter's mission protocol for missions (type 0), fences (1) and rally points (2).

Everything here was observed in ``/work/shared/sitl-traces`` (mission.jsonl, fence.jsonl)
unless marked *inferred*:

Uploads
    MISSION_COUNT is answered with MISSION_REQUEST (msg 40, never _INT) for seq 0, then one
    request per accepted item, in order, sent to the link and the sender the COUNT came from.
    A COUNT above the limit (650 mission items, 70 fence items; 20 rally points *inferred*)
    is refused at once with NO_SPACE and ``Only N items are supported`` (severity 4). Each
    item is checked on arrival (see :mod:`uav.sim.mission_items`); a bad item ends the upload
    with its ACK code. An item with the wrong seq gets INVALID_SEQUENCE but the upload goes
    on. An unanswered request is repeated every 1.0 s; 8.0 s after the last item received
    the upload is cancelled: ACK OPERATION_CANCELLED and ``Mission upload timeout`` (4).
Missions are not atomic
    Items are written as they arrive (seq 0, the home placeholder, is never stored); an
    abandoned or refused upload leaves the items already received in place and the later
    ones unchanged. A completed upload truncates the mission to COUNT and ends with ACK
    ACCEPTED, :meth:`VehicleServices.mission_changed`, then ``Flight plan received`` (6).
Fences are atomic
    They are checked and written only after the last item (:mod:`uav.sim.fence_items`):
    ACK ACCEPTED and ``Fence Indexed OK`` (7), or ACK ERROR and the reason; the old fence is
    kept. Rally points are also replaced as a whole (*inferred*).
Downloads
    MISSION_REQUEST_LIST → MISSION_COUNT. A mission's count includes seq 0, which is the
    current home (all zeros before home is set); after MISSION_CLEAR_ALL the count is 0 until
    home is written again. MISSION_REQUEST_INT → MISSION_ITEM_INT; the legacy MISSION_REQUEST
    → a float MISSION_ITEM plus ``got MISSION_REQUEST; use MISSION_REQUEST_INT!`` (4; sent
    once per link, *inferred*). The client's final MISSION_ACK gets no reply.
Saved parameters
    The vehicle announces MIS_TOTAL (the stored mission count, home slot included) whenever
    it grows by an item, on truncation, on clear and when home is first written; FENCE_TOTAL
    after a fence upload. :meth:`MissionServer.drain_param_saves` hands these to the core.

*Inferred:* a second uploader of the same type, a download or a clear during an upload get
ACK DENIED; an unknown mission_type gets ACK UNSUPPORTED; a download request beyond the count
gets INVALID_SEQUENCE; MISSION_COUNT 0 clears; a client MISSION_ACK OPERATION_CANCELLED
abandons its upload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from uav.sim.fence_items import FENCE_MAX_ITEMS, FenceInvalid, FenceSet, fence_total, parse_fence
from uav.sim.interfaces import LinkPort, VehicleServices
from uav.sim.mission_items import (
    KNOWN_TYPES,
    MISSION_ACCEPTED,
    MISSION_DENIED,
    MISSION_ERROR,
    MISSION_INVALID_SEQUENCE,
    MISSION_NO_SPACE,
    MISSION_OPERATION_CANCELLED,
    MISSION_UNSUPPORTED,
    TYPE_ALL,
    TYPE_FENCE,
    TYPE_MISSION,
    TYPE_RALLY,
    StoredItem,
    check_item,
    home_item,
    received_item,
    stored_form,
)

MISSION_MAX_ITEMS = 650
RALLY_MAX_ITEMS = 20  # inferred
MAX_ITEMS = {
    TYPE_MISSION: MISSION_MAX_ITEMS,
    TYPE_FENCE: FENCE_MAX_ITEMS,
    TYPE_RALLY: RALLY_MAX_ITEMS,
}
REQUEST_RESEND_S = 1.0
UPLOAD_TIMEOUT_S = 8.0
TOTAL_PARAMS = {TYPE_MISSION: "MIS_TOTAL", TYPE_FENCE: "FENCE_TOTAL", TYPE_RALLY: "RALLY_TOTAL"}

SEV_WARNING = 4
SEV_INFO = 6
SEV_DEBUG = 7
LEGACY_REQUEST_TEXT = "got MISSION_REQUEST; use MISSION_REQUEST_INT!"


@dataclass
class _Upload:
    mission_type: int
    count: int
    link: LinkPort
    sysid: int
    compid: int
    last_request_s: float
    last_item_s: float
    next_seq: int = 0
    received: list[StoredItem] = field(default_factory=list)

    def is_from(self, msg: Any, link: LinkPort) -> bool:
        return link is self.link and msg.get_srcSystem() == self.sysid


class MissionServer:
    """The vehicle's side of the mission protocol; see the module docstring."""

    def __init__(self, services: VehicleServices) -> None:
        self._services = services
        self._mission: list[StoredItem | None] = []  # index = seq; [0] is the home slot
        self._fence: list[StoredItem] = []
        self._fence_set = FenceSet()
        self._rally: list[StoredItem] = []
        self._uploads: dict[int, _Upload] = {}
        self._revisions = dict.fromkeys(KNOWN_TYPES, 0)
        self._param_saves: list[tuple[str, float]] = []
        self._current_seq = 0
        self._legacy_warned: set[int] = set()
        self._last_home: tuple[float, float, float] | None = None
        self._handlers = {
            "MISSION_COUNT": self._on_count,
            "MISSION_ITEM": self._on_item,
            "MISSION_ITEM_INT": self._on_item,
            "MISSION_REQUEST_LIST": self._on_request_list,
            "MISSION_REQUEST_INT": self._on_request,
            "MISSION_REQUEST": self._on_request,
            "MISSION_CLEAR_ALL": self._on_clear_all,
            "MISSION_ACK": self._on_ack,
            "MISSION_SET_CURRENT": self._on_set_current,
        }

    # ----------------------------------------------------------------- public API

    def handle(self, msg: Any, link: LinkPort) -> bool:
        """Process one mission-protocol message; False when it is not one."""
        handler = self._handlers.get(msg.get_type())
        if handler is None:
            return False
        handler(msg, link)
        return True

    def tick(self) -> None:
        """Every simulation step: request resends, upload timeouts, home written to slot 0."""
        now = self._services.now_s()
        for upload in list(self._uploads.values()):
            if now - upload.last_item_s >= UPLOAD_TIMEOUT_S:
                self._cancel(upload)
            elif now - upload.last_request_s >= REQUEST_RESEND_S:
                self._request(upload)
        self._watch_home()

    def items(self, mission_type: int) -> list[Any]:
        """Stored items as MISSION_ITEM_INT: mission seq 1..n; fence and rally seq 0..n-1."""
        if mission_type == TYPE_MISSION:
            stored = [it for it in self._mission[1:] if it is not None]
        else:
            stored = self._stored(mission_type)
        return [it.to_int_message() for it in stored]

    @property
    def current_seq(self) -> int:
        return self._current_seq

    def set_current(self, seq: int) -> None:
        """Set the current mission item (0 = none started); ValueError beyond the mission."""
        if not 0 <= seq < max(len(self._mission), 1):
            raise ValueError(f"mission has no item {seq}")
        self._current_seq = seq

    @property
    def mission_total(self) -> int:
        """MIS_TOTAL: stored mission items including the home slot (0 after a clear)."""
        return len(self._mission)

    def fence(self) -> FenceSet:
        """The accepted fence, grouped into shapes."""
        return self._fence_set

    def revision(self, mission_type: int) -> int:
        """Grows whenever the stored items of this type change (cheap change detection)."""
        return self._revisions[mission_type]

    def transfer_in_progress(self, mission_type: int | None = None) -> bool:
        """True while an upload (of this type, or of any type) is being received."""
        if mission_type is None:
            return bool(self._uploads)
        return mission_type in self._uploads

    def drain_param_saves(self) -> list[tuple[str, float]]:
        """Parameters the vehicle saved since the last call, in order (name, value)."""
        saves, self._param_saves = self._param_saves, []
        return saves

    # ------------------------------------------------------------------ uploads

    def _on_count(self, msg: Any, link: LinkPort) -> None:
        mission_type = msg.mission_type
        if mission_type not in KNOWN_TYPES:
            self._reply_ack(msg, link, MISSION_UNSUPPORTED)
            return
        running = self._uploads.get(mission_type)
        if running is not None and not running.is_from(msg, link):
            self._reply_ack(msg, link, MISSION_DENIED)
            return
        self._uploads.pop(mission_type, None)
        limit = MAX_ITEMS[mission_type]
        if msg.count > limit:
            self._reply_ack(msg, link, MISSION_NO_SPACE)
            self._services.statustext(SEV_WARNING, f"Only {limit} items are supported")
            return
        if msg.count == 0:
            self._reply_ack(msg, link, MISSION_ACCEPTED)
            self._clear(mission_type)
            return
        now = self._services.now_s()
        upload = _Upload(
            mission_type, msg.count, link, msg.get_srcSystem(), msg.get_srcComponent(),
            last_request_s=now, last_item_s=now,
        )  # fmt: skip
        self._uploads[mission_type] = upload
        self._request(upload)

    def _on_item(self, msg: Any, link: LinkPort) -> None:
        upload = self._uploads.get(msg.mission_type)
        if upload is None or not upload.is_from(msg, link):
            return
        item = received_item(msg)
        if item.seq != upload.next_seq:
            self._send_ack(upload, MISSION_INVALID_SEQUENCE)
            return
        result = check_item(item)
        if result != MISSION_ACCEPTED:
            del self._uploads[upload.mission_type]
            self._send_ack(upload, result)
            return
        upload.last_item_s = self._services.now_s()
        self._accept_item(upload, item)
        if item.seq == upload.count - 1:
            del self._uploads[upload.mission_type]
            self._finish(upload)
        else:
            upload.next_seq += 1
            self._request(upload)

    def _accept_item(self, upload: _Upload, item: StoredItem) -> None:
        if upload.mission_type != TYPE_MISSION:
            upload.received.append(stored_form(item))
        elif item.seq > 0:
            self._write_mission_item(stored_form(item))

    def _write_mission_item(self, item: StoredItem) -> None:
        self._revisions[TYPE_MISSION] += 1
        if item.seq < len(self._mission):
            self._mission[item.seq] = item
            return
        if not self._mission:
            self._mission.append(None)
        self._mission.append(item)
        self._save(TYPE_MISSION, len(self._mission))

    def _finish(self, upload: _Upload) -> None:
        if upload.mission_type == TYPE_MISSION:
            self._finish_mission(upload)
        elif upload.mission_type == TYPE_FENCE:
            self._finish_fence(upload)
        else:
            self._rally = list(upload.received)
            self._revisions[TYPE_RALLY] += 1
            self._send_ack(upload, MISSION_ACCEPTED)
            self._services.mission_changed(TYPE_RALLY)
            self._save(TYPE_RALLY, len(self._rally))

    def _finish_mission(self, upload: _Upload) -> None:
        if len(self._mission) > upload.count:
            del self._mission[upload.count :]
            self._save(TYPE_MISSION, len(self._mission))
        elif not self._mission:
            self._mission.append(None)
            self._save(TYPE_MISSION, 1)
        if self._current_seq >= len(self._mission):
            self._current_seq = 0
        self._revisions[TYPE_MISSION] += 1
        self._send_ack(upload, MISSION_ACCEPTED)
        self._services.mission_changed(TYPE_MISSION)
        self._services.statustext(SEV_INFO, "Flight plan received")

    def _finish_fence(self, upload: _Upload) -> None:
        try:
            fence = parse_fence(upload.received)
        except FenceInvalid as refused:
            self._send_ack(upload, MISSION_ERROR)
            if refused.storage:
                self._services.statustext(SEV_WARNING, refused.reason)
            else:
                self._services.statustext(SEV_INFO, refused.reason)
                self._services.statustext(SEV_WARNING, "Fence validation failed")
            return
        self._fence, self._fence_set = list(upload.received), fence
        self._revisions[TYPE_FENCE] += 1
        self._send_ack(upload, MISSION_ACCEPTED)
        self._services.mission_changed(TYPE_FENCE)
        self._services.statustext(SEV_DEBUG, "Fence Indexed OK")
        self._save(TYPE_FENCE, fence_total(self._fence))

    def _cancel(self, upload: _Upload) -> None:
        del self._uploads[upload.mission_type]
        self._send_ack(upload, MISSION_OPERATION_CANCELLED)
        self._services.statustext(SEV_WARNING, "Mission upload timeout")

    def _request(self, upload: _Upload) -> None:
        mav = upload.link.mav
        upload.link.send(
            mav.mission_request_encode(
                upload.sysid, upload.compid, upload.next_seq, upload.mission_type
            )
        )
        upload.last_request_s = self._services.now_s()

    # ---------------------------------------------------------------- downloads

    def _on_request_list(self, msg: Any, link: LinkPort) -> None:
        mission_type = msg.mission_type
        if mission_type not in KNOWN_TYPES:
            self._reply_ack(msg, link, MISSION_UNSUPPORTED)
        elif mission_type in self._uploads:
            self._reply_ack(msg, link, MISSION_DENIED)
        else:
            link.send(
                link.mav.mission_count_encode(
                    *_sender(msg), self._count(mission_type), mission_type
                )
            )

    def _on_request(self, msg: Any, link: LinkPort) -> None:
        if msg.mission_type in self._uploads:
            self._reply_ack(msg, link, MISSION_DENIED)
            return
        item = self._item_at(msg.mission_type, msg.seq)
        if item is None:
            self._reply_ack(msg, link, MISSION_INVALID_SEQUENCE)
            return
        if msg.get_type() == "MISSION_REQUEST_INT":
            link.send(item.to_int_message(*_sender(msg)))
            return
        link.send(item.to_float_message(*_sender(msg)))
        if link.index not in self._legacy_warned:
            self._legacy_warned.add(link.index)
            self._services.statustext(SEV_WARNING, LEGACY_REQUEST_TEXT)

    def _item_at(self, mission_type: int, seq: int) -> StoredItem | None:
        if mission_type not in KNOWN_TYPES or seq < 0:
            return None
        if mission_type != TYPE_MISSION:
            stored = self._stored(mission_type)
            return stored[seq] if seq < len(stored) else None
        if seq >= len(self._mission):
            return None
        item = self._mission[seq]
        return home_item(self._services.home()) if item is None else item

    # ------------------------------------------------------- clear, ack, current

    def _on_clear_all(self, msg: Any, link: LinkPort) -> None:
        mission_type = msg.mission_type
        types = KNOWN_TYPES if mission_type == TYPE_ALL else (mission_type,)
        if mission_type != TYPE_ALL and mission_type not in KNOWN_TYPES:
            self._reply_ack(msg, link, MISSION_UNSUPPORTED)
        elif any(t in self._uploads for t in types):
            self._reply_ack(msg, link, MISSION_DENIED)
        else:
            self._reply_ack(msg, link, MISSION_ACCEPTED)
            for t in types:
                self._clear(t)

    def _clear(self, mission_type: int) -> None:
        if mission_type == TYPE_MISSION:
            self._mission, self._current_seq = [], 0
        elif mission_type == TYPE_FENCE:
            self._fence, self._fence_set = [], FenceSet()
        else:
            self._rally = []
        self._revisions[mission_type] += 1
        self._save(mission_type, 0)
        self._services.mission_changed(mission_type)

    def _on_ack(self, msg: Any, link: LinkPort) -> None:
        upload = self._uploads.get(msg.mission_type)
        cancelled = msg.type == MISSION_OPERATION_CANCELLED
        if upload is not None and cancelled and upload.is_from(msg, link):
            del self._uploads[msg.mission_type]

    def _on_set_current(self, msg: Any, link: LinkPort) -> None:
        if 0 < msg.seq < len(self._mission):
            self._current_seq = msg.seq

    # ------------------------------------------------------------------ helpers

    def _count(self, mission_type: int) -> int:
        if mission_type == TYPE_MISSION:
            return len(self._mission)
        return len(self._stored(mission_type))

    def _stored(self, mission_type: int) -> list[StoredItem]:
        return self._fence if mission_type == TYPE_FENCE else self._rally

    def _watch_home(self) -> None:
        home = self._services.home()
        if home is None or home == self._last_home:
            return
        self._last_home = home
        if not self._mission:
            self._mission.append(None)
            self._revisions[TYPE_MISSION] += 1
            self._save(TYPE_MISSION, 1)

    def _save(self, mission_type: int, value: int) -> None:
        self._param_saves.append((TOTAL_PARAMS[mission_type], float(value)))

    def _send_ack(self, upload: _Upload, result: int) -> None:
        mav = upload.link.mav
        upload.link.send(
            mav.mission_ack_encode(upload.sysid, upload.compid, result, upload.mission_type)
        )

    def _reply_ack(self, msg: Any, link: LinkPort, result: int) -> None:
        mission_type = getattr(msg, "mission_type", TYPE_MISSION)
        link.send(link.mav.mission_ack_encode(*_sender(msg), result, mission_type))


def _sender(msg: Any) -> tuple[int, int]:
    return msg.get_srcSystem(), msg.get_srcComponent()
