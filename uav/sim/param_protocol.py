"""The parameter protocol: list download, reads, sets, and the vehicle's own saves.

Observed (boot.jsonl, fence.jsonl):

* PARAM_REQUEST_LIST (ignored while booting, before about 3 s) first sends the banner
  STATUSTEXTs (firmware, board id, frame), then every parameter once, in index order, about
  2150 per vehicle second (1333 in 0.62 s), on the requesting link.
* PARAM_REQUEST_READ by name is answered with param_index 65535, by index with the index,
  on the requesting link. Reads are answered one per 0.1 vehicle second: the first at once,
  each following one 0.1 s after the previous answer.
* PARAM_SET is echoed at once, to every link, with index 65535 (and the REAL32 type quirk of
  :meth:`ParamStore.set`). Unknown or read-only names get no answer *(inferred)*.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from uav.sim.constants import BOARD_ID_TEXT, FIRMWARE_NAME, FRAME_TEXT, SEV_INFO
from uav.sim.params import ParamEcho

if TYPE_CHECKING:
    from uav.sim.links import Link
    from uav.sim.vehicle import EmulatedVehicle

LIST_RATE_PER_S = 2150.0
LIST_FIRST_DELAY_S = 0.012
READ_INTERVAL_S = 0.1
BANNER = (FIRMWARE_NAME, BOARD_ID_TEXT, FRAME_TEXT)


def param_value(mav: Any, echo: ParamEcho, count: int | None = None) -> Any:
    return mav.param_value_encode(
        echo.name.encode("ascii"),
        echo.value,
        echo.ptype,
        echo.count if count is None else count,
        echo.index,
    )


@dataclass
class _ListDownload:
    link: Link
    started_s: float
    next_index: int = 0


@dataclass
class _Read:
    link: Link
    name: str | None
    index: int


class ParamProtocol:
    """Per-vehicle state of the parameter protocol."""

    def __init__(self, vehicle: EmulatedVehicle) -> None:
        self.v = vehicle
        self._lists: dict[int, _ListDownload] = {}
        self._reads: deque[_Read] = deque()
        self._next_read_s = 0.0

    # ---- incoming ----
    def request_list(self, link: Link) -> None:
        v = self.v
        if not v.boot_state().booted:
            return
        for text in BANNER:
            v.statustext(SEV_INFO, text)
        self._lists[link.index] = _ListDownload(link, v.now_s() + LIST_FIRST_DELAY_S)

    def request_read(self, link: Link, msg: Any) -> None:
        name = _param_id(msg.param_id)
        index = int(msg.param_index)
        self._reads.append(_Read(link, name if index < 0 else None, index))

    def set(self, msg: Any) -> None:
        v = self.v
        name = _param_id(msg.param_id)
        echo = v.params.set(name, float(msg.param_value))
        if echo is None:
            return
        for link in v.broadcast_links():
            link.send(param_value(link.mav, echo))
        v.on_param_changed(name)

    # ---- the vehicle's own saves ----
    def announce(self, name: str, count: int | None = None) -> None:
        """A PARAM_VALUE (index 65535) on every link, as when the vehicle saves a value."""
        v = self.v
        if not v.params.exists(name):
            return
        echo = v.params.echo(name)
        for link in v.broadcast_links():
            link.send(param_value(link.mav, echo, count))

    # ---- outgoing, every poll ----
    def poll(self, now_s: float) -> float:
        """Send what is due; returns the vehicle time of the next thing due."""
        next_due = self._answer_reads(now_s)
        for key, download in list(self._lists.items()):
            if not self._send_list(download, now_s):
                del self._lists[key]
            else:
                next_due = min(next_due, now_s + 0.01)
        return next_due

    def _answer_reads(self, now_s: float) -> float:
        while self._reads and now_s >= self._next_read_s:
            read = self._reads.popleft()
            self._answer(read)
            self._next_read_s = now_s + READ_INTERVAL_S
        return self._next_read_s if self._reads else float("inf")

    def _answer(self, read: _Read) -> None:
        params = self.v.params
        if read.name is not None:
            if not params.exists(read.name):
                return
            echo: ParamEcho | None = params.echo(read.name)
        else:
            echo = params.echo_at(read.index)
        if echo is not None and read.link.connected:
            read.link.send(param_value(read.link.mav, echo))

    def _send_list(self, download: _ListDownload, now_s: float) -> bool:
        """False when the download is over (or its link has gone)."""
        link, params = download.link, self.v.params
        if not link.connected:
            return False
        due = int((now_s - download.started_s) * LIST_RATE_PER_S) + 1
        while download.next_index < min(due, params.count) and link.has_room():
            echo = params.echo_at(download.next_index)
            if echo is None:
                break
            link.send(param_value(link.mav, echo))
            download.next_index += 1
        return download.next_index < params.count


def _param_id(raw: Any) -> str:
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", errors="replace")
    return str(raw).split("\x00", 1)[0].strip()
