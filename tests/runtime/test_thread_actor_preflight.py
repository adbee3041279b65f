"""The supervised path checks a turn before any process starts, as the plain Thread does (both go
through ``open_turn``): a turn that cannot run is the caller's error, not an actor crash."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import trio

from codex_trio._errors import ConfigurationError
from codex_trio._protocol.options import ThreadOptions, TurnOptions
from codex_trio._transport.exec import ExecTransport
from codex_trio._turn import ThreadState, UsageLedger
from codex_trio.runtime import Supervisor, ThreadActor, actor_spec
from codex_trio.runtime._thread_actor import TurnRequest
from tests.fakes import fake_codex


@pytest.mark.parametrize(
    ("options", "prompt", "cause"),
    [
        (ThreadOptions(approval_policy="untrusted"), "hi", "untrusted.*exec transport"),
        (ThreadOptions(working_directory="/nonexistent/dir"), "hi", "does not exist"),
        (ThreadOptions(), "   ", "only whitespace"),
    ],
)
async def test_a_turn_that_cannot_run_fails_before_any_process_and_the_actor_lives_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, options: ThreadOptions, prompt: str, cause: str
) -> None:
    spawned: list[Any] = []
    init = subprocess.Popen.__init__

    def spy(self: subprocess.Popen[Any], args: Any, *rest: Any, **kw: Any) -> None:
        spawned.append(args)
        init(self, args, *rest, **kw)

    monkeypatch.setattr(subprocess.Popen, "__init__", spy)
    state = ThreadState(
        runner=ExecTransport(codex_path=fake_codex(tmp_path, "sys.exit(3)")),
        options=options,
        ledger=UsageLedger(),
    )
    actor = ThreadActor(state, limiter=trio.CapacityLimiter(1), name="t")
    supervisor = Supervisor([actor_spec(actor, id="actor")], name="thread:t")
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            await nursery.start(supervisor.run)
            with pytest.raises(ConfigurationError, match=cause):
                await actor.call(TurnRequest(input=prompt, options=TurnOptions()), timeout=None)
            [child] = supervisor.which_children()
            await supervisor.stop()
    assert spawned == []
    assert child.restart_count == 0
