"""Server-to-client requests of ``codex app-server``: approvals, dynamic tools, user input."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import attrs
import trio

from codex_trio._errors import (
    CodexError,
)
from codex_trio._protocol.app_server import _generated as g
from codex_trio._protocol.app_server.messages import (
    MethodNotFoundError,
    Request,
    decode_params,
)
from codex_trio._protocol.app_server.server_requests import (
    APPROVAL_METHODS,
    ApprovalDecision,
    ApprovalHandler,
    ApprovalKind,
    ApprovalRecord,
    ApprovalRequest,
    DynamicTool,
    ToolCall,
    ToolResult,
    approval_request,
    approval_response,
    tool_response,
)
from codex_trio._protocol.app_server.turn_events import usage_from_breakdown
from codex_trio._protocol.exec_events import (
    Usage,
)
from codex_trio._redact import redact
from codex_trio._transport.app_server._turn import AppServerTurn
from codex_trio.observe import events as ev
from codex_trio.observe import get_logger, telemetry

_log = get_logger("codex_trio._transport.app_server")


UserInputHandler = Callable[[g.ToolRequestUserInputParams], Awaitable[Mapping[str, Sequence[str]]]]
"""Answers the model's ``request_user_input`` questions: ``{question id: [answers]}``."""


@attrs.define(eq=False)
class ThreadRecord:
    """What a client keeps about one thread."""

    tools: dict[str, DynamicTool] = attrs.field(factory=dict)
    handler: ApprovalHandler | None = None
    loaded: bool = False
    _usage_params: Mapping[str, Any] | None = attrs.field(default=None, init=False)
    _usage: Usage | None = attrs.field(default=None, init=False)

    def note_usage(self, params: Mapping[str, Any]) -> None:
        """Keep a ``thread/tokenUsage/updated``'s params (the reader does only this: they are
        decoded when :attr:`usage` is read, at the thread's next turn, not once per update)."""
        self._usage_params = params

    @property
    def usage(self) -> Usage | None:
        """The thread's cumulative usage as of its last token-usage update (None before one;
        an update that does not decode leaves the previous value)."""
        params, self._usage_params = self._usage_params, None
        if params is not None:
            try:
                decoded = decode_params(g.ThreadTokenUsageUpdatedNotification, params)
            except (CodexError, RecursionError):
                return self._usage
            self._usage = usage_from_breakdown(decoded.token_usage.total)
        return self._usage


class ServerRequests:
    """Answers the server-to-client requests of one :class:`AppServerClient`.

    Approvals go to the handler registered for the thread (its :class:`ThreadRecord`), else to
    ``approval_handler`` (default: decline and log); a request whose params do not decode is
    declined without reaching a handler. ``item/tool/call`` runs the thread's dynamic tool;
    ``item/tool/requestUserInput`` goes to ``user_input_handler`` (else answered with no
    answers, and logged); ``currentTime/read`` is answered; anything else is "method not found".
    Every approval decision is recorded on the thread's running turn.
    """

    def __init__(
        self,
        *,
        approval_handler: ApprovalHandler,
        threads: Mapping[str, ThreadRecord],
        turns: Mapping[str, AppServerTurn],
    ) -> None:
        self.approval_handler = approval_handler
        self.user_input_handler: UserInputHandler | None = None
        self._threads = threads
        self._turns = turns

    async def __call__(self, request: Request) -> Any:
        """The result for ``request`` (raises a ``JsonRpcError`` for an error answer)."""
        if request.method in APPROVAL_METHODS:
            return await self._approve(request)
        if request.method == "item/tool/call":
            return await self._call_tool(request)
        if request.method == "item/tool/requestUserInput":
            return await self._user_input(request)
        if request.method == "currentTime/read":
            return {"currentTimeAt": int(time.time())}
        raise MethodNotFoundError(
            f"codex-trio has no handler for server request {request.method!r}",
            method=request.method,
        )

    async def _approve(self, request: Request) -> Any:
        try:
            asked = approval_request(request.method, request.params)
        except (CodexError, RecursionError, TypeError, ValueError) as exc:
            # Nothing to show a handler: never approve what cannot be read. Decline, in the
            # method's own vocabulary.
            _log.warning("approval.undecodable", method=request.method, error=str(exc)[:300])
            telemetry.execute(
                ev.PROTOCOL_ERROR,
                {"count": 1},
                {"kind": "invalid_params", "transport": "app-server"},
            )
            return approval_response(_unreadable_approval(request), ApprovalDecision.DECLINE)
        thread = self._threads.get(asked.thread_id or "")
        handler = (thread.handler if thread is not None else None) or self.approval_handler
        telemetry.execute(
            ("codex", "approval", "requested"),
            {"count": 1},
            {"thread_id": asked.thread_id, "kind": asked.kind.value},
        )
        began = time.monotonic()
        note: str | None = None
        try:
            decision = ApprovalDecision(await handler(asked))
        except Exception as exc:  # the handler's bug must not approve anything
            decision, note = ApprovalDecision.DECLINE, f"handler failed: {exc!r:.200}"
            _log.warning("approval.handler_failed", error=note, thread_id=asked.thread_id)
        latency = time.monotonic() - began
        telemetry.execute(
            ("codex", "approval", "decided"),
            {"latency": latency},
            {"thread_id": asked.thread_id, "kind": asked.kind.value, "decision": decision.value},
        )
        record = ApprovalRecord(request=asked, decision=decision, latency=latency, note=note)
        turn = self._turns.get(asked.thread_id or "")
        if turn is not None:
            turn.approvals.append(record)
        return approval_response(asked, decision)

    async def _user_input(self, request: Request) -> Any:
        params = decode_params(g.ToolRequestUserInputParams, request.params, method=request.method)
        if self.user_input_handler is None:
            _log.warning(
                "user_input.unanswered", thread_id=params.thread_id, questions=len(params.questions)
            )
            return {"answers": {}}
        answers = await self.user_input_handler(params)
        return {"answers": {qid: {"answers": list(a)} for qid, a in answers.items()}}

    async def _call_tool(self, request: Request) -> Any:
        params = decode_params(g.DynamicToolCallParams, request.params, method=request.method)
        call = ToolCall(
            thread_id=params.thread_id,
            turn_id=params.turn_id,
            call_id=params.call_id,
            tool=params.tool,
            namespace=params.namespace,
            arguments=params.arguments,
        )
        record = self._threads.get(call.thread_id)
        tool = record.tools.get(call.tool) if record is not None else None
        status = "ok"
        with telemetry.span(
            ("codex", "tool", "call"), {"thread_id": call.thread_id, "tool": call.tool}
        ) as span:
            if tool is None:
                status = "error"
                result = ToolResult(text=f"unknown tool {call.tool!r}", success=False)
            else:
                result, status = await _run_tool(tool, call)
            span.metadata["status"] = status
        return tool_response(result)


async def _run_tool(tool: DynamicTool, call: ToolCall) -> tuple[ToolResult, str]:
    try:
        with trio.fail_after(tool.timeout):
            result = await tool.handler(call)
    except trio.TooSlowError:
        return ToolResult(
            text=f"tool {tool.name!r} timed out after {tool.timeout:g} s", success=False
        ), "timeout"
    except Exception as exc:
        # The model sees this text: never a secret that the exception happened to carry.
        text = redact(f"tool {tool.name!r} failed: {type(exc).__name__}: {exc}")
        _log.warning("tool.failed", tool=tool.name, error=text[:300], thread_id=call.thread_id)
        return ToolResult(text=text, success=False), "error"
    return result, ("ok" if result.success else "error")


def _unreadable_approval(request: Request) -> ApprovalRequest:
    """A minimal :class:`ApprovalRequest` for params that do not decode, enough to say no."""
    params = request.params if isinstance(request.params, Mapping) else {}
    thread_id = params.get("threadId")
    return ApprovalRequest(
        kind=APPROVAL_METHODS.get(request.method, ApprovalKind.COMMAND_EXECUTION),
        method=request.method,
        thread_id=thread_id if isinstance(thread_id, str) else None,
        turn_id=None,
        item_id=None,
        params=dict(params),
    )
