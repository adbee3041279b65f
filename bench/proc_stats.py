"""Process figures read from ``/proc`` for the benchmarks (Linux): a process's descendants and
their CPU. Nothing of codex-trio is imported, so a baseline's process can use it as it is."""

from __future__ import annotations

import os


def descendants(exclude: frozenset[int] | set[int] = frozenset()) -> list[int]:
    """Pids of every process below this one, minus the trees rooted at ``exclude``."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    out: list[int] = []
    todo = [p for p in children.get(os.getpid(), []) if p not in exclude]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += [p for p in children.get(pid, []) if p not in exclude]
    return out


def proc_cpu(pid: int) -> float:
    """utime + stime + cutime + cstime of ``pid``, in seconds (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")
