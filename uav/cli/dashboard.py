"""The live view of ``uav monitor`` on stderr: a rich table refreshed a few times a second on
a terminal, one line per event otherwise (a pipe, a log, a test)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.markup import escape

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live

    from uav.enforce.model import EnforcementEvent
    from uav.enforce.monitor import Monitor
    from uav.enforce.watch import DroneView

LAST_EVENTS = 8


class Dashboard:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.live_mode = console.is_terminal
        self.live: Live | None = None
        self.links: dict[str, str] = {}

    def __enter__(self) -> Dashboard:
        if self.live_mode:
            from rich.live import Live
            from rich.text import Text

            self.live = Live(Text("starting..."), console=self.console, refresh_per_second=4)
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def on_event(self, event: EnforcementEvent) -> None:
        """Called from the watches' threads."""
        if not self.live_mode:
            self.console.print(f"event: {escape(event_line(event))}")

    def tick(self, monitor: Monitor) -> None:
        if self.live is not None:
            self.live.update(render(monitor))
            return
        for v in monitor.views():  # without a terminal: one line per link change
            if self.links.get(v.name) != v.link:
                self.links[v.name] = v.link
                self.console.print(f"{escape(v.name)}: link {v.link}")


def render(monitor: Monitor) -> Any:
    from rich.console import Group
    from rich.table import Table

    t = Table(
        "drone",
        "link",
        "mode",
        "lat, lon",
        "alt m",
        "m/s",
        "nearest zone",
        "clear m",
        "breach in",
        "last action",
        "alert",
        title="uav monitor",
    )
    for v in monitor.views():
        t.add_row(*drone_row(v))
    events = Table("time", "event", title="last events", show_header=False)
    for e in monitor.recent_events(LAST_EVENTS):
        events.add_row(e.time.strftime("%H:%M:%S"), escape(event_line(e)))
    return Group(t, events)


def drone_row(v: DroneView) -> list[str]:
    p = v.position
    a = v.assessment
    nearest = a.nearest if a is not None else None
    breach = a.breach if a is not None else None
    clock = " (ground clock)" if v.clock == "ground" else ""
    return [
        escape(v.name),
        v.link + clock,
        f"{v.mode or '?'}{'' if v.armed else ' (disarmed)' if v.armed is False else ''}",
        "-" if p is None else f"{p.lat_deg:.6f}, {p.lon_deg:.6f}",
        "-" if p is None else f"{p.alt_m:.1f}",
        "-" if v.groundspeed_mps is None else f"{v.groundspeed_mps:.1f}",
        "-" if nearest is None else escape(nearest.zone_name),
        "-" if nearest is None else f"{nearest.clearance_m:.0f}",
        "-"
        if breach is None
        else f"{breach.time_to_breach_s:.1f} s {escape(breach.zone_name or breach.rule)}",
        escape(v.last_action or "-"),
        escape(v.alert or v.note or ""),
    ]


def event_line(e: EnforcementEvent) -> str:
    """One line: what happened to which drone, why, and how fast."""
    head = f"{e.drone} {e.kind.value}"
    if e.action:
        head += f" {e.action} {e.result.value}"
    if e.zone_name:
        head += f" zone {e.zone_name!r}"
    if e.time_to_breach_s is not None:
        head += f", breach in {e.time_to_breach_s:.1f} s"
    if e.latency_sent_ms is not None:
        head += f", sent {e.latency_sent_ms:.0f} ms after the position"
    if e.latency_confirmed_ms is not None:
        head += f", confirmed at {e.latency_confirmed_ms:.0f} ms"
    tail = e.detail or e.reason
    return f"{head}: {tail}" if tail else head
