"""Which simulators uav started: a state file shared by every terminal of the user.

Each record holds the pid, the exact command line and (on Linux) the kernel's start time of
the process, so that ``uav sitl down`` stops exactly what ``uav sitl up`` started, and never a
process that merely reuses a recycled pid.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from uav.sitl.errors import SitlError, SitlTimeout

STATE_FILE = "instances.json"
LOCK_FILE = "instances.lock"
TERM_TIMEOUT_S = 10.0
KILL_TIMEOUT_S = 5.0
POLL_INTERVAL_S = 0.02


@dataclass(frozen=True)
class MissionRecord:
    """What ``up`` did with an intruder's mission (not read live from the vehicle):
    ``items`` without home; ``started_at`` (ISO 8601, UTC) when it was seen running, else
    None with the reason in ``error``."""

    file: str
    items: int
    started_at: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> MissionRecord:
        started, error = d.get("started_at"), d.get("error")
        return cls(
            file=str(d["file"]),
            items=int(d["items"]),
            started_at=None if started is None else str(started),
            error=None if error is None else str(error),
        )


@dataclass(frozen=True)
class ProcessRecord:
    """One simulator process that uav started."""

    name: str
    instance: int
    pid: int
    kind: str  # "ardupilot" | "emulator"
    argv: tuple[str, ...]
    started_at: str  # ISO 8601, UTC
    workdir: str
    log: str
    sysid: int
    speedup: float
    role: str | None = None
    proc_start_ticks: int | None = None  # /proc/<pid>/stat field 22, Linux only
    mission: MissionRecord | None = None  # an intruder's mission, as `up` left it

    def to_json(self) -> dict[str, object]:
        d = asdict(self)
        d["argv"] = list(self.argv)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ProcessRecord:
        ticks = d.get("proc_start_ticks")
        role = d.get("role")
        mission = d.get("mission")
        return cls(
            name=str(d["name"]),
            instance=int(d["instance"]),
            pid=int(d["pid"]),
            kind=str(d["kind"]),
            argv=tuple(str(a) for a in d["argv"]),
            started_at=str(d["started_at"]),
            workdir=str(d["workdir"]),
            log=str(d["log"]),
            sysid=int(d["sysid"]),
            speedup=float(d["speedup"]),
            role=None if role is None else str(role),
            proc_start_ticks=None if ticks is None else int(ticks),
            mission=None if mission is None else MissionRecord.from_json(mission),
        )


def poll_until(
    condition: Callable[[], bool],
    *,
    timeout_s: float,
    what: str,
    interval_s: float = POLL_INTERVAL_S,
) -> None:
    """Return once ``condition()`` holds; raise :class:`SitlTimeout` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    pause = threading.Event()
    while not condition():
        if time.monotonic() >= deadline:
            raise SitlTimeout(f"{what}: not done after {timeout_s:g} s")
        pause.wait(interval_s)


# --- process identity -------------------------------------------------------------------


def proc_start_ticks(pid: int) -> int | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), or None if unknown."""
    stat = _proc_stat(pid)
    if stat is None:
        return None
    # Field 2 (comm) may contain spaces; the fields after it follow the last ')'.
    rest = stat.rsplit(")", 1)[1].split()
    return int(rest[19])  # field 22 overall


def proc_cmdline(pid: int) -> tuple[str, ...] | None:
    """The process's argv as the kernel holds it, or None if it cannot be read."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return _ps_cmdline(pid)
    if not raw:
        return None
    return tuple(part.decode(errors="replace") for part in raw.rstrip(b"\0").split(b"\0"))


def is_alive(pid: int) -> bool:
    """True while ``pid`` runs (zombies count as dead; our own zombie children are reaped)."""
    _reap(pid)
    stat = _proc_stat(pid)
    if stat is not None:
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    if Path("/proc/self").exists():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owns_pid(record: ProcessRecord) -> bool:
    """True when ``record.pid`` is still the process uav started (not a recycled pid).

    The recorded argv must be the tail of the running command line (an interpreter may come
    first, for a script), and the kernel start time must match when it was recorded.
    """
    if not is_alive(record.pid):
        return False
    if (
        record.proc_start_ticks is not None
        and proc_start_ticks(record.pid) != record.proc_start_ticks
    ):
        return False
    cmdline = proc_cmdline(record.pid)
    if cmdline is None:
        return False
    n = len(record.argv)
    return cmdline[-n:] == record.argv if len(cmdline) >= n else False


def stop_process(
    record: ProcessRecord,
    *,
    term_timeout_s: float = TERM_TIMEOUT_S,
    kill_timeout_s: float = KILL_TIMEOUT_S,
) -> str:
    """Stop the process: SIGTERM, then SIGKILL after ``term_timeout_s``.

    Returns what happened: ``"stopped"``, ``"killed"``, ``"not running"`` or ``"not ours"``
    (the pid now belongs to another program, which is left alone).
    """
    if not is_alive(record.pid):
        return "not running"
    if not _signal_if_ours(record, signal.SIGTERM):
        return "not ours" if is_alive(record.pid) else "not running"
    try:
        poll_until(
            lambda: not is_alive(record.pid),
            timeout_s=term_timeout_s,
            what=f"{record.name} (pid {record.pid}) after SIGTERM",
        )
        return "stopped"
    except SitlTimeout:
        pass
    _signal_if_ours(record, signal.SIGKILL)
    poll_until(
        lambda: not is_alive(record.pid),
        timeout_s=kill_timeout_s,
        what=f"{record.name} (pid {record.pid}) after SIGKILL",
    )
    return "killed"


# --- the state file ---------------------------------------------------------------------


class ProcessTable:
    """The records in ``<state_dir>/instances.json``, read and written under a file lock."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.path = state_dir / STATE_FILE

    @contextlib.contextmanager
    def locked(self) -> Iterator[list[ProcessRecord]]:
        """Hold the lock; the yielded list is written back when the block succeeds."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with (self.state_dir / LOCK_FILE).open("ab") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            records = self._read()
            before = list(records)
            yield records
            if records != before:
                self._write(records)

    def records(self) -> list[ProcessRecord]:
        if not self.path.exists():
            return []
        with self.locked() as records:
            return list(records)

    def add(self, record: ProcessRecord) -> None:
        with self.locked() as records:
            if any(r.instance == record.instance for r in records):
                raise SitlError(f"instance {record.instance} is already tracked")
            records.append(record)
            records.sort(key=lambda r: r.instance)

    def update(self, record: ProcessRecord) -> None:
        """Replace the record of the same process (instance and pid); SitlError when it is
        no longer tracked."""
        with self.locked() as records:
            at = [i for i, r in enumerate(records) if _same_process(r, record)]
            if not at:
                raise SitlError(f"{record.name} (pid {record.pid}) is no longer tracked")
            records[at[0]] = record

    def remove(self, record: ProcessRecord) -> None:
        """Forget the record of this process (same instance and pid), whatever else it
        holds now (an :meth:`update` may have added a mission)."""
        with self.locked() as records:
            records[:] = [r for r in records if not _same_process(r, record)]

    def _read(self) -> list[ProcessRecord]:
        if not self.path.exists():
            return []
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return [ProcessRecord.from_json(d) for d in data["instances"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SitlError(f"the simulator state file {self.path} is unreadable: {exc}") from None

    def _write(self, records: list[ProcessRecord]) -> None:
        tmp = self.path.with_suffix(".tmp")
        body = {"version": 1, "instances": [r.to_json() for r in records]}
        tmp.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)


def _same_process(a: ProcessRecord, b: ProcessRecord) -> bool:
    return (a.name, a.instance, a.pid) == (b.name, b.instance, b.pid)


def default_state_dir() -> Path:
    """``$UAV_STATE_DIR``, else ``<user state dir>/uav`` (``~/.local/state/uav`` on Linux)."""
    env = os.environ.get("UAV_STATE_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_state_path

    return user_state_path("uav", appauthor=False)


def sitl_state_dir(state_dir: Path | None = None) -> Path:
    return (state_dir or default_state_dir()) / "sitl"


# --- helpers ------------------------------------------------------------------------------


def _proc_stat(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None


def _ps_cmdline(pid: int) -> tuple[str, ...] | None:
    """Without /proc (macOS): ``ps``'s view, split on spaces (args with spaces won't match)."""
    try:
        out = subprocess.run(
            ["ps", "-p", str(pid), "-o", "command="],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    return tuple(out.split()) if out else None


_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def adopt(proc: subprocess.Popen[bytes]) -> None:
    """Keep a child started by this process, so that it is reaped once it exits."""
    _CHILDREN[proc.pid] = proc


def _reap(pid: int) -> None:
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is not None:
            del _CHILDREN[pid]
        return
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _signal_if_ours(record: ProcessRecord, sig: signal.Signals) -> bool:
    """Send ``sig`` only if the pid is still ours; False (nothing sent) otherwise.

    On Linux the process is pinned with a pidfd before the check, so the signal cannot reach
    a process that took over the pid in between.
    """
    try:
        pidfd = os.pidfd_open(record.pid)
    except (AttributeError, OSError):
        pidfd = None
    try:
        if not owns_pid(record):
            return False
        with contextlib.suppress(ProcessLookupError):
            if pidfd is not None:
                signal.pidfd_send_signal(pidfd, sig)
            else:
                os.kill(record.pid, sig)
        return True
    finally:
        if pidfd is not None:
            os.close(pidfd)
