"""What the server asks of the client: approvals and dynamic tool calls, as data.

The transport turns each server request into one of these, hands it to user code
(:mod:`codex_trio._api.approvals`, :mod:`codex_trio._api.tools`), and turns the answer back into
the exact response shape the method needs (:func:`approval_response`, :func:`tool_response`).
Every shape here follows the pinned v2 schema; there is no "empty ``{}`` means yes" anywhere.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs

from codex_trio._errors import ProtocolError
from codex_trio.observe import get_logger

# The generated protocol module takes most of a second to import: it is loaded by the functions
# below, at the first server request, never by importing these data classes (exec users need
# them for type hints and `@tool`, not the app-server protocol).

__all__ = [
    "APPROVAL_METHODS",
    "ApprovalDecision",
    "ApprovalHandler",
    "ApprovalKind",
    "ApprovalRecord",
    "ApprovalRequest",
    "DynamicTool",
    "ToolCall",
    "ToolHandler",
    "ToolResult",
    "approval_request",
    "approval_response",
    "decline_and_log",
    "tool_response",
]


class ApprovalDecision(enum.StrEnum):
    """The answer to an approval request (the v2 vocabulary)."""

    ACCEPT = "accept"
    ACCEPT_FOR_SESSION = "acceptForSession"
    DECLINE = "decline"
    CANCEL = "cancel"
    """Decline and interrupt the turn."""


class ApprovalKind(enum.StrEnum):
    COMMAND_EXECUTION = "command_execution"
    FILE_CHANGE = "file_change"
    PERMISSIONS = "permissions"
    MCP_ELICITATION = "mcp_elicitation"


APPROVAL_METHODS: Mapping[str, ApprovalKind] = {
    "item/commandExecution/requestApproval": ApprovalKind.COMMAND_EXECUTION,
    "item/fileChange/requestApproval": ApprovalKind.FILE_CHANGE,
    "item/permissions/requestApproval": ApprovalKind.PERMISSIONS,
    "mcpServer/elicitation/request": ApprovalKind.MCP_ELICITATION,
    # v1 names, still in the schema; answered in their own vocabulary.
    "execCommandApproval": ApprovalKind.COMMAND_EXECUTION,
    "applyPatchApproval": ApprovalKind.FILE_CHANGE,
}


@attrs.frozen(kw_only=True)
class ApprovalRequest:
    """codex wants permission for something. ``params`` is the generated params class of
    ``method`` (or its raw mapping); the flat fields are the facts policies usually need.

    ``command`` is the shell command for command approvals (``None`` otherwise), ``cwd`` its
    directory, ``reason`` the model's justification if it gave one.
    """

    kind: ApprovalKind
    method: str
    thread_id: str | None
    turn_id: str | None
    item_id: str | None
    command: str | None = None
    cwd: str | None = None
    reason: str | None = None
    params: Any = None


@attrs.frozen(kw_only=True)
class ApprovalRecord:
    """One approval of a turn: what was asked, what was answered, and how long it took.

    ``note`` says why a decision was not the handler's own (``"handler timed out"``,
    ``"handler failed: ..."``, ``"no handler"``).
    """

    request: ApprovalRequest
    decision: ApprovalDecision
    latency: float
    note: str | None = None


ApprovalHandler = Callable[[ApprovalRequest], Awaitable[ApprovalDecision]]
"""Answers an approval request: ``async (ApprovalRequest) -> ApprovalDecision``."""

_log = get_logger("codex_trio.approvals")


async def decline_and_log(request: ApprovalRequest) -> ApprovalDecision:
    """The default approval handler: never silently accept."""
    _log.warning(
        "approval.declined_by_default",
        kind=request.kind.value,
        thread_id=request.thread_id,
        command=request.command,
    )
    return ApprovalDecision.DECLINE


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def approval_request(method: str, params: Mapping[str, Any]) -> ApprovalRequest:
    """The :class:`ApprovalRequest` for a server request of one of :data:`APPROVAL_METHODS`."""
    from codex_trio._protocol.app_server import _generated as g
    from codex_trio._protocol.app_server.messages import decode_params

    kind = APPROVAL_METHODS[method]
    cls = g.SERVER_REQUESTS.get(method, (None, None))[0]
    if cls is not None:
        typed: Any = decode_params(cls, params, method=method)
    else:
        typed = _elicitation_params(method, params)
    command = params.get("command")
    if isinstance(command, list):  # v1 sends argv
        command = " ".join(str(c) for c in command)
    return ApprovalRequest(
        kind=kind,
        method=method,
        thread_id=_str(params.get("threadId")) or _str(params.get("conversationId")),
        turn_id=_str(params.get("turnId")),
        item_id=_str(params.get("itemId")) or _str(params.get("callId")),
        command=_str(command),
        cwd=_str(params.get("cwd")),
        reason=_str(params.get("reason")) or _str(params.get("message")),
        params=typed,
    )


def _elicitation_params(method: str, params: Mapping[str, Any]) -> Any:
    """``mcpServer/elicitation/request`` params, checked: the generated module has no class for
    them (a union of variants sharing ``threadId``/``serverName``), so the common part is
    checked here and a known variant decoded; anything that does not fit is a ProtocolError
    (which the client answers with a decline). An unknown ``mode`` of a newer codex passes raw,
    for the handler to judge."""
    from codex_trio._protocol.app_server import _generated as g

    for key in ("threadId", "serverName"):
        if not isinstance(params.get(key), str):
            raise ProtocolError(f"{method}: {key!r} is missing or not a string")
    turn_id = params.get("turnId")
    if turn_id is not None and not isinstance(turn_id, str):
        raise ProtocolError(f"{method}: 'turnId' is not a string")
    try:
        variant = g._d_McpServerElicitationRequestParams(params)
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise ProtocolError(
            f"{method}: params do not match any elicitation variant ({type(exc).__name__})"
        ) from None
    return params if isinstance(variant, g.UnknownMcpServerElicitationRequestParams) else variant


_V1 = {
    ApprovalDecision.ACCEPT: "approved",
    ApprovalDecision.ACCEPT_FOR_SESSION: "approved_for_session",
    ApprovalDecision.DECLINE: "denied",
    ApprovalDecision.CANCEL: "abort",
}


def approval_response(request: ApprovalRequest, decision: ApprovalDecision) -> dict[str, Any]:
    """The JSON result answering ``request`` with ``decision``, in the method's own shape."""
    method = request.method
    if method in ("execCommandApproval", "applyPatchApproval"):
        return {"decision": _V1[decision]}
    if request.kind is ApprovalKind.MCP_ELICITATION:
        action = {
            ApprovalDecision.ACCEPT: "accept",
            ApprovalDecision.ACCEPT_FOR_SESSION: "accept",
            ApprovalDecision.DECLINE: "decline",
            ApprovalDecision.CANCEL: "cancel",
        }[decision]
        return {"action": action, "content": {} if action == "accept" else None}
    if request.kind is ApprovalKind.PERMISSIONS:
        from codex_trio._protocol.app_server import _generated as g

        accepted = decision in (ApprovalDecision.ACCEPT, ApprovalDecision.ACCEPT_FOR_SESSION)
        raw = request.params
        granted: Any = {}
        if accepted:
            granted = (
                g.ENCODERS[type(raw.permissions)](raw.permissions)
                if hasattr(raw, "permissions") and type(raw.permissions) in g.ENCODERS
                else dict(raw.get("permissions", {}))
                if isinstance(raw, Mapping)
                else {}
            )
        scope = "session" if decision is ApprovalDecision.ACCEPT_FOR_SESSION else "turn"
        return {"permissions": granted, "scope": scope}
    return {"decision": decision.value}


# ---------------------------------------------------------------------------- dynamic tools


@attrs.frozen(kw_only=True)
class ToolCall:
    """The model called a client-defined tool. ``arguments`` is the JSON the model sent."""

    thread_id: str
    turn_id: str
    call_id: str
    tool: str
    namespace: str | None
    arguments: Any


@attrs.frozen(kw_only=True)
class ToolResult:
    """What a tool returns to the model: text, and whether the call succeeded."""

    text: str
    success: bool = True


ToolHandler = Callable[[ToolCall], Awaitable[ToolResult]]


@attrs.frozen(kw_only=True)
class DynamicTool:
    """A tool offered to a thread (``thread/start.dynamicTools``) and the code that runs it.

    ``handler`` receives the call and returns a :class:`ToolResult`; ``timeout`` bounds it (the
    model then sees a failure, the connection is unaffected). Build these with
    :func:`codex_trio._api.tools.tool` rather than by hand.
    """

    name: str
    description: str
    input_schema: Mapping[str, Any]
    handler: ToolHandler = attrs.field(repr=False)
    timeout: float = 60.0

    def spec(self) -> dict[str, Any]:
        """The ``DynamicToolSpec`` wire object."""
        return {
            "type": "function",
            "name": self.name,
            "description": self.description,
            "inputSchema": dict(self.input_schema),
        }


def tool_response(result: ToolResult) -> dict[str, Any]:
    """The ``item/tool/call`` response for ``result``."""
    return {
        "contentItems": [{"type": "inputText", "text": result.text}],
        "success": result.success,
    }
