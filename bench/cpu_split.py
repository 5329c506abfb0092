"""CPU seconds per group of processes over a window, with psutil.

A group is named by the process ids at its root (a hub, nginx's master, PostgreSQL's
postmaster, moto's server, the Locust process); each sample also counts their descendants
(nginx's workers, PostgreSQL's backends), so that a process started inside the window counts
all of its CPU. A process that ended inside the window counts through its parent's
``children_*`` times once the parent reaped it (a PostgreSQL backend of a closed connection, a
runner's job process and the kernel that process reaped), which is why a group's figure is its
total at the end minus its total at the start. ``machine`` is the busy time of every core over the window
(user, system, nice, irq, softirq, steal), so ``machine`` minus the groups is everything
else on the machine: outside work, and this benchmark's own process.

>>> split = CpuSplit({"hubs": [pid1, pid2], "nginx": [pid3]})   # doctest: +SKIP
>>> start = split.sample(); ...; split.delta(start, split.sample())
{'hubs': 12.3, 'nginx': 1.2, 'other': 4.0, 'machine': 17.5, 'seconds': 20.0}
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import psutil

# Per process: (pid, create time) -> user + system CPU seconds.
_Counts = dict[tuple[int, float], float]


@dataclass
class Sample:
    at: float
    groups: dict[str, _Counts] = field(default_factory=dict)
    busy: float = 0.0


def _tree(pids: list[int]) -> _Counts:
    counts: _Counts = {}
    for pid in pids:
        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            continue
        for p in procs:
            try:
                with p.oneshot():
                    t = p.cpu_times()
                    counts[(p.pid, p.create_time())] = t.user + t.system + t.children_user + t.children_system
            except psutil.Error:
                continue
    return counts


def _busy() -> float:
    t = psutil.cpu_times()
    # guest time is already counted in user time on Linux
    idle = t.idle + sum(getattr(t, name, 0.0) for name in ("iowait", "guest", "guest_nice"))
    return sum(t) - idle


class CpuSplit:
    """``sample()`` at the start and end of a window, then ``delta(start, end)``."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = groups

    def sample(self) -> Sample:
        return Sample(time.monotonic(), {name: _tree(pids) for name, pids in self.groups.items()}, _busy())

    @staticmethod
    def delta(start: Sample, end: Sample) -> dict[str, float]:
        """CPU seconds per group, ``other`` and ``machine`` over the window, and its ``seconds``."""
        out: dict[str, float] = {}
        for name, counts in end.groups.items():
            before = start.groups.get(name, {})
            out[name] = round(max(sum(counts.values()) - sum(before.values()), 0.0), 2)
        machine = end.busy - start.busy
        out["other"] = round(max(machine - sum(out.values()), 0.0), 2)
        out["machine"] = round(machine, 2)
        out["seconds"] = round(end.at - start.at, 2)
        return out
