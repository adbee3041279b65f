"""Recycling bounds the engine's memory: 500 threads through a pool whose processes are replaced
after 100 threads each (``max_threads_per_app_server``). Real binary, mock model."""

from __future__ import annotations

import pytest
import trio

import codex_trio
from codex_trio.testing import MockModel, Script, message
from tests.fakes import children_of_self, open_fds

# 1,000 turns and ten process starts: 75 s measured on a 2-core machine shared with other work;
# the suite's 300 s hang guard is raised for it.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

THREADS = 500
PER_PROCESS = 100
CONCURRENT = 16
HANG_GUARD = 600


async def test_recycling_keeps_engine_memory_bounded_over_500_threads(
    mock_model: MockModel,
) -> None:
    mock_model.script = Script.replying(message("ok"))
    samples: list[tuple[int, int, int]] = []  # (slot, life number, rss)
    placements: list[int] = []
    loaded: list[int] = []
    children, fds = children_of_self(), open_fds()
    with trio.fail_after(HANG_GUARD):
        async with codex_trio.Runtime(
            transport="app-server",
            env=mock_model.env,
            app_servers=2,
            max_threads_per_app_server=PER_PROCESS,
            max_concurrent_turns=8,
        ) as rt:
            pool = rt._pool
            assert pool is not None

            async def sample_rss() -> None:
                while True:
                    for slot in pool.slots:
                        info = slot.info()
                        placements.append(info.placements)
                        loaded.append(info.threads_loaded)
                        if info.rss is not None:
                            samples.append((info.slot or 0, slot.life, info.rss))
                    await trio.sleep(0.1)

            handles: list[codex_trio.ThreadHandle] = []
            first: list[str | None] = []
            second: list[str | None] = []
            limit = trio.CapacityLimiter(CONCURRENT)

            async def one_thread(n: int) -> None:
                async with limit:
                    handle = await rt.start_thread(
                        working_directory=str(mock_model.workdir), skip_git_repo_check=True
                    )
                    handles.append(handle)
                    first.append((await handle.run(f"thread {n}")).final_response)

            async def again(handle: codex_trio.ThreadHandle) -> None:
                async with limit:
                    second.append((await handle.run("again")).final_response)

            async with trio.open_nursery() as sampler:
                sampler.start_soon(sample_rss)
                async with trio.open_nursery() as nursery:
                    for n in range(THREADS):
                        nursery.start_soon(one_thread, n)
                recycled_once = sum(s.recycles for s in rt.which_app_servers())
                # Every thread resumes afterwards: most were on a process that is gone now.
                async with trio.open_nursery() as nursery:
                    for handle in handles:
                        nursery.start_soon(again, handle)
                sampler.cancel_scope.cancel()
            servers = rt.which_app_servers()
            ids = {h.id for h in handles}
    assert first == ["ok"] * THREADS and second == ["ok"] * THREADS
    assert len(ids) == THREADS and None not in ids
    assert max(placements) <= PER_PROCESS and max(loaded) <= PER_PROCESS
    assert recycled_once >= THREADS // PER_PROCESS - 2  # 5 lives' worth over 2 slots
    assert sum(s.recycles for s in servers) >= 2 * THREADS // PER_PROCESS - 2
    # Engine memory: no process ever grows beyond what the first life of its slot reached
    # (100 threads loaded) by more than a quarter, however many threads went through.
    for slot in (0, 1):
        lives = sorted({life for s, life, _ in samples if s == slot})
        assert len(lives) >= 3, lives
        first_life = max(rss for s, life, rss in samples if s == slot and life == lives[0])
        overall = max(rss for s, _, rss in samples if s == slot)
        assert overall <= 1.25 * first_life, (slot, first_life, overall)
    assert children_of_self() == children and open_fds() == fds
