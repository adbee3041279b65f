"""A daemon's shutdown by signal, in a child process (a signal test must not hit pytest itself)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import trio

DAEMON = textwrap.dedent(
    """
    import sys, tempfile, trio, trio.testing
    from pathlib import Path
    import codex_trio
    from codex_trio.testing import MockResponsesServer, hold, message, write_codex_home

    async def main():
        with tempfile.TemporaryDirectory() as tmp:
            async with MockResponsesServer([hold(message("finished in the drain"))]) as server:
                home = write_codex_home(Path(tmp) / "home", base_url=server.base_url)
                async with codex_trio.Runtime(env=home.environ(), drain_timeout=60) as runtime:
                    handle = await runtime.start_thread(
                        working_directory=tmp, skip_git_repo_check=True
                    )
                    results = []

                    async def turn():
                        results.append((await handle.run("work", timeout=60)).final_response)

                    got = trio.Event()

                    async def watch():
                        signum = await runtime.wait_for_shutdown_signal()
                        print("signal", signum, flush=True)
                        got.set()

                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(turn)
                        nursery.start_soon(watch)
                        await server.wait_for_held(1)
                        await trio.testing.wait_all_tasks_blocked()  # the receiver is installed
                        print("held", flush=True)
                        await got.wait()
                        # Stay in the drain a while: a second signal arrives meanwhile.
                        await trio.sleep(1.0)
                        server.release()
                print("turn:", results, flush=True)
        print("clean exit", flush=True)

    trio.run(main)
    """
)


async def test_a_second_sigterm_during_the_drain_is_absorbed() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = await trio.lowlevel.open_process(
        [sys.executable, "-c", DAEMON], stdout=subprocess.PIPE, env=env
    )
    assert proc.stdout is not None
    out = b""
    try:
        with trio.fail_after(120):
            while b"held" not in out:
                chunk = await proc.stdout.receive_some(4096)
                assert chunk, out.decode()
                out += chunk
            proc.send_signal(signal.SIGTERM)
            while b"signal" not in out:
                chunk = await proc.stdout.receive_some(4096)
                assert chunk, out.decode()
                out += chunk
            proc.send_signal(signal.SIGTERM)
            while chunk := await proc.stdout.receive_some(4096):
                out += chunk
            code = await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await proc.stdout.aclose()
    assert code == 0, out.decode()
    assert b"turn: ['finished in the drain']" in out and b"clean exit" in out
