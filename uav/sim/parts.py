"""The parts other modules provide: mission protocol, fence, traffic (see ``interfaces.py``).

They are imported lazily: when ``uav/sim/mission.py`` (or ``fence.py``, ``traffic.py``) does
not exist the vehicle runs without it (no mission protocol, no fence, no traffic). Any other
import error is raised: a broken part must not be silently left out.

:class:`Parts` adapts to the parts' optional extras by duck typing: ``FenceMonitor`` may take
the mission server as a second argument and offer ``arm_check``; ``Traffic`` may be stepped
with ``tick`` or ``update``, take ``unix_time_at_boot_s`` / ``gps_position`` keywords,
``handle`` received messages and hand over OPEN_DRONE_ID_* with ``odid_messages``; the
mission server may hand over saved parameters with ``drain_param_saves``.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

PartFactory = Callable[..., Any]


def load_part(module: str, class_name: str) -> PartFactory | None:
    """``uav.sim.<module>.<class_name>``, or None when that module does not exist."""
    full_name = f"uav.sim.{module}"
    try:
        mod = importlib.import_module(full_name)
    except ModuleNotFoundError as exc:
        if exc.name == full_name:
            return None
        raise
    factory: PartFactory = getattr(mod, class_name)
    return factory


@dataclass(frozen=True)
class PartFactories:
    """How to build each part from the vehicle's services (None: the part is absent)."""

    mission: PartFactory | None = None
    fence: PartFactory | None = None
    traffic: PartFactory | None = None

    @classmethod
    def default(cls) -> PartFactories:
        return cls(
            mission=load_part("mission", "MissionServer"),
            fence=load_part("fence", "FenceMonitor"),
            traffic=load_part("traffic", "Traffic"),
        )

    @classmethod
    def none(cls) -> PartFactories:
        return cls()


def _positional_count(factory: PartFactory) -> int:
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return 1
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in signature.parameters.values() if p.kind in kinds)


def _keywords(factory: PartFactory) -> set[str]:
    try:
        return set(inspect.signature(factory).parameters)
    except (TypeError, ValueError):
        return set()


class Parts:
    """The built parts of one vehicle and the calls the core makes on them."""

    def __init__(
        self,
        factories: PartFactories,
        services: Any,
        *,
        traffic_kwargs: Mapping[str, Any] | None = None,
        traffic_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.mission = factories.mission(services) if factories.mission else None
        self.fence = self._build_fence(factories.fence, services)
        self.traffic = None
        if factories.traffic is not None:
            accepted = _keywords(factories.traffic)
            kwargs = {k: v for k, v in (traffic_kwargs or {}).items() if k in accepted}
            kwargs.update(traffic_options or {})
            self.traffic = factories.traffic(services, **kwargs)

    def _build_fence(self, factory: PartFactory | None, services: Any) -> Any:
        if factory is None:
            return None
        if self.mission is not None and _positional_count(factory) >= 2:
            return factory(services, self.mission)
        return factory(services)

    # ---- every simulation step ----
    def tick(self) -> None:
        if self.mission is not None:
            self.mission.tick()
        if self.fence is not None:
            self.fence.update()
        if self.traffic is not None:
            step = getattr(self.traffic, "tick", None) or self.traffic.update
            step()

    def handle(self, msg: Any, link: Any) -> bool:
        for part in (self.mission, self.traffic, self.fence):
            handle = getattr(part, "handle", None)
            if handle is not None and handle(msg, link):
                return True
        return False

    # ---- mission ----
    def mission_items(self) -> list[Any]:
        return list(self.mission.items(0)) if self.mission is not None else []

    def mission_current_seq(self) -> int:
        if self.mission is None:
            return 0
        seq = self.mission.current_seq
        return int(seq() if callable(seq) else seq)

    def mission_set_current(self, seq: int) -> None:
        if self.mission is not None:
            with contextlib.suppress(ValueError):
                self.mission.set_current(seq)

    def drain_param_saves(self) -> list[tuple[str, float]]:
        drain = getattr(self.mission, "drain_param_saves", None)
        return list(drain()) if drain is not None else []

    # ---- fence ----
    def fence_status(self, mav: Any) -> Any:
        return self.fence.status_message(mav) if self.fence is not None else None

    def fence_breached(self) -> bool:
        if self.fence is None:
            return False
        breaches = getattr(self.fence, "breaches", None)
        if breaches is not None:
            return bool(breaches)
        return False

    def fence_arm_failure(self, position_ok: bool, fence_enabled: bool) -> str | None:
        check = getattr(self.fence, "arm_check", None)
        if check is not None:
            result: str | None = check(position_ok)
            return result
        return "Fence requires position" if fence_enabled and not position_ok else None

    # ---- traffic ----
    def adsb_messages(self, mav: Any) -> list[Any]:
        return list(self.traffic.adsb_messages(mav)) if self.traffic is not None else []

    def odid_messages(self, mav: Any) -> list[Any]:
        get = getattr(self.traffic, "odid_messages", None)
        return list(get(mav)) if get is not None else []

    def odid_link_index(self) -> int:
        get = getattr(self.traffic, "odid_link_index", None)
        return int(get()) if get is not None else 0
