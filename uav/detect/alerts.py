"""``--on-alert CMD``: run a command for each new high-severity incident.

The command line is split like a shell would (``shlex.split``) but run without one; the
incident's JSON (``Incident.to_json()``) arrives on its standard input. Commands run one at
a time on a worker thread so ingest never waits for them; each is bounded by ``timeout_s``
(killed beyond it). A failure (cannot start, non-zero exit, timeout) is reported through
``report`` and never stops listening.
"""

from __future__ import annotations

import contextlib
import json
import queue
import shlex
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass

from uav.detect.model import Incident
from uav.errors import InputError

ALERT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class AlertOutcome:
    incident_id: str
    ok: bool
    detail: str  # "exit 0", "exit 3: <stderr tail>", "timed out after 10 s", "cannot run: ..."


def parse_command(cmd: str) -> list[str]:
    try:
        argv = shlex.split(cmd)
    except ValueError as exc:
        raise InputError(f"--on-alert {cmd!r}: {exc}") from None
    if not argv:
        raise InputError("--on-alert: the command is empty")
    return argv


def run_alert(argv: list[str], incident: Incident, timeout_s: float) -> AlertOutcome:
    """Run ``argv`` once with the incident's JSON on stdin."""
    doc = json.dumps(incident.to_json(), sort_keys=True) + "\n"
    try:
        proc = subprocess.run(
            argv, input=doc.encode(), capture_output=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        return AlertOutcome(incident.incident_id, False, f"timed out after {timeout_s:g} s")
    except OSError as exc:
        return AlertOutcome(incident.incident_id, False, f"cannot run {argv[0]!r}: {exc}")
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip()[-200:]
        return AlertOutcome(incident.incident_id, False, f"exit {proc.returncode}: {tail}")
    return AlertOutcome(incident.incident_id, True, "exit 0")


class AlertRunner:
    """Runs the alert command for incidents handed to :meth:`submit`, in order."""

    def __init__(
        self,
        cmd: str,
        report: Callable[[AlertOutcome], None],
        *,
        timeout_s: float = ALERT_TIMEOUT_S,
    ) -> None:
        self.argv = parse_command(cmd)
        self.report = report
        self.timeout_s = timeout_s
        self.sent = 0
        self.failed = 0
        self._queue: queue.Queue[Incident | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="on-alert", daemon=True)
        self._thread.start()

    def submit(self, incident: Incident) -> None:
        self._queue.put(incident)

    def _run(self) -> None:
        while True:
            incident = self._queue.get()
            if incident is None:
                return
            outcome = run_alert(self.argv, incident, self.timeout_s)
            self.sent += 1
            self.failed += 0 if outcome.ok else 1
            with contextlib.suppress(Exception):  # a broken reporter must not stop alerts
                self.report(outcome)

    def close(self, wait_s: float | None = None) -> bool:
        """Finish the queued alerts (bounded: each by its timeout, all by ``wait_s``);
        True when all ran."""
        self._queue.put(None)
        pending = self._queue.qsize()
        bound = wait_s if wait_s is not None else (pending + 1) * (self.timeout_s + 1.0)
        self._thread.join(timeout=bound)
        return not self._thread.is_alive()
