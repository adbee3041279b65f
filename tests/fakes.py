"""Fake `codex` executables for fault injection (crash, garbage, hang). Never the only proof of a
feature: every behaviour tested with these is also exercised with the real binary."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path


def fake_codex(directory: Path, body: str, name: str = "codex") -> str:
    """Write an executable Python script that answers ``--version`` like codex 0.163.0 and
    otherwise runs ``body`` (with ``sys``, ``os``, ``time``, ``signal``, ``json`` imported)."""
    path = directory / name
    path.write_text(
        f"#!{sys.executable}\n"
        "import json, os, signal, sys, time\n"
        "if sys.argv[1:] == ['--version']:\n"
        "    print('codex-cli 0.163.0'); sys.exit(0)\n" + textwrap.dedent(body)
    )
    path.chmod(0o755)
    return str(path)


def pid_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def children_of_self() -> list[int]:
    """Pids whose parent is this process (zombies included)."""
    me = os.getpid()
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
        if ppid == me:
            out.append(int(entry))
    return out


def children_of(parent: int) -> list[int]:
    """Live (not zombie) pids whose parent is ``parent``."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == parent and fields[0] != "Z":
            out.append(int(entry))
    return out


# Bodies of fake JSON-RPC servers (for fake_codex): out(obj) writes one message, read() reads one
# (exiting at EOF); APP_SERVER_PRELUDE also answers initialize and reads initialized.
JSONRPC_HELPERS = """
def out(obj):
    sys.stdout.write(json.dumps(obj) + "\\n"); sys.stdout.flush()
def read():
    line = sys.stdin.readline()
    if not line:
        sys.exit(0)
    return json.loads(line)
"""
APP_SERVER_PRELUDE = (
    JSONRPC_HELPERS
    + """init = read()
out({"id": init["id"], "result": {"userAgent": "fake", "codexHome": "/tmp", "platformFamily": "unix", "platformOs": "linux"}})
read()  # initialized
"""
)
