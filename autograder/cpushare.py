"""A fixed CPU share for each student's kernel (Linux cgroups).

Every kernel gets a cgroup of its own under ``rnn-course``: the weight of
one ordinary process and at most ``cpus`` CPUs (a CFS quota). A kernel
that starts many busy threads or processes then slows only itself; the
kernels beside it keep their share. cgroup v1 (the ``cpu`` controller)
and v2 (``cpu.weight``, ``cpu.max``) are both handled. Where neither can
be written (not root, no controller) kernels run without a cgroup and
the status says so.

:func:`kill` empties a group with :func:`kill_listed`, the kill loop that
:func:`autograder.sandbox.stop_all` uses for a kernel's user id as well.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Callable

V1 = Path("/sys/fs/cgroup/cpu")
V2 = Path("/sys/fs/cgroup")
PARENT = "rnn-course"
PERIOD = 100_000            # microseconds


def _write(path: Path, value) -> None:
    with open(path, "w") as fh:
        fh.write(str(value))


def _root() -> tuple[Path, int] | None:
    if (V1 / "cpu.shares").exists():
        return V1, 1
    ctrl = V2 / "cgroup.controllers"
    if ctrl.exists() and "cpu" in ctrl.read_text().split():
        return V2, 2
    return None


def create(name: str, cpus: float = 1.0) -> str | None:
    """A cgroup for one kernel; its path, or None if there can be none."""
    if os.geteuid() != 0:
        return None
    found = _root()
    if found is None:
        return None
    root, version = found
    parent = root / PARENT
    try:
        parent.mkdir(exist_ok=True)
        ncpu = os.cpu_count() or 1
        if version == 1:
            # All kernels together weigh as much as one process per core.
            _write(parent / "cpu.shares", 1024 * ncpu)
        else:
            if "cpu" not in (root / "cgroup.subtree_control").read_text():
                _write(root / "cgroup.subtree_control", "+cpu")
            if "cpu" not in (parent / "cgroup.subtree_control"
                             ).read_text():
                _write(parent / "cgroup.subtree_control", "+cpu")
            _write(parent / "cpu.weight", 100 * ncpu)
        group = parent / name
        group.mkdir(exist_ok=True)
        quota = max(1000, int(cpus * PERIOD))
        if version == 1:
            _write(group / "cpu.shares", 1024)
            _write(group / "cpu.cfs_period_us", PERIOD)
            _write(group / "cpu.cfs_quota_us", quota)
        else:
            _write(group / "cpu.weight", 100)
            _write(group / "cpu.max", f"{quota} {PERIOD}")
        return str(group)
    except OSError:
        return None


def members(group: str) -> list[int]:
    try:
        text = (Path(group) / "cgroup.procs").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def remove(group: str | None) -> None:
    """Kill whatever still runs in ``group`` and delete it."""
    if not group:
        return
    kill(group)
    try:
        os.rmdir(group)
    except OSError:
        pass


def kill(group: str | None) -> None:
    """Kill whatever runs in ``group``; keep the group."""
    if group:
        kill_listed(lambda: members(group), rounds=100, pause=0.02)


def kill_listed(pids_of: Callable[[], list[int]], rounds: int,
                pause: float) -> int:
    """SIGKILL every process that ``pids_of()`` lists, and again after
    ``pause`` seconds while any is listed (a fork may have slipped in),
    at most ``rounds`` times; return the most listed at once."""
    found = 0
    for _ in range(rounds):
        pids = pids_of()
        if not pids:
            break
        found = max(found, len(pids))
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(pause)
    return found
