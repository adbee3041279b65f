"""The turn machinery (``codex_trio._turn``) above any transport: ``open_turn`` and
``StreamedTurn`` on a scripted runner, ``UsageLedger`` arithmetic, ``finish``/``check_result``,
the preflight call, telemetry and log context; plus real-binary turns for the per-turn usage of a
resumed thread.

The fake here is a ``TurnRunner`` (what a transport offers the machinery), not a fake codex
process: transports have their own tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import attrs
import pytest
import structlog
import trio

from codex_trio._errors import (
    CodexError,
    ConfigurationError,
    StructuredOutputError,
    TurnFailedError,
)
from codex_trio._protocol import (
    AgentMessageItem,
    ItemCompletedEvent,
    ThreadEvent,
    ThreadStartedEvent,
    TurnCompletedEvent,
    TurnFailedEvent,
    Usage,
)
from codex_trio._protocol.exec_events import ItemStartedEvent, TurnError, TurnStartedEvent
from codex_trio._protocol.exec_items import CommandExecutionItem
from codex_trio._protocol.options import CodexOptions, TextInput, ThreadOptions, TurnOptions
from codex_trio._transport.exec import ExecTransport
from codex_trio._turn import (
    StreamedTurn,
    ThreadState,
    TurnResult,
    UsageLedger,
    check_result,
    finish,
    open_turn,
)
from codex_trio.observe import telemetry
from codex_trio.testing import MockModel, MockUsage, message, response

# ------------------------------------------------------------------------ the scripted runner


class ScriptedEvents:
    """The events of one scripted turn, with the attributes a transport's stream may have."""

    def __init__(self, events: Sequence[ThreadEvent], pid: int | None, approvals: tuple[Any, ...]):
        self._events = iter(events)
        self.pid = pid
        self.approvals = approvals
        self.read = 0

    def __aiter__(self) -> ScriptedEvents:
        return self

    async def __anext__(self) -> ThreadEvent:
        await trio.lowlevel.checkpoint()
        try:
            event = next(self._events)
        except StopIteration:
            raise StopAsyncIteration from None
        self.read += 1
        return event


@attrs.define
class Call:
    prompt: str
    thread: ThreadOptions
    turn: TurnOptions
    images: Sequence[str]
    resume_thread_id: str | None


@attrs.define(eq=False)
class ScriptedRunner:
    """A ``TurnRunner``: each ``turn()`` yields the next scripted list of events."""

    turns: list[list[ThreadEvent]]
    name: str = "exec"
    pid: int | None = None
    approvals: tuple[Any, ...] = ()
    calls: list[Call] = attrs.Factory(list)
    open: int = 0
    closed: int = 0

    @asynccontextmanager
    async def turn(
        self,
        prompt: str,
        thread: ThreadOptions,
        turn: TurnOptions = TurnOptions(),
        *,
        images: Sequence[str] = (),
        resume_thread_id: str | None = None,
    ) -> AsyncIterator[ScriptedEvents]:
        self.calls.append(Call(prompt, thread, turn, tuple(images), resume_thread_id))
        self.open += 1
        try:
            yield ScriptedEvents(self.turns.pop(0), self.pid, self.approvals)
        finally:
            self.closed += 1


def usage(input_tokens: int, output_tokens: int, cached: int = 0, reasoning: int = 0) -> Usage:
    return Usage(
        input_tokens=input_tokens,
        cached_input_tokens=cached,
        output_tokens=output_tokens,
        reasoning_output_tokens=reasoning,
    )


def completed_turn(
    text: str, cumulative: Usage, thread_id: str | None = "t-1"
) -> list[ThreadEvent]:
    events: list[ThreadEvent] = []
    if thread_id is not None:
        events.append(ThreadStartedEvent(thread_id=thread_id))
    events += [
        TurnStartedEvent(),
        ItemCompletedEvent(item=AgentMessageItem(id="m0", text=text)),
        TurnCompletedEvent(usage=cumulative),
    ]
    return events


def state_of(
    runner: ScriptedRunner, ledger: UsageLedger | None = None, **options: Any
) -> ThreadState:
    return ThreadState(
        runner=runner, options=ThreadOptions(**options), ledger=ledger or UsageLedger()
    )


async def run(
    state: ThreadState, prompt: Any = "hi", options: TurnOptions = TurnOptions()
) -> StreamedTurn:
    async with open_turn(state, prompt, options) as streamed:
        async for _ in streamed:
            pass
    return streamed


@contextmanager
def recording(
    *names: tuple[str, ...],
) -> Iterator[list[tuple[tuple[str, ...], dict[str, float], dict[str, Any]]]]:
    seen: list[tuple[tuple[str, ...], dict[str, float], dict[str, Any]]] = []

    def handler(
        name: tuple[str, ...],
        measurements: Mapping[str, float],
        metadata: Mapping[str, Any],
        _: Any,
    ) -> None:
        seen.append((name, dict(measurements), dict(metadata)))

    handler_id = f"test-turn-{id(seen)}"
    telemetry.attach(handler_id, names, handler)
    try:
        yield seen
    finally:
        telemetry.detach(handler_id)


# ------------------------------------------------------------------------ open_turn, StreamedTurn


async def test_open_turn_streams_the_runners_events_in_order_and_collects_the_result() -> None:
    script = [
        ThreadStartedEvent(thread_id="t-1"),
        TurnStartedEvent(),
        ItemCompletedEvent(item=AgentMessageItem(id="m0", text="thinking aloud")),
        ItemCompletedEvent(item=AgentMessageItem(id="m1", text="the answer")),
        TurnCompletedEvent(usage=usage(20, 5)),
    ]
    runner = ScriptedRunner([list(script)])
    state = state_of(runner)
    async with open_turn(state, "question", TurnOptions()) as streamed:
        assert not streamed.done and streamed.status == "cancelled"
        seen = [event async for event in streamed]
    assert seen == script
    result = streamed.result
    assert streamed.done and streamed.status == "completed"
    assert state.thread_id == result.thread_id == "t-1"
    assert result.turn_id == streamed.turn_id and result.turn_id.startswith("turn_")
    assert [i.id for i in result.items] == ["m0", "m1"]  # type: ignore[attr-defined]
    assert result.final_response == "the answer"  # the last agent message
    assert result.usage == result.cumulative_usage == usage(20, 5)
    assert not result.failed and result.error_message is None and result.structured is None
    assert runner.open == runner.closed == 1


async def test_every_turn_gets_its_own_turn_id() -> None:
    runner = ScriptedRunner([completed_turn("a", usage(1, 1)), completed_turn("b", usage(2, 2))])
    state = state_of(runner)
    first, second = await run(state), await run(state)
    assert first.turn_id != second.turn_id


async def test_the_runner_gets_the_prompt_images_options_and_the_thread_to_resume(
    tmp_path: Path,
) -> None:
    image = tmp_path / "dot.png"
    image.write_bytes(b"\x89PNG")
    runner = ScriptedRunner([completed_turn("a", usage(1, 1)), completed_turn("b", usage(2, 2))])
    state = state_of(runner, working_directory=str(tmp_path), model="m")
    options = TurnOptions(timeout=30)
    await run(
        state,
        [
            TextInput("part one"),
            {"type": "local_image", "path": str(image)},
            {"type": "text", "text": "part two"},
        ],
        options,
    )
    await run(state, "again", options)
    first, second = runner.calls
    assert first.prompt == "part one\n\npart two" and first.images == (str(image),)
    assert first.thread is state.options and first.turn is options
    assert first.resume_thread_id is None  # codex has not named the thread yet
    assert second.prompt == "again" and second.images == ()
    assert second.resume_thread_id == "t-1"


async def test_pid_and_approvals_come_from_the_runners_stream() -> None:
    runner = ScriptedRunner([completed_turn("a", usage(1, 1))], pid=4242, approvals=("decided",))
    async with open_turn(state_of(runner), "hi", TurnOptions()) as streamed:
        assert streamed.pid == 4242
        async for _ in streamed:
            pass
    assert streamed.result.approvals == ("decided",)


async def test_pid_is_none_when_the_stream_has_no_int_pid() -> None:
    runner = ScriptedRunner([completed_turn("a", usage(1, 1))], pid=None)
    async with open_turn(state_of(runner), "hi", TurnOptions()) as streamed:
        assert streamed.pid is None
        async for _ in streamed:
            pass
    assert streamed.result.approvals == ()


async def test_result_before_the_end_raises_and_a_turn_left_early_is_cancelled() -> None:
    runner = ScriptedRunner([completed_turn("a", usage(1, 1))])
    state = state_of(runner)
    with recording(("codex", "turn", "stop")) as stops:
        async with open_turn(state, "hi", TurnOptions()) as streamed:
            async for event in streamed:
                if isinstance(event, TurnStartedEvent):
                    break
            with pytest.raises(CodexError, match="not ended"):
                _ = streamed.result
            with pytest.raises(CodexError, match="without a result"):
                finish(streamed, TurnOptions())
    assert streamed.status == "cancelled"
    [(_, _, metadata)] = stops
    assert metadata["status"] == "cancelled" and metadata["thread_id"] == "t-1"
    assert runner.closed == 1


async def test_a_stream_that_ends_without_turn_completed_has_no_result() -> None:
    runner = ScriptedRunner([[ThreadStartedEvent(thread_id="t-1"), TurnStartedEvent()]])
    streamed = await run(state_of(runner))
    assert not streamed.done
    with pytest.raises(CodexError, match="without a result") as caught:
        finish(streamed, TurnOptions())
    assert caught.value.thread_id == "t-1"


async def test_turn_failed_is_an_event_and_finish_raises_turn_failed_error() -> None:
    item = AgentMessageItem(id="m0", text="partial")
    runner = ScriptedRunner(
        [
            [
                ThreadStartedEvent(thread_id="t-9"),
                ItemCompletedEvent(item=item),
                TurnFailedEvent(error=TurnError(message="model exploded")),
            ]
        ]
    )
    with recording(("codex", "turn", "stop")) as stops:
        async with open_turn(state_of(runner), "hi", TurnOptions()) as streamed:
            seen = [event async for event in streamed]
    assert isinstance(seen[-1], TurnFailedEvent)
    assert streamed.status == "failed"
    result = streamed.result
    assert result.failed and result.error_message == "model exploded" and result.usage is None
    with pytest.raises(TurnFailedError, match="model exploded") as caught:
        finish(streamed, TurnOptions())
    assert caught.value.thread_id == "t-9" and caught.value.turn_id == streamed.turn_id
    assert tuple(caught.value.items) == (item,)
    assert stops[0][2]["status"] == "failed"


async def test_an_error_in_the_callers_block_closes_the_runners_turn_and_propagates() -> None:
    runner = ScriptedRunner([completed_turn("a", usage(1, 1))])
    with recording(("codex", "turn", "exception")) as failures, pytest.raises(KeyError):
        async with open_turn(state_of(runner), "hi", TurnOptions()) as streamed:
            async for _ in streamed:
                raise KeyError("mine")
    assert runner.closed == 1
    [(_, _, metadata)] = failures
    assert metadata["kind"] == "KeyError" and metadata["status"] == "cancelled"


# ------------------------------------------------------------------------ preflight


@pytest.mark.parametrize(
    ("prompt", "options", "match"),
    [
        ("", {}, "empty"),
        ("   \n", {}, "whitespace"),
        ("hi", {"working_directory": "/no/such/directory"}, "does not exist"),
        ("hi", {"approval_policy": "untrusted"}, "not accepted by the exec transport"),
    ],
)
async def test_preflight_refuses_a_turn_before_the_runner_is_called(
    prompt: str, options: dict[str, Any], match: str
) -> None:
    runner = ScriptedRunner([completed_turn("a", usage(1, 1))])
    with (
        recording(("codex", "turn", "start")) as starts,
        pytest.raises(ConfigurationError, match=match),
    ):
        async with open_turn(state_of(runner, **options), prompt, TurnOptions()):
            pytest.fail("the turn opened")
    assert runner.calls == [] and starts == []


async def test_preflight_asks_the_runner_by_name() -> None:
    # "untrusted" is refused by exec and accepted by app-server: the runner's name decides.
    runner = ScriptedRunner([completed_turn("a", usage(1, 1))], name="app-server")
    streamed = await run(state_of(runner, approval_policy="untrusted"))
    assert streamed.status == "completed" and len(runner.calls) == 1


async def test_preflight_checks_the_turn_options_images_too(tmp_path: Path) -> None:
    runner = ScriptedRunner([completed_turn("a", usage(1, 1))])
    missing = str(tmp_path / "missing.png")
    with pytest.raises(ConfigurationError):
        async with open_turn(state_of(runner), "", TurnOptions(images=(missing,))):
            pytest.fail("the turn opened")
    assert runner.calls == []
    # An empty prompt is fine when an image is attached.
    present = tmp_path / "dot.png"
    present.write_bytes(b"\x89PNG")
    streamed = await run(state_of(runner), "", TurnOptions(images=(str(present),)))
    assert streamed.status == "completed"


# ------------------------------------------------------------------------ telemetry and logs


async def test_the_turn_span_reports_the_thread_id_status_and_this_turns_usage() -> None:
    runner = ScriptedRunner(
        [
            completed_turn("a", usage(20, 5, cached=4, reasoning=1)),
            completed_turn("b", usage(50, 12, cached=10, reasoning=3)),
        ]
    )
    state = state_of(runner, model="gpt-test")
    with recording(("codex", "turn", "start"), ("codex", "turn", "stop")) as seen:
        await run(state)
        second = await run(state)
    names = [name[-1] for name, _, _ in seen]
    assert names == ["start", "stop", "start", "stop"]
    start1, stop1, start2, stop2 = (metadata for _, _, metadata in seen)
    assert start1["thread_id"] is None and stop1["thread_id"] == "t-1"  # named during the turn
    assert start2["thread_id"] == "t-1"
    assert stop2["turn_id"] == second.turn_id and stop2["transport"] == "exec"
    assert stop2["model"] == "gpt-test" and stop2["status"] == "completed"
    measurements = seen[3][1]
    assert {
        k: measurements[k]
        for k in ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens")
    } == {
        "input_tokens": 30,
        "cached_input_tokens": 6,
        "output_tokens": 7,
        "reasoning_output_tokens": 2,
    }


async def test_thread_start_is_announced_once_per_thread_state() -> None:
    runner = ScriptedRunner([completed_turn("a", usage(1, 1)), completed_turn("b", usage(2, 2))])
    state = state_of(runner)
    with recording(("codex", "thread", "start")) as starts:
        await run(state)
        await run(state)  # codex sends thread.started again on resume
    assert [(m, meta) for _, m, meta in starts] == [
        ({"count": 1}, {"thread_id": "t-1", "transport": "exec"})
    ]
    assert state.announced


async def test_item_telemetry_has_the_duration_of_started_items_and_reports_commands() -> None:
    command = CommandExecutionItem(
        id="c1", command="ls", aggregated_output="", exit_code=None, status="in_progress"
    )
    done = attrs.evolve(command, exit_code=2, status="failed")
    runner = ScriptedRunner(
        [
            [
                ThreadStartedEvent(thread_id="t-1"),
                ItemStartedEvent(item=command),
                ItemCompletedEvent(item=done),
                ItemCompletedEvent(item=AgentMessageItem(id="m0", text="x")),
                TurnCompletedEvent(usage=usage(1, 1)),
            ]
        ]
    )
    with recording(("codex", "item", "completed"), ("codex", "command", "executed")) as seen:
        await run(state_of(runner))
    assert [(name[1], meta.get("item_type"), meta["status"]) for name, _, meta in seen] == [
        ("item", "command_execution", "failed"),
        ("command", None, "failed"),
        ("item", "agent_message", "completed"),
    ]
    assert seen[1][2]["exit_code"] == 2 and seen[1][2]["thread_id"] == "t-1"
    assert seen[0][1]["duration"] >= 0 and seen[1][1]["duration"] >= 0
    assert "duration" not in seen[2][1]  # no item.started for the message


async def test_the_turn_binds_its_ids_for_logs_and_gives_the_callers_back() -> None:
    runner = ScriptedRunner([completed_turn("a", usage(1, 1)), completed_turn("b", usage(2, 2))])
    state = state_of(runner)
    structlog.contextvars.clear_contextvars()
    inside: list[dict[str, Any]] = []
    with structlog.contextvars.bound_contextvars(thread_id="caller-thread", request="r-1"):
        for _ in range(2):
            async with open_turn(state, "hi", TurnOptions()) as streamed:
                async for _ in streamed:
                    pass
                inside.append(structlog.contextvars.get_contextvars())
        after = structlog.contextvars.get_contextvars()
    assert inside[0]["turn_id"].startswith("turn_") and inside[0]["request"] == "r-1"
    assert inside[0]["thread_id"] is None  # not known when the turn began
    assert inside[1]["thread_id"] == "t-1"
    assert after == {"thread_id": "caller-thread", "request": "r-1"}


# ------------------------------------------------------------------------ check_result


def finished(final_response: str | None, *, failed: bool = False) -> TurnResult:
    return TurnResult(
        thread_id="t-1",
        turn_id="turn_x",
        items=(),
        final_response=final_response,
        usage=None,
        cumulative_usage=None,
        failed=failed,
        error_message="boom" if failed else None,
    )


SCHEMA = TurnOptions(output_schema={"type": "object"})


def test_check_result_without_a_schema_returns_the_result_unchanged() -> None:
    result = finished('{"looks": "like json"}')
    assert check_result(result, TurnOptions()) is result
    assert result.structured is None


def test_check_result_decodes_the_final_message_under_a_schema() -> None:
    result = check_result(finished('{"answer": [1, 2]}'), SCHEMA)
    assert result.structured == {"answer": [1, 2]}
    assert result.final_response == '{"answer": [1, 2]}'


def test_check_result_raises_for_a_final_message_that_is_not_json() -> None:
    with pytest.raises(StructuredOutputError, match="not valid JSON") as caught:
        check_result(finished("Sure! here it is"), SCHEMA)
    assert caught.value.raw == "Sure! here it is" and caught.value.thread_id == "t-1"


def test_check_result_raises_when_a_schema_turn_has_no_final_message() -> None:
    with pytest.raises(StructuredOutputError, match="no final message"):
        check_result(finished(None), SCHEMA)


def test_check_result_raises_for_a_failed_turn_before_looking_at_the_schema() -> None:
    with pytest.raises(TurnFailedError, match="boom"):
        check_result(finished("not json", failed=True), SCHEMA)


async def test_finish_applies_the_schema_check_to_a_streamed_turn() -> None:
    runner = ScriptedRunner([completed_turn('{"n": 1}', usage(1, 1))])
    streamed = await run(state_of(runner), "hi", SCHEMA)
    assert finish(streamed, SCHEMA).structured == {"n": 1}
    assert streamed.result.structured is None  # the stream's own result is not decoded


# ------------------------------------------------------------------------ UsageLedger


def test_ledger_turns_cumulative_reports_into_per_turn_figures() -> None:
    ledger = UsageLedger()
    assert ledger.per_turn("t", usage(20, 5)) == usage(20, 5)  # first report: all of it
    assert ledger.per_turn("t", usage(70, 12, cached=3)) == usage(50, 7, cached=3)
    assert ledger.per_turn("t", usage(70, 12, cached=3)) == usage(0, 0)  # nothing new
    assert ledger.last("t") == usage(70, 12, cached=3)


def test_ledger_keeps_threads_apart_and_passes_thread_less_reports_through() -> None:
    ledger = UsageLedger()
    ledger.per_turn("a", usage(10, 1))
    assert ledger.per_turn("b", usage(15, 2)) == usage(15, 2)
    assert ledger.per_turn("a", usage(30, 4)) == usage(20, 3)
    assert ledger.per_turn(None, usage(7, 7)) == usage(7, 7)
    assert ledger.per_turn(None, usage(9, 9)) == usage(9, 9)  # None is never remembered
    assert ledger.last("missing") is None


def test_ledger_forgets_the_least_recently_reported_thread_beyond_its_bound() -> None:
    ledger = UsageLedger(max_threads=2)
    ledger.per_turn("a", usage(10, 1))
    ledger.per_turn("b", usage(10, 1))
    ledger.per_turn("a", usage(20, 2))  # a is now the most recent
    ledger.per_turn("c", usage(10, 1))  # evicts b
    assert ledger.last("b") is None and ledger.last("a") == usage(20, 2)
    assert ledger.per_turn("b", usage(30, 3)) == usage(30, 3)  # cumulative: the best known


async def test_a_resumed_thread_sharing_the_ledger_reports_only_its_own_turn() -> None:
    ledger = UsageLedger()
    first = await run(state_of(ScriptedRunner([completed_turn("a", usage(20, 5))]), ledger))
    resumed = ThreadState(
        runner=ScriptedRunner([completed_turn("b", usage(70, 12))]),
        options=ThreadOptions(),
        ledger=ledger,
        thread_id="t-1",
    )
    second = await run(resumed)
    assert first.usage == usage(20, 5)
    assert second.cumulative_usage == usage(70, 12) and second.usage == usage(50, 7)
    # Another ledger has not seen the thread: the cumulative figures are all it can report.
    fresh = await run(state_of(ScriptedRunner([completed_turn("c", usage(90, 20))])))
    assert fresh.usage == usage(90, 20)


# ------------------------------------------------------------------------ real binary


@pytest.mark.integration
async def test_per_turn_usage_across_resume_on_the_real_binary(mock_model: MockModel) -> None:
    mock_model.script = [
        response(
            message("one"), usage=MockUsage(input_tokens=20, cached_input_tokens=4, output_tokens=5)
        ),
        response(
            message("two"), usage=MockUsage(input_tokens=50, cached_input_tokens=8, output_tokens=7)
        ),
        response(
            message("three"),
            usage=MockUsage(input_tokens=100, cached_input_tokens=30, output_tokens=11),
        ),
    ]
    runner = ExecTransport(codex_path=mock_model.codex, options=CodexOptions(env=mock_model.env))
    options = ThreadOptions(working_directory=str(mock_model.workdir), skip_git_repo_check=True)
    ledger = UsageLedger()
    with trio.fail_after(120):
        state = ThreadState(runner=runner, options=options, ledger=ledger)
        first = finish(await run(state, "first"), TurnOptions())
        assert first.thread_id is not None
        # Resumed by another ThreadState (as resume_thread does), on the same ledger.
        resumed = ThreadState(
            runner=runner, options=options, ledger=ledger, thread_id=first.thread_id
        )
        second = finish(await run(resumed, "second"), TurnOptions())
        third = finish(await run(resumed, "third"), TurnOptions())
    assert first.final_response == "one" and third.final_response == "three"
    assert second.thread_id == third.thread_id == first.thread_id
    assert [
        (r.usage.input_tokens, r.usage.cached_input_tokens, r.usage.output_tokens)
        for r in (first, second, third)
        if r.usage
    ] == [
        (20, 4, 5),
        (50, 8, 7),
        (100, 30, 11),
    ]
    assert third.cumulative_usage is not None
    assert (third.cumulative_usage.input_tokens, third.cumulative_usage.output_tokens) == (170, 23)
    assert ledger.last(first.thread_id) == third.cumulative_usage
