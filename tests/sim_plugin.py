"""pytest plugin: simulated vehicles for tests (registered from tests/conftest.py).

Options:
  ``--sim=emulator|ardupilot``  which simulator ``vehicles`` starts. Default: ``ardupilot``
                                when a SITL binary is found (``$ARDUPILOT_SITL`` or
                                ``arducopter`` on PATH), else ``emulator``.
  ``--sim-speedup=N``           the vehicles' speed-up (default 10).

Fixtures:
  ``sim_kind``       the :class:`~uav.sitl.binary.SimKind` in use (session).
  ``free_instance``  an instance number whose three ports (5760/5762/5763 + 10N) are free,
                     held (lock file) for the test so parallel runs never share it.
  ``vehicles``       a factory: ``vehicles(n, *, speedup=None, home=..., params=(),
                     ready=False) -> list[SimVehicle]`` starts N vehicles on free instances
                     (the emulator in-process, or ArduPilot SITL processes through
                     ``uav.sitl``) and, at teardown, disarms and stops every one of them.

Tests that use ``vehicles`` should carry the ``sitl`` marker. Real-SITL runs skip with a
reason when there is no binary or no ``copter.parm`` (``$ARDUPILOT_HOME``); emulator runs
skip with a reason while ``uav.sim`` is not importable.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from uav.errors import UavError
from uav.sitl.binary import SimKind, find_binary, find_copter_defaults
from uav.sitl.config import Home, SitlConfig
from uav.sitl.ports import connect_url, ports_for, reserve_instances
from uav.sitl.ready import force_disarm, wait_ready

DEFAULT_HOME = Home(23.1291, 113.3240, 20.0, 0.0)  # the recorded traces' home (TH-01)
DEFAULT_SPEEDUP = 10.0


@dataclass
class SimVehicle:
    """One started vehicle. ``url`` is SERIAL0, the GCS link."""

    kind: SimKind
    instance: int
    sysid: int
    speedup: float
    home: Home
    stopper: Callable[[], None] = field(repr=False)
    stopped: bool = False

    def stop(self) -> None:
        """Stop the vehicle now (teardown then leaves it alone)."""
        if not self.stopped:
            self.stopped = True
            self.stopper()

    @property
    def url(self) -> str:
        return connect_url(self.instance)

    @property
    def ports(self) -> tuple[int, int, int]:
        return ports_for(self.instance)

    def link_url(self, serial: int) -> str:
        """The URL of SERIAL0, 1 or 2."""
        return connect_url(self.instance, serial)


VehicleFactory = Callable[..., list[SimVehicle]]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sim", "simulated vehicles (uav.sitl / uav.sim)")
    group.addoption(
        "--sim",
        choices=[k.value for k in SimKind],
        default=None,
        help="simulator for the `vehicles` fixture (default: ardupilot when a SITL binary "
        "is found, else emulator)",
    )
    group.addoption(
        "--sim-speedup",
        type=float,
        default=DEFAULT_SPEEDUP,
        help=f"speed-up of simulated vehicles (default {DEFAULT_SPEEDUP:g})",
    )


@pytest.fixture(scope="session")
def sim_kind(pytestconfig: pytest.Config) -> SimKind:
    chosen = pytestconfig.getoption("--sim")
    if chosen:
        return SimKind(chosen)
    return SimKind.ARDUPILOT if find_binary() is not None else SimKind.EMULATOR


@pytest.fixture
def free_instance() -> Iterator[int]:
    with reserve_instances(1) as reservation:
        yield reservation.instances[0]


@pytest.fixture
def vehicles(
    sim_kind: SimKind, pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[VehicleFactory]:
    started: list[SimVehicle] = []
    reservations: list[Any] = []
    default_speedup = float(pytestconfig.getoption("--sim-speedup"))

    def start(
        n: int = 1,
        *,
        speedup: float | None = None,
        home: Home = DEFAULT_HOME,
        params: Sequence[Path] = (),
        ready: bool = False,
    ) -> list[SimVehicle]:
        rate = speedup or default_speedup
        starter = (
            _emulator_starter()
            if sim_kind == SimKind.EMULATOR
            else _sitl_starter(tmp_path_factory.mktemp("sitl"))
        )
        reservation = reserve_instances(n)
        reservations.append(reservation)
        batch = [
            starter(instance, i + 1, rate, home, tuple(params))
            for i, instance in enumerate(reservation.instances)
        ]
        started.extend(batch)
        if ready:
            _wait_all_ready(batch)
        return batch

    try:
        yield start
    finally:
        _teardown(started)
        for r in reservations:
            r.release()


Starter = Callable[[int, int, float, Home, tuple[Path, ...]], SimVehicle]


def _emulator_starter() -> Starter:
    try:
        emulated_vehicle = importlib.import_module("uav.sim").EmulatedVehicle
    except (ImportError, AttributeError) as exc:
        pytest.skip(f"--sim=emulator: uav.sim.EmulatedVehicle is not importable yet ({exc})")

    def start(
        instance: int, sysid: int, speedup: float, home: Home, params: tuple[Path, ...]
    ) -> SimVehicle:
        vehicle = emulated_vehicle(
            instance,
            home=home.as_arg(),  # "LAT,LON,ALT,HDG", as on the command line
            speedup=speedup,
            defaults=[str(p) for p in params],
            sysid=sysid,
        )
        vehicle.start()
        return SimVehicle(SimKind.EMULATOR, instance, sysid, speedup, home, vehicle.stop)

    return start


def _sitl_starter(workdir: Path) -> Starter:
    from uav.sitl import launch
    from uav.sitl.tracking import ProcessTable, stop_process

    binary = find_binary()
    if binary is None:
        pytest.skip("--sim=ardupilot: no SITL binary ($ARDUPILOT_SITL or arducopter on PATH)")
    try:
        copter_parm = find_copter_defaults(None)
    except UavError as exc:
        pytest.skip(f"--sim=ardupilot: {exc}")
    launcher = launch.Launcher(SimKind.ARDUPILOT, binary, copter_parm)
    table = ProcessTable(workdir / "state")

    def start(
        instance: int, sysid: int, speedup: float, home: Home, params: tuple[Path, ...]
    ) -> SimVehicle:
        sysid_parm = workdir / f"sysid-{sysid}.parm"
        sysid_parm.write_text(f"MAV_SYSID {sysid}\n")
        cfg = SitlConfig(
            name=f"test-I{instance}",
            vehicle="copter",
            model="+",
            home=home,
            instance=instance,
            speedup=speedup,
            sysid=sysid,
            params=(*params, sysid_parm),
        )
        record = launch.start(cfg, launcher, table, workdir / "work", wipe=True)

        def stop() -> None:
            stop_process(record)
            table.remove(record)

        return SimVehicle(SimKind.ARDUPILOT, instance, sysid, speedup, home, stop)

    return start


def _wait_all_ready(batch: Sequence[SimVehicle]) -> None:
    with ThreadPoolExecutor(max_workers=len(batch)) as pool:
        futures = [pool.submit(wait_ready, v.url, speedup=v.speedup) for v in batch]
        for f in futures:
            f.result()


def _teardown(started: Sequence[SimVehicle]) -> None:
    """Disarm (best effort, bounded) then stop every vehicle; a failed stop fails the test."""
    failures: list[str] = []
    for v in reversed(started):
        if v.stopped:
            continue
        try:
            _disarm(v)
        except UavError as exc:
            warnings.warn(
                f"vehicle on instance {v.instance} not confirmed disarmed: {exc}", stacklevel=1
            )
        try:
            v.stop()
        except Exception as exc:
            failures.append(f"instance {v.instance}: {exc!r}")
    if failures:
        pytest.fail("simulated vehicles not stopped: " + "; ".join(failures))


def _disarm(v: SimVehicle) -> None:
    """SERIAL0 first (unsigned commands are always accepted there), then SERIAL2."""
    try:
        force_disarm(v.url, timeout_s=5.0)
    except UavError:
        force_disarm(v.link_url(2), timeout_s=5.0)
