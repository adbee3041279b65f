"""``codex-trio cluster-demo`` as a user runs it: a subprocess, real codex, the mock model, a real
redis-server and two real worker processes."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
import trio

from codex_trio.cluster._demo import run_cluster_demo
from tests.fakes import children_of_self

pytestmark = pytest.mark.timeout(240)

HANG_GUARD = 180  # seconds; a guard against a hang, not a timing assertion


def _processes_mentioning(text: str) -> list[int]:
    """Live pids whose command line or environment holds ``text``."""
    found = []
    needle = text.encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        for part in ("cmdline", "environ"):
            try:
                data = Path(f"/proc/{entry}/{part}").read_bytes()
            except OSError:
                continue
            if needle in data:
                found.append(int(entry))
                break
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


async def test_cluster_demo_kills_a_worker_and_the_other_finishes_the_turn_once(
    tmp_path: Path, redis_binary: str
) -> None:
    scratch = tmp_path / "tmp"  # the demo's temporary directory goes in here
    scratch.mkdir()
    env = {
        **os.environ,
        "TMPDIR": str(scratch),
        "CODEX_TRIO_REDIS_SERVER": redis_binary,
        "PYTHONUNBUFFERED": "1",
    }
    with trio.fail_after(HANG_GUARD):
        done = await trio.run_process(
            [sys.executable, "-m", "codex_trio.cli", "cluster-demo"],
            env=env,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    out = done.stdout.decode()
    assert done.returncode == 0, out + done.stderr.decode()[-4000:]
    took = re.search(r"^\[worker (\w)\] took the turn", out, re.M)
    assert took, out
    victim = took[1]
    other = "B" if victim == "A" else "A"
    assert f"[demo] kill -9 worker {victim}" in out
    assert f"[worker {victim}] gone (exit -9)" in out
    assert f"[worker {other}] reclaimed the turn (XAUTOCLAIM)" in out
    assert "event: TurnRestarted(attempt=2)" in out
    assert "[client] result: 'Ticket 7: the login page times out under load.'" in out
    assert f"committed by worker {other}, 1 turn(s)" in out
    assert "the killed turn's prompt 1 time(s), its answer 1 time(s)" in out
    assert "the killed run's answer 0 time(s)" in out
    assert f"[worker {other}] stopped (exit 0)" in out
    assert out.rstrip().endswith("cluster-demo finished")
    # Nothing left behind: no child (workers, their codex, redis-server), no temporary file.
    pids = {int(p) for p in re.findall(r"\bpid (\d+)", out)}
    assert len(pids) == 3  # redis-server and the two workers
    assert not [pid for pid in pids if _alive(pid)]
    assert not _processes_mentioning(str(scratch))
    assert list(scratch.iterdir()) == []


async def test_cluster_demo_in_process_leaves_no_child_fd_or_temporary_file(
    tmp_path: Path,
    redis_binary: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CODEX_TRIO_REDIS_SERVER", redis_binary)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    children = set(children_of_self())
    fds = set(os.listdir("/proc/self/fd"))
    with trio.fail_after(HANG_GUARD):
        assert await run_cluster_demo() == 0
    assert capsys.readouterr().out.rstrip().endswith("cluster-demo finished")
    assert set(children_of_self()) <= children
    assert set(os.listdir("/proc/self/fd")) <= fds
    assert list(tmp_path.iterdir()) == []
