"""``up``, ``down`` and ``status`` for a set of simulated drones (the CLI is a thin layer)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from uav.errors import InputError, NotFound, UavError
from uav.sitl import launch
from uav.sitl.config import SitlConfig
from uav.sitl.errors import SitlError
from uav.sitl.ports import busy_ports, connect_url, ports_for
from uav.sitl.ready import READY_TIMEOUT_VEHICLE_S, ReadyState, wait_ready
from uav.sitl.tracking import (
    MissionRecord,
    ProcessRecord,
    ProcessTable,
    is_alive,
    owns_pid,
    stop_process,
)
from uav.timeutil import now_utc

if TYPE_CHECKING:
    from uav.store import Store
    from uav.store.drones import Drone

ReadyProgress = Callable[[str, ReadyState], None]


@dataclass(frozen=True)
class Instance:
    """One drone after ``up``: its process, its URL, how the readiness wait went (``error``:
    not ready, stopped again) and, for an intruder with a mission, how starting it went
    (``record.mission``; ``mission_error``: not started, the simulator left running)."""

    config: SitlConfig
    record: ProcessRecord
    url: str
    already_running: bool = False
    ready: ReadyState | None = None
    error: UavError | None = None
    mission_error: UavError | None = None

    @property
    def mission(self) -> MissionRecord | None:
        return self.record.mission


@dataclass(frozen=True)
class InstanceStatus:
    record: ProcessRecord
    alive: bool
    ports: tuple[int, int, int]
    url: str


def plan_up(configs: Sequence[SitlConfig], table: ProcessTable) -> dict[str, ProcessRecord]:
    """Check every config can start; returns the ones already running, by name.

    Forgets records of simulators that died. Refuses (nothing started) when an instance is
    taken by another drone or its ports by another program.
    """
    running: dict[str, ProcessRecord] = {}
    with table.locked() as records:
        records[:] = [r for r in records if owns_pid(r)]
        by_instance = {r.instance: r for r in records}
        by_name = {r.name: r for r in records}
    for cfg in configs:
        here = by_instance.get(cfg.instance)
        if here is not None and here.name == cfg.name:
            running[cfg.name] = here
            continue
        if here is not None:
            raise SitlError(f"instance {cfg.instance} already runs {here.name} (pid {here.pid})")
        if cfg.name in by_name:
            other = by_name[cfg.name]
            raise SitlError(f"{cfg.name} already runs as instance {other.instance}")
        busy = busy_ports(cfg.instance)
        if busy:
            raise SitlError(
                f"{cfg.name}: port(s) {', '.join(map(str, busy))} of instance {cfg.instance} "
                "are in use by another program"
            )
    return running


def up(
    configs: Sequence[SitlConfig],
    launcher: launch.Launcher,
    table: ProcessTable,
    workdir_base: Path,
    *,
    speedup: float | None = None,
    wipe: bool = False,
    wait: bool = True,
    timeout_vehicle_s: float = READY_TIMEOUT_VEHICLE_S,
    on_progress: ReadyProgress | None = None,
    fly_missions: bool = True,
) -> list[Instance]:
    """Start the configs not running yet, then wait for the new ones, all at once.

    A drone that does not get ready is stopped again and comes back with ``error`` set.
    Then each new intruder with a mission flies it (``fly_missions``; see
    :mod:`uav.sitl.intruder`); one whose mission does not start keeps running and comes back
    with ``mission_error`` set. Drones already running are left alone (not waited for: a
    ground station may hold their SERIAL0). If the call is interrupted, what it started is
    stopped again.
    """
    launch.check_launchable(configs, launcher)
    running = plan_up(configs, table)
    instances: list[Instance] = []
    try:
        for cfg in configs:
            record = running.get(cfg.name)
            if record is None:
                record = launch.start(
                    cfg, launcher, table, workdir_base, speedup=speedup, wipe=wipe
                )
            url = connect_url(cfg.instance)
            instances.append(Instance(cfg, record, url, already_running=cfg.name in running))
    except BaseException:
        _stop_started(instances, table)
        raise
    fresh = [i for i in instances if not i.already_running]
    if not wait or not fresh:
        return instances
    cancel = threading.Event()
    try:
        with ThreadPoolExecutor(max_workers=len(fresh)) as pool:
            futures = {
                i.config.name: pool.submit(
                    _wait_one, i, table, timeout_vehicle_s, on_progress, cancel
                )
                for i in fresh
            }
            try:
                waited = {name: f.result() for name, f in futures.items()}
            except BaseException:
                cancel.set()  # e.g. Ctrl-C: end the waits now, then undo this call
                raise
        result = [waited.get(i.config.name, i) for i in instances]
        if fly_missions:
            result = [_start_mission(i, table, timeout_vehicle_s) for i in result]
    except BaseException:
        _stop_started(instances, table)
        raise
    return result


def _start_mission(inst: Instance, table: ProcessTable, timeout_vehicle_s: float) -> Instance:
    """Fly the mission of a new, ready intruder; record the outcome with its process."""
    from uav.sitl.intruder import fly_mission

    cfg = inst.config
    if not cfg.mission_items or inst.ready is None or inst.error is not None:
        return inst
    items = len(cfg.mission_items) - 1  # without the home placeholder
    error: UavError | None = None
    try:
        fly_mission(inst.url, cfg, ready_timeout_s=timeout_vehicle_s)
        outcome = MissionRecord(str(cfg.mission), items, started_at=now_utc().isoformat())
    except UavError as exc:
        error = exc
        outcome = MissionRecord(str(cfg.mission), items, error=str(exc))
    record = replace(inst.record, mission=outcome)
    with contextlib.suppress(SitlError):  # stopped meanwhile by `uav sitl down`: nothing to note
        table.update(record)
    return replace(inst, record=record, mission_error=error)


def _stop_started(instances: Sequence[Instance], table: ProcessTable) -> None:
    """Undo a partial ``up``: stop what this call started (not what was running before)."""
    for inst in instances:
        if not inst.already_running and is_alive(inst.record.pid):
            stop_process(inst.record)
        if not inst.already_running:
            table.remove(inst.record)


def _wait_one(
    inst: Instance,
    table: ProcessTable,
    timeout_vehicle_s: float,
    on_progress: ReadyProgress | None,
    cancel: threading.Event,
) -> Instance:
    """Wait for a drone this call started; stop it again if it does not get ready."""
    name = inst.config.name
    try:
        state = wait_ready(
            inst.url,
            speedup=inst.record.speedup,
            timeout_vehicle_s=timeout_vehicle_s,
            is_alive=lambda: not cancel.is_set() and is_alive(inst.record.pid),
            on_progress=(lambda s: on_progress(name, s)) if on_progress else None,
        )
    except UavError as exc:
        stop_process(inst.record)
        table.remove(inst.record)
        return replace(inst, error=exc)
    return replace(inst, ready=state)


def down(
    table: ProcessTable, names: Sequence[str] = (), *, term_timeout_s: float = 10.0
) -> list[tuple[ProcessRecord, str]]:
    """Stop the named simulators (all tracked ones with no names).

    Each outcome is ``stopped``, ``killed``, ``not running``, ``not ours`` (the pid was
    recycled; nothing is signalled) or ``failed: ...`` (the record is then kept).
    """
    records = table.records()
    known = {r.name for r in records}
    unknown = [n for n in names if n not in known]
    if unknown:
        have = ", ".join(sorted(known)) or "none"
        raise NotFound(f"no simulator named {', '.join(unknown)} is tracked (running: {have})")
    chosen = [r for r in records if not names or r.name in names]
    outcomes: list[tuple[ProcessRecord, str]] = []
    for record in chosen:
        try:
            outcome = stop_process(record, term_timeout_s=term_timeout_s)
        except SitlError as exc:
            outcomes.append((record, f"failed: {exc}"))
            continue
        table.remove(record)
        outcomes.append((record, outcome))
    return outcomes


def status(table: ProcessTable) -> list[InstanceStatus]:
    return [
        InstanceStatus(r, owns_pid(r), ports_for(r.instance), connect_url(r.instance))
        for r in table.records()
    ]


def check_registrable(store: Store, configs: Sequence[SitlConfig]) -> None:
    """Refuse, before anything starts, a unit drone whose name a real drone already has."""
    real = {d.name: d for d in store.drones() if d.sim_instance is None}
    for cfg in configs:
        if not cfg.is_intruder and cfg.name in real:
            raise InputError(
                f"{cfg.name} is registered as a real drone ({real[cfg.name].connect_url}); "
                "not replacing it with a simulator (rename the config or `uav fleet remove` it)"
            )


def register(store: Store, inst: Instance) -> Drone:
    """Put a simulated drone in the fleet (or refresh its entry from an earlier ``up``).

    A registered drone of the same name that is not a simulator is never overwritten.
    """
    from uav.store.drones import Drone

    cfg = inst.config
    drone = Drone(
        name=cfg.name,
        connect_url=inst.url,
        sysid=cfg.sysid,
        serial=cfg.serial,
        remote_id=cfg.remote_id,
        sim_instance=cfg.instance,
    )
    try:
        existing = store.drone(cfg.name)
    except NotFound:
        return store.add_drone(drone)
    if existing.sim_instance is None:
        raise InputError(
            f"{cfg.name} is registered as a real drone ({existing.connect_url}); not "
            "overwriting it with the simulator (rename the config or `uav fleet remove` it)"
        )
    return store.update_drone(replace(drone, sign_requested=existing.sign_requested))
