"""Fuzzing the app-server reader itself (issue 8 item 3), not only the decoders.

An in-memory stand-in for ``CodexProcess`` lets hypothesis feed the real ``JsonRpcConnection``
reader (and an ``AppServerClient`` over it, wired as ``open_app_server`` wires it) any lines at
all, many examples a second, without processes. After the garbage, the connection must still be
alive and every request must have been answered exactly once. One plain test on a fake process
checks the same for a deep line in the middle of a real turn.
"""

from __future__ import annotations

import collections
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from codex_trio._errors import CodexError, TransportError
from codex_trio._protocol.app_server import Notification, Request
from codex_trio._protocol.app_server import _generated as g
from codex_trio._protocol.app_server.server_requests import ApprovalDecision, ApprovalRequest
from codex_trio._protocol.options import CodexOptions
from codex_trio._transport.app_server import AppServerClient, open_app_server
from codex_trio._transport.jsonrpc import open_jsonrpc
from codex_trio._transport.lines import LineTooLongError
from codex_trio._transport.process import StderrRing
from tests.fakes import APP_SERVER_PRELUDE, fake_codex

THREAD = "thr-fuzz"
TURN = "turn-fuzz"
FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class FakeCodexProcess:
    """What ``JsonRpcConnection`` uses of a ``CodexProcess``, in memory.

    ``feed`` queues stdout lines (an exception instance is raised by ``receive_line`` instead,
    as ``LineReader`` raises ``LineTooLongError``; ``None`` is EOF). As ``LineReader`` does,
    queued lines are returned without a checkpoint, so a burst is read in one go. ``send``
    records every message written to stdin; ``responder`` may answer the client's requests."""

    def __init__(self, responder: Callable[[dict[str, Any]], Any] | None = None) -> None:
        self.pid = 4242
        self.stderr = StderrRing()
        self.expect_exit = False
        self.sent: list[dict[str, Any]] = []
        self.responder = responder
        self._lines: collections.deque[bytes | BaseException | None] = collections.deque()
        self._ready = trio.Event()
        self._sent_event = trio.Event()

    def feed(self, *lines: bytes | BaseException | None) -> None:
        self._lines.extend(lines)
        self._ready.set()

    async def receive_line(self) -> bytes | None:
        while not self._lines:
            await self._ready.wait()
            self._ready = trio.Event()
        line = self._lines.popleft()
        if isinstance(line, BaseException):
            raise line
        return line

    async def send(self, data: bytes) -> None:
        await trio.lowlevel.checkpoint()
        assert data.endswith(b"\n") and data.count(b"\n") == 1, data[:200]
        message = json.loads(data)
        self.sent.append(message)
        self._sent_event.set()
        self._sent_event = trio.Event()
        if self.responder is not None and "method" in message and "id" in message:
            result = self.responder(message)
            if result is not None:
                self.feed(_line({"jsonrpc": "2.0", "id": message["id"], "result": result}))

    async def wait_sent(self, predicate: Callable[[], bool]) -> None:
        while not predicate():
            await self._sent_event.wait()

    async def wait(self) -> None:
        return None

    def error(self, message: str, **context: Any) -> TransportError:
        return TransportError(message, pid=self.pid, stderr_tail=self.stderr.tail())

    @property
    def answers(self) -> list[dict[str, Any]]:
        """What the client sent that answers a server request (no ``method``)."""
        return [m for m in self.sent if "method" not in m]


def _line(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _key(request_id: Any) -> str:
    return json.dumps(request_id, sort_keys=True)


@asynccontextmanager
async def client_over(
    process: FakeCodexProcess,
    *,
    approval_handler: Callable[[ApprovalRequest], Any],
    event_buffer: int = 10_000,
    max_server_requests: int = 256,
) -> AsyncIterator[AppServerClient]:
    """An ``AppServerClient`` over ``process``, wired as ``open_app_server`` wires it."""
    client: AppServerClient | None = None

    def on_notification(note: Notification) -> bool:
        return client._on_notification(note) if client is not None else False

    async def on_request(request: Request) -> Any:
        assert client is not None
        return await client._on_request(request)

    def on_closed(error: TransportError) -> None:
        if client is not None:
            client._on_closed(error)

    async with open_jsonrpc(
        process,  # type: ignore[arg-type]
        on_notification=on_notification,
        on_request=on_request,
        on_closed=on_closed,
        request_timeout=30,
        max_server_requests=max_server_requests,
    ) as connection:
        client = AppServerClient(
            connection, approval_handler=approval_handler, event_buffer=event_buffer
        )
        client._register(THREAD, (), None)  # a known thread: usage updates get decoded too
        yield client


# ------------------------------------------------------------------------------ strategies

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=16,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=5)
known_methods = st.sampled_from(sorted(g.SERVER_NOTIFICATIONS))
methods = known_methods | st.text(max_size=20)
approval_methods = st.sampled_from(
    [
        "item/commandExecution/requestApproval",
        "item/fileChange/requestApproval",
        "mcpServer/elicitation/request",
        "item/permissions/requestApproval",
        "execCommandApproval",
        "applyPatchApproval",
    ]
)
other_request_methods = st.sampled_from(
    ["item/tool/call", "item/tool/requestUserInput", "currentTime/read", "brand/new", ""]
) | st.text(max_size=20)
# Ids a JSON-RPC client can echo (JSON-RPC 2.0 allows strings, numbers and null; the rest is
# odd, but echoable). Huge integers are left out: orjson reads them as floats.
odd_ids = (
    st.integers(-(2**63), 2**63 - 1)
    | st.text(max_size=10).filter(lambda s: not s.startswith("approval-"))
    | st.none()
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.lists(st.integers(-(2**63), 2**63 - 1), max_size=3)
    | st.dictionaries(st.text(max_size=3), st.integers(-(2**63), 2**63 - 1), max_size=2)
)
# Ids that cannot be written back at all: not JSON numbers, or not valid Unicode.
unechoable_ids = st.sampled_from(
    [b"NaN", b"Infinity", b"-Infinity", b"1e400", b'"\\ud800"', b'"a\\udfffb"', b'["\\ud83d"]']
)
deep = st.integers(1000, 100_000)
nesting = st.integers(1, 1500)


def _deep_lines(n: int) -> list[bytes]:
    return [
        b"[" * n,
        b"[" * n + b"]" * n,
        b'{"a":' * n + b"1" + b"}" * n,
        b'{"method":"item/agentMessage/delta","params":{"threadId":"'
        + THREAD.encode()
        + b'","turnId":"x","itemId":"i","delta":'
        + b"[" * n
        + b"]" * n
        + b"}}",
        b'{"id":"deep","method":"item/tool/call","params":{"threadId":"'
        + THREAD.encode()
        + b'","x":'
        + b"[" * n
        + b"}}",
    ]


@st.composite
def fuzz_lines(draw: st.DrawFn) -> tuple[list[bytes | BaseException], Counter[str], set[str]]:
    """Lines for the reader, the ids (as ``_key``) that must be answered (how many times),
    and the ids of approval requests that do not decode (which must be declined)."""
    lines: list[bytes | BaseException] = []
    expected: Counter[str] = Counter()
    declines: set[str] = set()
    rid: Any
    params: Any
    for _ in range(draw(st.integers(0, 30))):
        kind = draw(st.integers(0, 13))
        if kind == 0:  # random bytes, split as the line reader splits them
            lines.extend(draw(st.binary(max_size=200)).split(b"\n"))
        elif kind == 1:  # invalid UTF-8, bare and inside a would-be notification
            bad = draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88"]))
            lines.append(
                draw(st.sampled_from([b"", b"{", b'{"method":"x","params":{"a":"'])) + bad + b'"}}'
            )
        elif kind == 2:  # nested far too deep for any parser
            lines.append(draw(st.sampled_from(_deep_lines(draw(deep)))))
        elif kind == 3:  # nested deep, around the parsers' limits
            n = draw(nesting)
            lines.append(
                b'{"method":"thread/status/changed","params":{"threadId":"'
                + THREAD.encode()
                + b'","status":'
                + b"[" * n
                + b"]" * n
                + b"}}"
            )
        elif kind == 4:  # huge numbers
            digits = b"1" + b"0" * draw(st.integers(18, 6000))
            where = draw(st.integers(0, 2))
            if where == 0:
                lines.append(
                    b'{"method":"thread/tokenUsage/updated","params":{"threadId":"'
                    + THREAD.encode()
                    + b'","tokenUsage":'
                    + digits
                    + b"}}"
                )
            elif where == 1:
                lines.append(b'{"jsonrpc":"2.0","id":' + digits + b',"result":1}')
            else:
                lines.append(
                    b'{"method":"m","params":{"threadId":"'
                    + THREAD.encode()
                    + b'","n":1e400,"m":-'
                    + digits
                    + b"}}"
                )
        elif kind == 5:  # a notification for the subscribed thread, random params
            params = {**draw(json_objects), "threadId": THREAD}
            if draw(st.booleans()):
                params["turnId"] = draw(st.sampled_from([TURN, "other"]))
            lines.append(_line({"jsonrpc": "2.0", "method": draw(methods), "params": params}))
        elif kind == 6:  # a notification for nobody, or without a thread
            lines.append(_line({"method": draw(methods), "params": draw(json_objects)}))
        elif kind == 7:  # responses with unknown or wrong-type ids (0 is the real call's)
            rid = draw(
                st.integers(1, 2**63 - 1)
                | st.booleans()
                | st.none()
                | st.text(max_size=5)
                | st.just(0.0)
                | st.lists(st.integers(0, 9), max_size=2)
            )
            body = draw(st.sampled_from(["result", "error"]))
            value: Any = (
                draw(json_values)
                if body == "result"
                else draw(
                    st.fixed_dictionaries({"code": st.integers(), "message": st.text(max_size=5)})
                    | json_values
                )
            )
            lines.append(_line({"jsonrpc": "2.0", "id": rid, body: value}))
        elif kind == 8:  # requests with odd ids and methods
            rid = draw(odd_ids)
            message: dict[str, Any] = {
                "jsonrpc": "2.0",
                "id": rid,
                "method": draw(other_request_methods),
            }
            if draw(st.booleans()):
                message["params"] = draw(json_objects)
            lines.append(_line(message))
            expected[_key(rid)] += 1
        elif kind == 9:  # approval requests whose params do not decode
            rid = f"approval-{len(declines)}"
            params = draw(
                st.sampled_from(
                    [
                        {"threadId": 5, "itemId": []},
                        {"threadId": THREAD, "turnId": {}, "itemId": None},
                        {"threadId": [THREAD]},
                        {},
                    ]
                )
                | json_objects
            )
            lines.append(
                _line(
                    {
                        "jsonrpc": "2.0",
                        "id": rid,
                        "method": "item/commandExecution/requestApproval",
                        "params": params,
                    }
                )
            )
            expected[_key(rid)] += 1
            declines.add(rid)
        elif kind == 10:  # other approval methods, random params
            rid = draw(odd_ids)
            lines.append(
                _line({"id": rid, "method": draw(approval_methods), "params": draw(json_objects)})
            )
            expected[_key(rid)] += 1
        elif kind == 11:  # requests whose id cannot be written back: never answerable
            lines.append(
                b'{"jsonrpc":"2.0","id":'
                + draw(unechoable_ids)
                + b',"method":"'
                + draw(
                    st.sampled_from(
                        [b"x", b"currentTime/read", b"item/commandExecution/requestApproval"]
                    )
                )
                + b'","params":{}}'
            )
        elif kind == 12:  # an oversized line, as the line reader reports it
            lines.append(LineTooLongError(1024, b'{"method":"item/agentMessage/delta"'))
        else:  # blank lines, and JSON that is not JSON-RPC
            lines.append(
                draw(
                    st.sampled_from(
                        [
                            b"",
                            b"   ",
                            b"null",
                            b"[]",
                            b'"x"',
                            b"{}",
                            b'{"id":1}',
                            b'{"method":1}',
                            b'{"method":"m","params":[1]}',
                        ]
                    )
                )
            )
    return lines, expected, declines


# ------------------------------------------------------------------------- the reader fuzz


async def _reader_survives(
    lines: list[Any],
    expected: Counter[str],
    declines: set[str],
    max_server_requests: int,
) -> None:
    process = FakeCodexProcess()
    approvals: list[ApprovalRequest] = []

    async def approve(request: ApprovalRequest) -> ApprovalDecision:
        approvals.append(request)
        return ApprovalDecision.ACCEPT

    sentinel = {"threadId": THREAD, "turnId": TURN, "itemId": "sentinel", "delta": "the end"}
    with trio.fail_after(30):
        async with (
            client_over(
                process, approval_handler=approve, max_server_requests=max_server_requests
            ) as client,
            client.subscribe(THREAD) as sub,
        ):
            connection = client.connection
            result: list[Any] = []

            async def call() -> None:
                result.append(await connection.call("fuzz/call", {"n": 1}))

            async with trio.open_nursery() as nursery:
                nursery.start_soon(call)
                await process.wait_sent(lambda: len(process.sent) == 1)
                (request,) = process.sent
                assert request["method"] == "fuzz/call" and request["id"] == 0

                process.feed(*lines)
                # Let the garbage be read and acted on (a response it wrongly took for the
                # call's would wake the call now) before the real response comes.
                await trio.testing.wait_all_tasks_blocked()
                process.feed(
                    _line({"jsonrpc": "2.0", "id": request["id"], "result": {"ok": [1, "two"]}}),
                    _line(
                        {"jsonrpc": "2.0", "method": "item/agentMessage/delta", "params": sentinel}
                    ),
                )
            assert result == [{"ok": [1, "two"]}]
            # Every handler done, every answer written: all tasks but this one are blocked.
            await trio.testing.wait_all_tasks_blocked()
            # The sentinel is the last line fed: once it is in, every line was read.
            seen = []
            while True:
                note = sub.receive_nowait()
                seen.append(note)
                if note.params == sentinel:
                    break
            assert connection.error is None
            assert client.error is None
            answers = process.answers
    assert Counter(_key(a["id"]) for a in answers) == expected
    for answer in answers:
        assert ("result" in answer) != ("error" in answer), answer
        if "error" in answer:
            assert isinstance(answer["error"]["code"], int)
    by_id = {a["id"]: a for a in answers if isinstance(a["id"], str)}
    for rid in declines:
        answer = by_id[rid]
        if "error" in answer:  # refused for want of room (max_server_requests), never -32603
            assert answer["error"]["code"] == -32001, answer
        else:
            assert answer["result"] == {"decision": "decline"}, answer


@FUZZ
@given(fuzz_lines(), st.sampled_from([1, 2, 5, 256]))
def test_no_line_stops_the_reader_and_every_request_is_answered_once(
    generated: tuple[list[bytes | BaseException], Counter[str], set[str]],
    max_server_requests: int,
) -> None:
    lines, expected, declines = generated
    trio.run(_reader_survives, lines, expected, declines, max_server_requests)


def test_the_reader_survives_each_kind_of_bad_line_on_its_own() -> None:
    """The fuzz's worst cases, named, so a regression says which line killed the reader."""
    for n in (1000, 1025, 5000, 100_000):
        for line in _deep_lines(n):
            trio.run(_reader_survives, [line], Counter(), set(), 256)
    trio.run(
        _reader_survives,
        [
            b'{"id":"approval-0","method":"item/commandExecution/requestApproval",'
            b'"params":{"threadId":5,"itemId":[]}}',
            b'{"id":false,"result":"not the answer to call 0"}',
        ],
        Counter({_key("approval-0"): 1}),
        {"approval-0"},
        256,
    )


def test_a_request_whose_id_cannot_be_written_back_does_not_kill_the_connection() -> None:
    """NaN, infinities and lone surrogates parse (json.loads takes them) but cannot be echoed:
    answering such a request used to raise out of the handler task and end the connection."""
    for raw in (b"NaN", b"1e400", b'"\\ud800"'):
        for cap in (1, 256):
            line = b'{"jsonrpc":"2.0","id":' + raw + b',"method":"currentTime/read"}'
            # With a cap of 1, the first request takes the one slot and this one is refused.
            first = _line({"id": "first", "method": "currentTime/read"})
            trio.run(_reader_survives, [first, line], Counter({_key("first"): 1}), set(), cap)


# ---------------------------------------------------------------------- the consumer fuzz

ITEMS: list[dict[str, Any]] = [
    {"type": "agentMessage", "id": "m", "text": "hi"},
    {"type": "reasoning", "id": "r", "summary": ["a"], "content": ["b"]},
    {
        "type": "commandExecution",
        "id": "c",
        "command": "ls",
        "cwd": "/",
        "status": "completed",
        "commandActions": [],
        "aggregatedOutput": "x",
        "exitCode": 0,
    },
    {
        "type": "fileChange",
        "id": "f",
        "status": "completed",
        "changes": [{"path": "a.txt", "kind": {"type": "add"}, "diff": "+x"}],
    },
    {"type": "userMessage", "id": "u1", "content": []},
    {"type": "contextCompaction", "id": "x"},
    {
        "type": "dynamicToolCall",
        "id": "d",
        "tool": "t",
        "arguments": {},
        "status": "completed",
        "contentItems": [{"type": "inputText", "text": "4"}],
        "success": True,
    },
]
BREAKDOWN = {
    "inputTokens": 1,
    "cachedInputTokens": 0,
    "outputTokens": 2,
    "reasoningOutputTokens": 0,
    "totalTokens": 3,
}
TEMPLATES: list[tuple[str, dict[str, Any]]] = [
    ("item/agentMessage/delta", {"itemId": "i", "delta": "x"}),
    ("item/commandExecution/outputDelta", {"itemId": "c", "delta": "out"}),
    ("item/reasoning/summaryTextDelta", {"itemId": "r", "delta": "s", "summaryIndex": 0}),
    ("item/reasoning/textDelta", {"itemId": "r", "delta": "t", "contentIndex": 0}),
    (
        "turn/plan/updated",
        {
            "explanation": None,
            "plan": [{"step": "a", "status": "pending"}, {"step": "b", "status": "completed"}],
        },
    ),
    ("turn/diff/updated", {"diff": "d"}),
    ("error", {"error": {"message": "boom"}, "willRetry": True}),
    (
        "thread/tokenUsage/updated",
        {"tokenUsage": {"total": BREAKDOWN, "last": BREAKDOWN, "modelContextWindow": None}},
    ),
    ("turn/started", {"turn": {"id": TURN, "items": [], "status": "inProgress"}}),
    ("turn/completed", {"turn": {"id": TURN, "items": [], "status": "completed"}}),
    (
        "turn/completed",
        {"turn": {"id": TURN, "items": [], "status": "failed", "error": {"message": "bad"}}},
    ),
    *[("item/started", {"item": item, "startedAtMs": 1}) for item in ITEMS],
    *[("item/completed", {"item": item, "completedAtMs": 1}) for item in ITEMS],
]


@st.composite
def turn_notifications(draw: st.DrawFn) -> bytes:
    """A notification for the turn: a valid one, mutated (keys replaced, dropped, added),
    or random params under any method."""
    params: Any
    if draw(st.integers(0, 3)) == 0:
        method, params = draw(methods), draw(json_objects)
    else:
        method, template = draw(st.sampled_from(TEMPLATES))
        params = json.loads(json.dumps(template))
        for _ in range(draw(st.integers(0, 3))):
            target = params
            nested = [k for k, v in params.items() if isinstance(v, dict)]
            if nested and draw(st.integers(0, 1)):
                target = params[draw(st.sampled_from(nested))]
            keys = sorted(target)
            if keys and draw(st.integers(0, 1)):
                key = draw(st.sampled_from(keys))
                if draw(st.booleans()):
                    del target[key]
                else:
                    target[key] = draw(json_values)
            else:
                target[draw(st.text(max_size=6))] = draw(json_values)
    params["threadId"] = THREAD
    if draw(st.booleans()):
        params["turnId"] = TURN
    if draw(st.integers(0, 9)) == 0:
        n = draw(st.integers(300, 1010))  # deep, yet within what orjson parses
        deep_value = b"[" * n + b"]" * n
        return _line({"method": method, "params": params})[:-2] + b',"z":' + deep_value + b"}}"
    return _line({"jsonrpc": "2.0", "method": method, "params": params})


STARTED = _line(
    {
        "method": "turn/started",
        "params": {"threadId": THREAD, "turn": {"id": TURN, "items": [], "status": "inProgress"}},
    }
)
COMPLETED = _line(
    {
        "method": "turn/completed",
        "params": {"threadId": THREAD, "turn": {"id": TURN, "items": [], "status": "completed"}},
    }
)


async def _consume_turn(before: list[bytes], between: list[bytes], buffer: int) -> None:
    def responder(request: dict[str, Any]) -> Any:
        if request["method"] == "turn/start":
            return {"turn": {"id": TURN, "items": [], "status": "inProgress"}}
        return {}

    process = FakeCodexProcess(responder)

    async def approve(request: ApprovalRequest) -> ApprovalDecision:
        return ApprovalDecision.DECLINE  # pragma: no cover - no approvals here

    events: list[Any] = []
    with trio.fail_after(30):
        async with client_over(process, approval_handler=approve, event_buffer=buffer) as client:
            try:
                async with client.turn(THREAD, "hi") as turn:
                    process.feed(*before, STARTED, *between, COMPLETED)
                    async for event in turn:
                        events.append(event)
            except CodexError:
                pass  # a typed error is a fine end; any other exception fails the test
            assert client.error is None
            # The connection still serves calls after whatever this turn was fed.
            assert await client.request("after/turn") == {}


@FUZZ
@given(
    st.lists(turn_notifications(), max_size=8),
    st.lists(turn_notifications(), max_size=15),
    st.sampled_from([1, 4, 256]),
)
@example(  # found by this fuzz: an enum field of the wrong type raised TypeError from map_item
    before=[],
    between=[
        _line(
            {
                "method": "item/completed",
                "params": {
                    "threadId": THREAD,
                    "turnId": TURN,
                    "completedAtMs": 1,
                    "item": {**ITEMS[-1], "status": []},
                },
            }
        )
    ],
    buffer=256,
)
def test_a_turn_fed_random_notifications_ends_or_raises_a_codex_error(
    before: list[bytes], between: list[bytes], buffer: int
) -> None:
    trio.run(_consume_turn, before, between, buffer)


# -------------------------------------------------------------- on a fake app-server process

PRELUDE = APP_SERVER_PRELUDE

DEEP_IN_A_TURN = """
msg = read()  # turn/start
out({"id": msg["id"], "result": {"turn": {"id": "u", "items": [], "status": "inProgress"}}})
out({"method": "turn/started", "params": {"threadId": "A", "turn": {"id": "u", "items": [], "status": "inProgress"}}})
out({"method": "item/agentMessage/delta", "params": {"threadId": "A", "turnId": "u", "itemId": "m", "delta": "be"}})
sys.stdout.write('{"method":"item/agentMessage/delta","params":{"threadId":"A","turnId":"u","itemId":"m","delta":' + "[" * 5000 + "]" * 5000 + "}}\\n")
sys.stdout.write("[" * 5000 + "\\n"); sys.stdout.flush()
out({"method": "item/agentMessage/delta", "params": {"threadId": "A", "turnId": "u", "itemId": "m", "delta": "fore"}})
out({"method": "item/completed", "params": {"threadId": "A", "turnId": "u", "completedAtMs": 1, "item": {"type": "agentMessage", "id": "m", "text": "before"}}})
out({"method": "turn/completed", "params": {"threadId": "A", "turn": {"id": "u", "items": [], "status": "completed"}}})
while True:
    msg = read()
    out({"id": msg["id"], "result": {"method": msg["method"]}})
"""


async def test_a_line_nested_5000_deep_mid_turn_is_skipped_and_the_connection_lives(
    tmp_path: Path,
) -> None:
    path = fake_codex(tmp_path, PRELUDE + DEEP_IN_A_TURN)
    with trio.fail_after(30):
        async with open_app_server(CodexOptions(codex_path=path)) as client:
            result = await client.run_turn("A", "hi")
            assert client.error is None
            assert client.connection.skipped_lines == 2
            assert await client.request("still/there") == {"method": "still/there"}
    assert result.status == "completed" and result.final_response == "before"


# ------------------------------------------- approvals that do not decode (issue 8 item 4b)

UNDECODABLE_APPROVAL = """
go = read()
out({"id": go["id"], "result": {}})
out({"id": 0, "method": %r, "params": {"threadId": 5, "itemId": []}})
reply = read()
out({"method": "report/answer", "params": {"threadId": "A", "reply": reply}})
while True:
    msg = read()
    out({"id": msg["id"], "result": {}})
"""


@pytest.mark.parametrize(
    ("method", "decline"),
    [
        ("item/commandExecution/requestApproval", {"decision": "decline"}),
        ("item/fileChange/requestApproval", {"decision": "decline"}),
        ("mcpServer/elicitation/request", {"action": "decline", "content": None}),
    ],
)
async def test_an_approval_whose_params_do_not_decode_is_declined_not_an_error(
    tmp_path: Path, method: str, decline: dict[str, Any]
) -> None:
    asked: list[ApprovalRequest] = []

    async def approve_everything(request: ApprovalRequest) -> ApprovalDecision:
        asked.append(request)
        return ApprovalDecision.ACCEPT

    path = fake_codex(tmp_path, PRELUDE + UNDECODABLE_APPROVAL % method)
    with trio.fail_after(30):
        async with open_app_server(
            CodexOptions(codex_path=path), approval_handler=approve_everything
        ) as client:
            async with client.subscribe("A") as sub:
                await client.request("go")
                report = await sub.receive()
            assert client.error is None
            assert await client.request("still/there") == {}
    reply = report.params["reply"]
    assert reply == {"jsonrpc": "2.0", "id": 0, "result": decline}
    assert asked == []
