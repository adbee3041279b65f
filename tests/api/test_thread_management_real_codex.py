"""Thread management on Codex/Thread (list, read, fork, archive, rename, compact, rollback,
close) against the real codex binary and the mock model, on both transports: on exec each call
runs on a short-lived app-server, and the thread then continues with ``codex exec resume``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import pytest
import trio

import codex_trio
from codex_trio import (
    AgentMessageItem,
    CommandExecutionItem,
    ConfigurationError,
    StoredThread,
    ThreadArchivedError,
    ThreadNotFoundError,
    ThreadNotStartedError,
    TurnFailedError,
    UnknownItem,
)
from codex_trio.testing import (
    MockModel,
    exec_command,
    function_call,
    hold,
    http_error,
    message,
)
from tests.fakes import children_of_self, pid_alive

UNKNOWN = "019abcde-0000-7000-8000-000000000000"
HANG_GUARD = 120  # seconds; a guard against a hang, not a timing assertion
TRANSPORTS = ["exec", "app-server"]
# ... and an app-server Codex outside ``async with``: a private process for each call and turn.
ALL_THREE = [*TRANSPORTS, "app-server-private"]


def texts(mock_model: MockModel, index: int = -1) -> str:
    """Every message text of one request to the mock (default: the last), joined."""
    return "\n".join(mock_model.requests[index].input_texts(role=None))


@asynccontextmanager
async def open_codex(
    mock_model: MockModel, transport: str, **options: Any
) -> AsyncIterator[codex_trio.Codex]:
    """A Codex on the mock model with thread defaults for its working directory; app-server
    inside ``async with`` (the shared process), exec and app-server-private as they are."""
    codex = codex_trio.Codex(
        transport="app-server" if transport == "app-server-private" else transport,  # type: ignore[arg-type]
        env=mock_model.env,
        thread_defaults={"working_directory": str(mock_model.workdir), "skip_git_repo_check": True},
        **options,
    )
    with trio.fail_after(HANG_GUARD):
        if transport == "app-server":
            async with codex:
                yield codex
        else:
            yield codex
    assert not [pid for pid in children_of_self() if pid_alive(pid)], "codex left running"


# ------------------------------------------------------------------------- list, read


async def test_list_threads_pages_through_the_threads_of_both_transports(
    mock_model: MockModel,
) -> None:
    """Threads started in the same second are all listed, although the engine's own cursor
    (the second of a page's last thread) skips the others of that second."""
    mock_model.script = [message(f"answer {i}") for i in range(5)]
    ids: list[str] = []
    async with open_codex(mock_model, "exec") as codex:
        warm = codex.start_thread()  # a warm CODEX_HOME: concurrent first runs race in SQLite
        await warm.run("exec thread 0")
        threads = [codex.start_thread() for _ in range(3)]
        async with trio.open_nursery() as nursery:  # most likely in one second
            for i, thread in enumerate(threads, 1):
                nursery.start_soon(thread.run, f"exec thread {i}")
        ids = [t.id for t in (warm, *threads) if t.id is not None]
    async with open_codex(mock_model, "app-server") as codex:
        thread = codex.start_thread()
        await thread.run("app-server thread")
        assert thread.id is not None
        ids.append(thread.id)
        one_by_one = [stored.id async for stored in codex.list_threads(page_size=1)]
        by_three = [stored.id async for stored in codex.list_threads(page_size=3)]
        first = await codex.list_threads_page(limit=3)
        second = await codex.list_threads_page(limit=3, cursor=first.next_cursor)
        everything = await codex.list_threads_page(limit=100)
    assert len(ids) == 5
    assert sorted(one_by_one) == sorted(ids) and len(one_by_one) == 5
    assert by_three == one_by_one == [t.id for t in everything.threads]
    assert everything.next_cursor is None
    assert [t.id for t in first.threads] == by_three[:3] and first.next_cursor is not None
    assert [t.id for t in second.threads] == by_three[3:] and second.next_cursor is None
    assert one_by_one[0] == thread.id and one_by_one[-1] == warm.id  # newest first
    by_id = {t.id: t for t in everything.threads}
    assert by_id[warm.id].source == "exec" and by_id[thread.id].source == "vscode"
    assert by_id[warm.id].preview == "exec thread 0" and by_id[warm.id].turns == ()
    assert by_id[warm.id].working_directory == str(mock_model.workdir)


def test_the_page_cursor_repeats_the_boundary_second_without_its_listed_threads() -> None:
    from codex_trio._protocol.app_server.thread_list import PageCursor, decode_cursor, take_page

    def rows(*threads: tuple[str, int]) -> Any:
        return [SimpleNamespace(id=i, created_at=at) for i, at in threads]

    second = 1_796_122_183  # 2026-12-01T10:49:43Z
    desc: dict[str, Any] = {"sort_key": None, "sort_direction": None}
    engine_next = "2026-12-01T10:49:43Z"  # what codex 0.163 answers: the second of "b"
    taken, cursor = take_page(
        rows(("a", second + 1), ("b", second)), engine_next, PageCursor(), 2, desc
    )
    start = decode_cursor(cursor)
    assert [t.id for t in taken] == ["a", "b"] and start == PageCursor(second=second, seen=("b",))
    assert start.request(desc) == "2026-12-01T10:49:44Z"  # that second again, "b" dropped
    # asked for 2 + 1 rows from there: "b" again, then "c" of the same second and an older "d"
    taken, cursor = take_page(rows(("b", second), ("c", second)), engine_next, start, 1, desc)
    assert [t.id for t in taken] == ["c"]
    assert decode_cursor(cursor) == PageCursor(second=second, seen=("b", "c"))
    taken, cursor = take_page(
        rows(("c", second), ("d", second - 5)), None, decode_cursor(cursor), 3, desc
    )
    assert [t.id for t in taken] == ["d"] and cursor is None  # fewer rows than asked: the end
    # ascending pages step back a second
    asc = {**desc, "sort_direction": "asc"}
    assert PageCursor(second=second, seen=("x",)).request(asc) == "2026-12-01T10:49:42Z"
    # an engine cursor of a format this version does not know passes through both ways
    taken, cursor = take_page(rows(("e", second)), "opaque", PageCursor(), 1, desc)
    assert cursor == "opaque" and decode_cursor("opaque") == PageCursor(engine="opaque")


async def test_list_threads_filters_on_the_exec_transport(
    mock_model: MockModel, tmp_path: Any
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    mock_model.script = [message("one"), message("two"), message("three")]
    async with open_codex(mock_model, "exec") as codex:
        here = codex.start_thread()
        await here.run("first here")
        there = codex.start_thread(working_directory=str(elsewhere))
        await there.run("first there")
        await here.rename("release checklist")

        async def ids(**filters: Any) -> list[str | None]:
            return [t.id async for t in codex.list_threads(**filters)]

        assert await ids(working_directory=elsewhere) == [there.id]
        assert await ids(working_directory=[elsewhere, mock_model.workdir]) == [there.id, here.id]
        assert await ids(sort_direction="asc") == [here.id, there.id]
        assert await ids(search_term="checklist") == [here.id]
        assert await ids(model_providers=["mock"]) == [there.id, here.id]
        assert await ids(model_providers=["openai"]) == []
        assert await ids(source_kinds=["vscode"]) == []
        assert await ids(source_kinds=["exec"]) == [there.id, here.id]
        assert await ids(archived=True) == []


async def test_list_threads_checks_its_arguments_before_any_process_starts(
    mock_model: MockModel,
) -> None:
    codex = codex_trio.Codex(env=mock_model.env)
    with pytest.raises(ConfigurationError, match="sort_key"):
        codex.list_threads(sort_key="name")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="source_kinds"):
        codex.list_threads(source_kinds=["desktop"])  # type: ignore[list-item]
    with pytest.raises(ConfigurationError, match="source_kinds"):
        codex.list_threads(source_kinds="exec")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="page size"):
        await codex.list_threads_page(limit=0)
    assert not children_of_self()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_read_thread_gives_turns_with_typed_items(
    mock_model: MockModel, transport: str
) -> None:
    mock_model.script = [
        exec_command("echo hi", login=False),
        message("ran it"),
        message("second answer"),
    ]
    async with open_codex(mock_model, transport) as codex:
        thread = codex.start_thread()
        await thread.run("run echo")
        await thread.run("and again")
        assert thread.id is not None
        stored = await codex.read_thread(thread.id)
        bare = await thread.read(turns=False)
    assert isinstance(stored, StoredThread) and stored.id == thread.id
    assert [t.user_messages for t in stored.turns] == [("run echo",), ("and again",)]
    assert [t.status for t in stored.turns] == ["completed", "completed"]
    first, second = stored.turns
    commands = [i for i in first.items if isinstance(i, CommandExecutionItem)]
    assert len(commands) == 1 and commands[0].aggregated_output == "hi\n"
    assert commands[0].exit_code == 0
    assert isinstance(first.items[-1], AgentMessageItem) and first.final_response == "ran it"
    assert second.final_response == "second answer" and second.error is None
    assert bare.id == thread.id and bare.turns == ()
    assert stored.status == ("idle" if transport == "app-server" else "notLoaded")
    assert stored.source == ("vscode" if transport == "app-server" else "exec")
    assert stored.created_at.tzinfo is not None and stored.created_at <= stored.updated_at
    assert first.started_at is not None and first.completed_at is not None


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_read_thread_of_an_unknown_id_raises_thread_not_found(
    mock_model: MockModel, transport: str
) -> None:
    async with open_codex(mock_model, transport) as codex:
        with pytest.raises(ThreadNotFoundError) as info:
            await codex.read_thread(UNKNOWN)
        with pytest.raises(ThreadNotFoundError):
            await codex.read_thread("not-a-uuid")
    assert info.value.thread_id == UNKNOWN


# ------------------------------------------------------------------------- fork


@pytest.mark.parametrize("transport", ALL_THREE)
async def test_fork_copies_the_history_and_leaves_the_parent_unchanged(
    mock_model: MockModel, transport: str
) -> None:
    mock_model.script = [message("noted"), message("fork answer"), message("parent answer")]
    async with open_codex(mock_model, transport) as codex:
        parent = codex.start_thread(sandbox_mode="read-only")
        await parent.run("remember the word apple")
        fork = await parent.fork()
        assert fork.id is not None and fork.id != parent.id
        assert fork.options == parent.options
        forked = await fork.run("fork: what was the word?")
        fork_request = texts(mock_model)
        answer = await parent.run("parent: what was the word?")
        parent_request = texts(mock_model)
        stored = await fork.read()
        assert parent.id is not None
        parent_stored = await codex.read_thread(parent.id)
    assert forked.final_response == "fork answer" and forked.thread_id == fork.id
    assert "remember the word apple" in fork_request and "fork: what" in fork_request
    assert answer.final_response == "parent answer"
    assert "remember the word apple" in parent_request and "fork: what" not in parent_request
    assert stored.forked_from_id == parent.id
    assert [t.user_messages for t in stored.turns][-1] == ("fork: what was the word?",)
    assert [t.user_messages for t in parent_stored.turns] == [
        ("remember the word apple",),
        ("parent: what was the word?",),
    ]


async def test_a_fork_on_another_shared_app_server_answers_its_dynamic_tools(
    mock_model: MockModel,
) -> None:
    """The engine keeps a thread's dynamic tools with it (the fork offers them), but the client
    answers a tool call only for a thread whose tools it registered: the fork's first turn
    resumes it with them."""

    @codex_trio.tool
    async def lookup(key: str) -> str:
        """Look a key up."""
        return f"value of {key}"

    mock_model.script = [
        message("ok"),
        function_call("lookup", {"key": "k1"}, call_id="c1"),
        message("looked up"),
    ]
    async with open_codex(mock_model, "app-server", tools=[lookup]) as codex:
        parent = codex.start_thread()
        await parent.run("start")
    assert parent.id is not None
    async with open_codex(mock_model, "app-server", tools=[lookup]) as codex:
        fork = await codex.resume_thread(parent.id).fork()  # the parent is not loaded here
        result = await fork.run("use the tool")
    assert "lookup" in mock_model.requests[1].tool_names()
    assert mock_model.requests[2].function_call_outputs() == {"c1": "value of k1"}
    assert result.final_response == "looked up"


# ------------------------------------------------------------------- archive, rename


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_archive_hides_the_thread_and_unarchive_brings_it_back(
    mock_model: MockModel, transport: str
) -> None:
    mock_model.script = [message("first"), message("after unarchive")]
    async with open_codex(mock_model, transport) as codex:
        thread = codex.start_thread()
        await thread.run("keep this in history")
        await thread.archive()
        await thread.archive()  # archived already: nothing to do
        active = [t.id async for t in codex.list_threads()]
        archived = [t.id async for t in codex.list_threads(archived=True)]
        with pytest.raises(ThreadArchivedError):
            await thread.rename("renamed while archived")
        with pytest.raises(ThreadArchivedError):
            await thread.fork()
        with pytest.raises(ThreadArchivedError):
            await thread.rollback()
        await thread.unarchive()
        await thread.unarchive()  # not archived: nothing to do
        listed_again = [t.id async for t in codex.list_threads()]
        result = await thread.run("back again")
    assert thread.id not in active and archived == [thread.id]
    assert listed_again == [thread.id]
    assert result.final_response == "after unarchive"
    assert "keep this in history" in texts(mock_model)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_rename_shows_in_read_and_list(mock_model: MockModel, transport: str) -> None:
    mock_model.script = [message("hi"), message("still works")]
    async with open_codex(mock_model, transport) as codex:
        thread = codex.start_thread()
        await thread.run("hello")
        assert (await thread.read(turns=False)).name is None
        await thread.rename("triage of issue 7")
        stored = await thread.read(turns=False)
        [listed] = [t async for t in codex.list_threads()]
        found = [t.id async for t in codex.list_threads(search_term="issue 7")]
        result = await thread.run("continue")
    assert stored.name == "triage of issue 7" and listed.name == "triage of issue 7"
    assert found == [thread.id]
    assert result.final_response == "still works"
    with pytest.raises(ConfigurationError):
        await thread.rename("  ")


# --------------------------------------------------------------------------- rollback


@pytest.mark.parametrize("transport", ALL_THREE)
async def test_rollback_drops_the_last_turns_from_the_next_request(
    mock_model: MockModel, transport: str
) -> None:
    mock_model.script = [message(f"answer {i}") for i in range(4)]
    async with open_codex(mock_model, transport) as codex:
        thread = codex.start_thread()
        for prompt in ("turn one ONE", "turn two TWO", "turn three THREE"):
            await thread.run(prompt)
        await thread.rollback(2)
        result = await thread.run("turn four FOUR")
        request = texts(mock_model)
        stored = await thread.read()
    assert result.final_response == "answer 3"
    assert "ONE" in request and "FOUR" in request
    assert "TWO" not in request and "THREE" not in request
    assert "answer 1" not in "\n".join(mock_model.requests[-1].input_texts("assistant"))
    assert [t.user_messages for t in stored.turns] == [("turn one ONE",), ("turn four FOUR",)]


async def test_rollback_checks_the_number_of_turns(mock_model: MockModel) -> None:
    mock_model.script = [message("only")]
    async with open_codex(mock_model, "exec") as codex:
        thread = codex.start_thread()
        with pytest.raises(ConfigurationError, match="positive"):
            await thread.rollback(0)
        await thread.run("the only turn")
        with pytest.raises(ConfigurationError, match="has 1"):
            await thread.rollback(2)
        stored = await thread.read()
    assert len(stored.turns) == 1


# ---------------------------------------------------------------------------- compact


@pytest.mark.parametrize("transport", ALL_THREE)
async def test_compact_replaces_the_history_with_the_models_summary(
    mock_model: MockModel, transport: str
) -> None:
    mock_model.script = [
        message("long answer"),
        message("SUMMARY: the user asked about apples"),  # the compaction's model call
        message("after compaction"),
    ]
    async with open_codex(mock_model, transport) as codex:
        thread = codex.start_thread()
        await thread.run("tell me about apples")
        await thread.compact()
        compaction_request = texts(mock_model)
        result = await thread.run("and pears?")
        request = texts(mock_model)
        stored = await thread.read()
    assert "CONTEXT CHECKPOINT COMPACTION" in compaction_request
    assert "tell me about apples" in compaction_request
    assert "SUMMARY: the user asked about apples" in request and "and pears?" in request
    assert result.final_response == "after compaction"
    compaction = stored.turns[1]
    assert [type(i) for i in compaction.items] == [UnknownItem]
    assert compaction.items[0].type == "contextCompaction"  # type: ignore[union-attr]


async def test_a_failed_compaction_raises_turn_failed_and_the_thread_goes_on(
    mock_model: MockModel,
) -> None:
    mock_model.script = [message("first"), http_error(400, "no compaction today"), message("ok")]
    async with open_codex(mock_model, "app-server") as codex:
        thread = codex.start_thread()
        await thread.run("hello")
        with pytest.raises(TurnFailedError) as info:
            await thread.compact()
        result = await thread.run("still there?")
    assert "no compaction today" in str(info.value) and info.value.thread_id == thread.id
    assert result.final_response == "ok" and "hello" in texts(mock_model)


async def test_a_cancelled_compaction_is_interrupted_and_the_thread_goes_on(
    mock_model: MockModel,
) -> None:
    mock_model.script = [message("first"), hold(message("never sent")), message("after")]
    async with open_codex(mock_model, "app-server") as codex:
        thread = codex.start_thread()
        await thread.run("hello")
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(thread.compact)
                await mock_model.server.wait_for_held()  # the compaction waits on the model
                scope.cancel()
        result = await thread.run("still there?")
        stored = await thread.read()
    assert result.final_response == "after"
    assert [t.status for t in stored.turns] == ["completed", "interrupted", "completed"]


# ---------------------------------------------------------------------- typed errors


async def test_a_thread_without_an_id_gets_thread_not_started(mock_model: MockModel) -> None:
    codex = codex_trio.Codex(env=mock_model.env)
    thread = codex.start_thread()
    calls = [
        thread.fork(),
        thread.archive(),
        thread.unarchive(),
        thread.rename("x"),
        thread.compact(),
        thread.rollback(),
        thread.read(),
    ]
    for call in calls:
        with pytest.raises(ThreadNotStartedError, match="no id yet"):
            await call
    assert issubclass(ThreadNotStartedError, ConfigurationError)
    await thread.aclose()  # nothing to close: no error
    assert not children_of_self()  # raised before any process started


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_unknown_thread_ids_get_thread_not_found(
    mock_model: MockModel, transport: str
) -> None:
    async with open_codex(mock_model, transport) as codex:
        thread = codex.resume_thread(UNKNOWN)
        for name, call in [
            ("fork", thread.fork),
            ("archive", thread.archive),
            ("unarchive", thread.unarchive),
            ("rename", lambda: thread.rename("x")),
            ("compact", thread.compact),
            ("rollback", thread.rollback),
            ("read", thread.read),
        ]:
            with pytest.raises(ThreadNotFoundError) as info:
                await call()
            assert info.value.thread_id == UNKNOWN, name


# ------------------------------------------------------------------------------ close


async def test_aclose_unloads_the_thread_from_the_shared_app_server(
    mock_model: MockModel,
) -> None:
    mock_model.script = [message("one"), message("two"), message("three")]
    async with open_codex(mock_model, "app-server") as codex:
        thread = codex.start_thread()
        other = codex.start_thread()
        await thread.run("remember me")
        await other.run("another thread")
        client = codex.transport.client  # type: ignore[attr-defined]
        before = await client.loaded_threads()
        await thread.aclose()
        after = await client.loaded_threads()
        result = await thread.run("are you back?")  # resumed by id
    assert thread.id in before and other.id in before
    assert thread.id not in after and other.id in after
    assert result.final_response == "three" and "remember me" in texts(mock_model)
