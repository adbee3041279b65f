"""A pool of app-server processes under the runtime (``Runtime(app_servers=N)``): placement,
blast radius of a crash, hibernation, metrics and rate limits. Real binary, mock model."""

from __future__ import annotations

import os
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import trio

import codex_trio
from codex_trio._errors import ConfigurationError, TransportError
from codex_trio.observe import Metrics
from codex_trio.runtime import NameTaken
from codex_trio.testing import (
    MockModel,
    MockRateLimits,
    MockRateLimitWindow,
    Script,
    hold,
    message,
    response,
)
from tests.fakes import children_of_self, open_fds, pid_alive

pytestmark = pytest.mark.integration

HANG_GUARD = 120


def marker_key(request: Any) -> str | None:
    key: str | None = request.marker(r"\[t:(\w+)\]")
    return key


def thread_options(mock_model: MockModel) -> dict[str, Any]:
    return {"working_directory": str(mock_model.workdir), "skip_git_repo_check": True}


@contextmanager
def no_leaks(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Yields an environment whose TMPDIR is a fresh directory; afterwards no child process,
    no new fd and nothing in that directory (nor in this process's temp dir) is left."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    children, fds = children_of_self(), open_fds()
    saved = tempfile.tempdir
    tempfile.tempdir = str(tmp)
    try:
        yield {"TMPDIR": str(tmp)}
    finally:
        tempfile.tempdir = saved
    assert children_of_self() == children  # every codex reaped: no zombie either
    assert open_fds() == fds
    assert sorted(p.name for p in tmp.iterdir()) == []


def runtime(mock_model: MockModel, env: dict[str, str], **options: Any) -> codex_trio.Runtime:
    return codex_trio.Runtime(transport="app-server", env={**mock_model.env, **env}, **options)


async def test_a_killed_pool_process_fails_only_its_own_turns(
    mock_model: MockModel, tmp_path: Path
) -> None:
    names = ("a", "b", "c")
    mock_model.script = Script.by_key(
        marker_key,
        {n: [message(f"{n}1"), hold(message(f"{n}2")), message(f"{n}3")] for n in names},
    )
    outcomes: dict[str, object] = {}
    with no_leaks(tmp_path) as env, trio.fail_after(HANG_GUARD):
        async with runtime(mock_model, env, app_servers=3) as rt:
            handles = {
                n: await rt.start_thread(name=n, **thread_options(mock_model)) for n in names
            }
            for n, handle in handles.items():
                await handle.run(f"[t:{n}] first")
            placement = {c.name: c.app_server for c in rt.which_children()}
            servers = rt.which_app_servers()
            pids = {s.slot: s.pid for s in servers}
            thread_pids = {c.name: c.pid for c in rt.which_children()}
            victim_slot = placement["b"]
            assert victim_slot is not None
            victim = pids[victim_slot]
            assert victim is not None

            async def second(name: str) -> None:
                try:
                    outcomes[name] = (await handles[name].run("second")).final_response
                except TransportError as exc:
                    outcomes[name] = exc

            async with trio.open_nursery() as nursery:
                for n in names:
                    nursery.start_soon(second, n)
                await mock_model.server.wait_for_held(3)  # a turn in flight on every process
                os.kill(victim, signal.SIGKILL)
                while "b" not in outcomes:
                    await trio.sleep(0.02)
                mock_model.server.release()
            third = {n: (await h.run("third")).final_response for n, h in handles.items()}
            after = {c.name: c.app_server for c in rt.which_children()}
            servers_after = rt.which_app_servers()
        survivors = [p for s, p in pids.items() if s != victim_slot]
    assert sorted(placement.values()) == [0, 1, 2]  # one thread per process
    assert thread_pids == {n: pids[placement[n]] for n in names}
    assert sorted(s.threads_placed for s in servers) == [1, 1, 1]
    assert outcomes["a"] == "a2" and outcomes["c"] == "c2"
    error = outcomes["b"]
    assert isinstance(error, TransportError) and error.signal == signal.SIGKILL
    assert third == {"a": "a3", "b": "b3", "c": "c3"}
    assert after == placement  # sticky: the killed process's thread stays on its restarted slot
    restarts = {s.slot: s.restarts for s in servers_after}
    assert restarts == {0: 0, 1: 0, 2: 0, victim_slot: 1}
    new_pid = {s.slot: s.pid for s in servers_after}[victim_slot]
    assert new_pid is not None and new_pid != victim
    assert not pid_alive(victim) and not any(p is not None and pid_alive(p) for p in survivors)
    resumed = [r for r in mock_model.requests if marker_key(r) == "b"][-1]
    assert "[t:b] first" in resumed.input_texts()  # resumed with its history


async def test_threads_go_to_the_least_loaded_process_and_stay(
    mock_model: MockModel, tmp_path: Path
) -> None:
    mock_model.script = Script.replying(message("ok"))
    with no_leaks(tmp_path) as env, trio.fail_after(HANG_GUARD):
        async with runtime(mock_model, env, app_servers=2) as rt:
            handles = [await rt.start_thread(**thread_options(mock_model)) for _ in range(4)]
            assert {c.app_server for c in rt.which_children()} == {None}  # placed at a turn
            for h in handles:
                await h.run("one")
            first = [c.app_server for c in rt.which_children()]
            for h in reversed(handles):
                await h.run("two")
            second = [c.app_server for c in rt.which_children()]
            await rt.stop_thread(handles[0].name)
            placed = {s.slot: s.threads_placed for s in rt.which_app_servers()}
            loaded = {s.slot: s.threads_loaded for s in rt.which_app_servers()}
    assert first == [0, 1, 0, 1]
    assert second == first
    assert placed == {0: 1, 1: 2} and loaded == {0: 1, 1: 2}  # a stopped thread lets go


async def test_an_idle_process_hibernates_and_the_next_turn_resumes_the_thread(
    mock_model: MockModel, tmp_path: Path
) -> None:
    mock_model.script = [message("before"), message("after")]
    metrics = Metrics()
    metrics.attach()
    try:
        with no_leaks(tmp_path) as env, trio.fail_after(HANG_GUARD):
            async with runtime(mock_model, env, idle_timeout=0.5) as rt:
                handle = await rt.start_thread(**thread_options(mock_model))
                await handle.run("remember the word PELICAN")
                [awake] = rt.which_app_servers()
                assert awake.pid is not None
                while rt.which_app_servers()[0].state != "hibernating":
                    await trio.sleep(0.05)
                [asleep] = rt.which_app_servers()
                gone = not pid_alive(awake.pid)
                [child] = rt.which_children()
                result = await handle.run("what was the word?")
                [woken] = rt.which_app_servers()
            figures = metrics.snapshot()
    finally:
        metrics.detach()
    assert gone and asleep.pid is None and asleep.threads_loaded == 0
    assert asleep.hibernations == 1 and asleep.restarts == 0
    assert child.app_server is None  # no longer placed: its process is gone
    assert result.final_response == "after" and result.thread_id == handle.id
    assert woken.pid is not None and woken.pid != awake.pid
    last = mock_model.requests[-1]
    assert last.last_user_text() == "what was the word?"
    assert "remember the word PELICAN" in last.input_texts()  # the history came back
    assert figures['codex_app_server_recycles_total{reason="idle",slot="0"}'] == 1


async def test_min_app_servers_keeps_a_floor_awake(mock_model: MockModel, tmp_path: Path) -> None:
    mock_model.script = Script.replying(message("ok"))
    with no_leaks(tmp_path) as env, trio.fail_after(HANG_GUARD):
        async with runtime(
            mock_model, env, app_servers=2, idle_timeout=0.3, min_app_servers=1
        ) as rt:
            handles = [await rt.start_thread(**thread_options(mock_model)) for _ in range(2)]
            for h in handles:
                await h.run("go")
            while sorted(s.state for s in rt.which_app_servers()) != ["hibernating", "running"]:
                await trio.sleep(0.05)
            await trio.sleep(0.6)  # past the timeout again: the floor still holds one
            states = sorted(s.state for s in rt.which_app_servers())
    assert states == ["hibernating", "running"]


async def test_pool_metrics_per_slot_and_rate_limits(mock_model: MockModel, tmp_path: Path) -> None:
    limits = MockRateLimits(primary=MockRateLimitWindow(used_percent=42, window_minutes=300))
    mock_model.script = Script.replying(response(message("ok"), rate_limits=limits))
    metrics = Metrics()
    metrics.attach()
    try:
        with no_leaks(tmp_path) as env, trio.fail_after(HANG_GUARD):
            rt = runtime(mock_model, env, app_servers=2)
            assert rt.latest_rate_limits is None
            assert rt._pool is not None
            rt._pool.sample_interval = 0.05
            async with rt:
                handles = [await rt.start_thread(**thread_options(mock_model)) for _ in range(3)]
                for h in handles:
                    await h.run("go")
                latest = rt.latest_rate_limits
                servers = rt.which_app_servers()
                while (
                    metrics.snapshot().get('codex_app_server_threads_loaded{slot="1"}') != 1
                    or metrics.snapshot().get('codex_app_server_threads_loaded{slot="0"}') != 2
                ):
                    await trio.sleep(0.05)
                figures = metrics.snapshot()
    finally:
        metrics.detach()
    assert latest is not None and latest.primary is not None
    assert latest.primary.used_percent == 42
    rss = {s.slot: s.rss for s in servers}
    assert all(r is not None and r > 10_000_000 for r in rss.values())
    assert figures['codex_app_server_threads_placed{slot="0"}'] == 2
    assert figures['codex_app_server_rss_bytes{slot="0"}'] > 10_000_000
    assert figures["codex_app_server_up"] == 1
    assert not any("pid" in key for key in figures)


def test_process_settings_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="transport='app-server'"):
        codex_trio.Runtime(app_servers=2)
    with pytest.raises(ConfigurationError, match="transport='app-server'"):
        codex_trio.Runtime(idle_timeout=5)
    with pytest.raises(ConfigurationError, match="app_servers"):
        codex_trio.Runtime(transport="app-server", app_servers=0)
    with pytest.raises(ConfigurationError, match="min_app_servers"):
        codex_trio.Runtime(transport="app-server", app_servers=2, min_app_servers=3)
    with pytest.raises(ConfigurationError, match="idle_timeout"):
        codex_trio.Runtime(transport="app-server", idle_timeout=0)
    with pytest.raises(ConfigurationError, match="max_threads_per_app_server"):
        codex_trio.Runtime(transport="app-server", max_threads_per_app_server=0)
    with pytest.raises(ConfigurationError, match="remote"):
        codex_trio.Runtime(
            transport="app-server", url="ws://127.0.0.1:1", max_app_server_rss=1 << 30
        )


async def test_a_process_past_max_rss_is_replaced_and_its_thread_resumes(
    mock_model: MockModel, tmp_path: Path
) -> None:
    mock_model.script = [message("one"), message("two")]
    metrics = Metrics()
    metrics.attach()
    try:
        with no_leaks(tmp_path) as env, trio.fail_after(HANG_GUARD):
            # Any app-server is past 50 MB (~100 MB after initialize): every turn recycles it.
            async with runtime(mock_model, env, max_app_server_rss=50_000_000) as rt:
                [before] = rt.which_app_servers()
                handle = await rt.start_thread(**thread_options(mock_model))
                await handle.run("remember the word OWL")
                # A single process has no sibling: the next turn waits for its replacement.
                result = await handle.run("which word?")
                [after] = rt.which_app_servers()
            figures = metrics.snapshot()
    finally:
        metrics.detach()
    assert before.pid is not None and before.rss is not None and before.rss > 50_000_000
    assert result.final_response == "two" and result.thread_id == handle.id
    assert after.recycles >= 1 and after.restarts == 0
    assert after.pid != before.pid
    assert not pid_alive(before.pid)
    assert "remember the word OWL" in mock_model.requests[-1].input_texts()
    assert figures['codex_app_server_recycles_total{reason="rss",slot="0"}'] >= 1


async def test_retry_policy_retries_a_turn_cut_by_its_pool_process_death(
    mock_model: MockModel, tmp_path: Path
) -> None:
    mock_model.script = [message("first"), hold(message("never")), message("retried")]
    retry = codex_trio.RetryPolicy(initial_backoff=0.05, jitter=0)
    with no_leaks(tmp_path) as env, trio.fail_after(HANG_GUARD):
        async with runtime(mock_model, env, app_servers=2, retry=retry) as rt:
            handle = await rt.start_thread(**thread_options(mock_model))
            await handle.run("one")
            [info] = rt.which_children()
            assert info.app_server is not None
            pid = rt.which_app_servers()[info.app_server].pid
            assert pid is not None

            async def kill_when_held() -> None:
                await mock_model.server.wait_for_held(1)
                os.kill(pid, signal.SIGKILL)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(kill_when_held)
                result = await handle.run("two")
            [after] = rt.which_children()
    assert result.final_response == "retried"
    assert after.app_server == info.app_server and after.restart_count == 0


async def test_requests_outside_turns_get_a_pool_process(
    mock_model: MockModel, tmp_path: Path
) -> None:
    mock_model.script = [message("ok")]
    with no_leaks(tmp_path) as env, trio.fail_after(HANG_GUARD):
        async with runtime(mock_model, env, app_servers=2, idle_timeout=0.3) as rt:
            pool = rt._pool
            assert pool is not None
            handle = await rt.start_thread(**thread_options(mock_model))
            await handle.run("hi")
            while any(s.state != "hibernating" for s in rt.which_app_servers()):
                await trio.sleep(0.05)
            async with pool.session() as client:  # wakes one
                loaded = await client.loaded_threads()
                awake = [s.state for s in rt.which_app_servers()].count("running")
    assert loaded == [] and awake == 1


async def test_a_refused_name_leaves_no_process_slot_behind(mock_model: MockModel) -> None:
    with trio.fail_after(HANG_GUARD):
        async with codex_trio.Runtime(
            transport="app-server", app_servers="per-thread", env=mock_model.env
        ) as rt:
            await rt.start_thread(name="taken", **thread_options(mock_model))
            with pytest.raises(NameTaken):
                await rt.start_thread(name="taken", **thread_options(mock_model))
            servers = rt.which_app_servers()
    assert [(s.thread, s.state) for s in servers] == [("taken", "hibernating")]


async def test_a_pool_of_connections_to_a_remote_app_server(
    mock_model: MockModel, tmp_path: Path
) -> None:
    from tests.remote_server import remote_app_server

    mock_model.script = Script.replying(message("ok"))
    with trio.fail_after(HANG_GUARD):
        async with remote_app_server(mock_model, tmp_path) as server:
            async with codex_trio.Runtime(
                transport="app-server", url=server.url, app_servers=2, idle_timeout=0.3
            ) as rt:
                handles = [await rt.start_thread(**thread_options(mock_model)) for _ in range(2)]
                first = [(await h.run("one")).final_response for h in handles]
                placed = sorted(c.app_server for c in rt.which_children())
                while any(s.state != "hibernating" for s in rt.which_app_servers()):
                    await trio.sleep(0.05)  # both connections closed
                again = [(await h.run("two")).final_response for h in handles]
                servers = rt.which_app_servers()
    assert first == again == ["ok", "ok"]
    assert placed == [0, 1]
    assert all(s.pid is None and s.rss is None and s.hibernations == 1 for s in servers)
