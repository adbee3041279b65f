"""Issue 8.16: codex dies with its Python parent. A parent killed by SIGKILL cannot stop its
children; on Linux they are spawned with PR_SET_PDEATHSIG, so the kernel kills them at once
instead of leaving them to run until they next write to a dead pipe (exec) or notice their
stdin closed (app-server). Real binary, mock model, both transports.

The test process makes itself a child subreaper for the test, so the orphaned codex is
re-parented to it and its exit status can be read: it must be SIGKILL, the death signal, which
tells the mechanism apart from codex exiting on its own, without timing it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import trio

from codex_trio.testing import MockModel, hold, message
from tests.fakes import children_of, children_of_self

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG")

PR_SET_CHILD_SUBREAPER = 36
HANG_GUARD = 30  # generous: only reached when codex outlives its parent (the old behaviour)

# A user's program: one turn that waits on the (held) model. The test kills it with SIGKILL.
PARENT = textwrap.dedent(
    """
    import sys
    import trio
    from codex_trio import Codex

    async def main() -> None:
        transport, workdir = sys.argv[1], sys.argv[2]
        async with Codex(transport=transport) as codex:
            thread = codex.start_thread(skip_git_repo_check=True, working_directory=workdir)
            await thread.run("hold on", timeout=120)

    trio.run(main)
    """
)


@contextmanager
def child_subreaper() -> Iterator[None]:
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    if prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        pytest.skip(f"PR_SET_CHILD_SUBREAPER failed: errno {ctypes.get_errno()}")
    before = set(children_of_self())
    try:
        yield
    finally:
        prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
        # Whatever was re-parented to us meanwhile (codex's own children, such as the `git` it
        # runs, orphaned when codex died) stays our child: kill and reap it here, or it turns
        # into a zombie child of the test process that later tests would count as leaked.
        for pid in set(children_of_self()) - before:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


def try_reap(pid: int, *, block: bool = False) -> int | None:
    """The wait status of ``pid`` (an orphan re-parented to us) if it has exited, else None."""
    reaped, status = os.waitpid(pid, 0 if block else os.WNOHANG)
    return status if reaped == pid else None


async def reap(pid: int) -> int | None:
    """The wait status of ``pid`` once it exits, or None after HANG_GUARD."""
    with trio.move_on_after(HANG_GUARD):
        while (status := try_reap(pid)) is None:
            await trio.sleep(0.05)
        return status
    return None


@pytest.mark.parametrize("transport", ["exec", "app-server"])
async def test_codex_dies_with_a_parent_killed_by_sigkill(
    mock_model: MockModel, tmp_path: Path, transport: str
) -> None:
    mock_model.script = [hold(message("never sent"))]
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    statuses: dict[int, int | None] = {}
    with child_subreaper():
        parent = await trio.lowlevel.open_process(
            [sys.executable, str(script), transport, str(mock_model.workdir)],
            env=mock_model.env,
            stdin=subprocess.DEVNULL,
        )
        codex_pids: list[int] = []
        try:
            with trio.fail_after(60):  # hang guard: codex is in the turn, waiting on the model
                await mock_model.server.wait_for_held(1)
            codex_pids = children_of(parent.pid)
            assert codex_pids, "the parent should be running codex"
            parent.send_signal(signal.SIGKILL)
            await parent.wait()
            for pid in codex_pids:
                statuses[pid] = await reap(pid)
        finally:
            for pid in codex_pids:  # leave nothing behind when codex outlived its parent
                if statuses.get(pid) is None:
                    try:
                        os.kill(pid, signal.SIGKILL)
                        try_reap(pid, block=True)
                    except (ProcessLookupError, ChildProcessError):
                        pass
            if parent.returncode is None:
                parent.send_signal(signal.SIGKILL)
                await parent.wait()
    assert None not in statuses.values(), f"codex outlived its parent by {HANG_GUARD} s"
    for status in statuses.values():
        assert status is not None
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (
            f"codex was not killed by the death signal: wait status {status:#x}"
        )
