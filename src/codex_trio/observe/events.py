"""The catalogue of telemetry events codex-trio emits, and the values their metadata may take.

Emitters use these constants rather than spelling tuples out, so that a typo is a NameError
instead of an event nobody listens to. docs/telemetry.md lists the same events with every
measurement and metadata key; keep the two in step.

Measurements are numbers (``float`` or ``int``); durations are seconds from a monotonic clock.
Metadata never holds secrets (prompts, keys); ids (``thread_id``...) are fine in metadata but are
never used as metric labels (see :mod:`codex_trio.observe._metrics`).

The ``*_VALUES`` sets are the values a metadata key is documented to take. Metrics use them as
allow-lists for labels: anything else is counted as ``"other"``, which keeps the number of time
series bounded whatever an emitter (or codex) sends.
"""

from __future__ import annotations

from typing import Final

from codex_trio.observe.telemetry import HANDLER_FAILED, EventName

__all__ = [
    "ALL_EVENTS",
    "APP_SERVER_RECYCLE",
    "APP_SERVER_RECYCLE_REASON_VALUES",
    "APP_SERVER_RESTART",
    "APP_SERVER_SAMPLE",
    "APP_SERVER_SLOT_VALUES",
    "APP_SERVER_STATE",
    "APP_SERVER_STATE_VALUES",
    "APPROVAL_DECIDED",
    "APPROVAL_DECISION_VALUES",
    "APPROVAL_KIND_VALUES",
    "APPROVAL_REQUESTED",
    "CHANNEL_BACKPRESSURE",
    "CHANNEL_STATS",
    "CHANNEL_VALUES",
    "MAX_APP_SERVER_SLOTS",
    "COMMAND_EXECUTED",
    "COMMAND_STATUS_VALUES",
    "ITEM_COMPLETED",
    "ITEM_STATUS_VALUES",
    "ITEM_TYPE_VALUES",
    "PROCESS_EXIT",
    "PROCESS_EXIT_REASON_VALUES",
    "PROCESS_SPAWN",
    "PROTOCOL_ERROR",
    "PROTOCOL_ERROR_KIND_VALUES",
    "RATE_LIMITS_UPDATED",
    "RATE_LIMIT_WINDOW_VALUES",
    "SUPERVISOR_CHILD_RESTART",
    "SUPERVISOR_CHILD_START",
    "SUPERVISOR_CHILD_TERMINATE",
    "SUBSCRIPTION_OVERFLOW",
    "SUPERVISOR_INTENSITY_EXCEEDED",
    "TELEMETRY_HANDLER_FAILED",
    "THREAD_START",
    "THREAD_STOP",
    "TOOL_CALL",
    "TOOL_CALL_EXCEPTION",
    "TOOL_CALL_START",
    "TOOL_CALL_STOP",
    "TOOL_STATUS_VALUES",
    "TRANSPORT_VALUES",
    "TURN",
    "TURN_EXCEPTION",
    "TURN_START",
    "TURN_STATUS_VALUES",
    "TURN_STOP",
]

# --- threads -------------------------------------------------------------------------------------

THREAD_START: Final[EventName] = ("codex", "thread", "start")
"""A thread actor started (new thread or resumed). Metadata ``thread_id``, ``transport``.

``thread_id`` may be ``None`` for a new exec thread whose id codex has not reported yet.
"""

THREAD_STOP: Final[EventName] = ("codex", "thread", "stop")
"""A thread actor stopped for good (not a restart). Metadata ``thread_id``, ``transport``."""

# --- turns (a span) ------------------------------------------------------------------------------

TURN: Final[EventName] = ("codex", "turn")
"""Span prefix of one turn: ``bus.span(TURN, {...})`` emits the three events below."""

TURN_START: Final[EventName] = (*TURN, "start")
"""A turn began. Measurements ``monotonic_time``, ``system_time``.

Metadata ``thread_id``, ``turn_id`` (may be ``None`` until codex assigns it), ``transport``
(``"exec"`` | ``"app-server"``), ``model``.
"""

TURN_STOP: Final[EventName] = (*TURN, "stop")
"""A turn ended with a result. Measurements ``duration`` and this turn's own token counts
``input_tokens``, ``cached_input_tokens``, ``output_tokens``, ``reasoning_output_tokens`` (per
turn: exec reports cumulative usage, the emitter subtracts). Metadata as start plus ``status``
(``"completed"`` | ``"failed"`` | ``"cancelled"`` | ``"error"``).
"""

TURN_EXCEPTION: Final[EventName] = (*TURN, "exception")
"""The turn's code raised (cancellation included). Measurements ``duration``; metadata as start
plus ``kind`` (exception type name, ``"Cancelled"`` when cancelled) and ``reason`` (redacted)."""

# --- items, commands, approvals, tools -----------------------------------------------------------

ITEM_COMPLETED: Final[EventName] = ("codex", "item", "completed")
"""An item of a turn completed. Metadata ``thread_id``, ``item_type`` (as codex names it),
``status``. Measurements ``duration`` (seconds) only when the start time is known."""

COMMAND_EXECUTED: Final[EventName] = ("codex", "command", "executed")
"""A shell command run by codex finished. Metadata ``thread_id``, ``exit_code`` (may be ``None``),
``status``. Measurements ``duration`` when known."""

APPROVAL_REQUESTED: Final[EventName] = ("codex", "approval", "requested")
"""codex asked the client for an approval. Metadata ``thread_id``, ``kind`` (see
:data:`APPROVAL_KIND_VALUES`)."""

APPROVAL_DECIDED: Final[EventName] = ("codex", "approval", "decided")
"""The client answered an approval. Metadata ``thread_id``, ``kind``, ``decision``; measurements
``latency`` (seconds from request to answer)."""

TOOL_CALL: Final[EventName] = ("codex", "tool", "call")
"""Span prefix of one client-side (dynamic) tool call answered by the SDK."""

TOOL_CALL_START: Final[EventName] = (*TOOL_CALL, "start")
"""A tool call began. Metadata ``thread_id``, ``tool``."""

TOOL_CALL_STOP: Final[EventName] = (*TOOL_CALL, "stop")
"""A tool call ended. Measurements ``duration``; metadata as start plus ``status``
(``"ok"`` | ``"error"`` | ``"timeout"``)."""

TOOL_CALL_EXCEPTION: Final[EventName] = (*TOOL_CALL, "exception")
"""The tool call's code raised. Measurements ``duration``; metadata plus ``kind``, ``reason``."""

# --- processes and protocol ----------------------------------------------------------------------

PROCESS_SPAWN: Final[EventName] = ("codex", "process", "spawn")
"""A ``codex`` process was started. Metadata ``pid``, ``transport``."""

PROCESS_EXIT: Final[EventName] = ("codex", "process", "exit")
"""A ``codex`` process was reaped. Metadata ``pid``, ``transport``, ``exit_code`` (or ``None``),
``signal`` (or ``None``), ``reason`` (see :data:`PROCESS_EXIT_REASON_VALUES`). Measurements
``lifetime`` (seconds)."""

PROTOCOL_ERROR: Final[EventName] = ("codex", "protocol", "error")
"""codex wrote something that is not the protocol. Metadata ``kind`` (see
:data:`PROTOCOL_ERROR_KIND_VALUES`), ``transport``."""

APP_SERVER_STATE: Final[EventName] = ("codex", "app_server", "state")
"""The shared app-server of an ``AppServerTransport`` changed state. Measurements ``up`` (1 when
``running``, else 0), ``restarts`` (processes started after the first, so far); metadata
``state`` and ``previous`` (see :data:`APP_SERVER_STATE_VALUES`), ``transport``."""

APP_SERVER_RESTART: Final[EventName] = ("codex", "app_server", "restart")
"""The shared app-server died (or failed to start again) and will be started anew. Measurements
``count`` (1), ``restarts`` (so far); metadata ``reason`` (the error's type name),
``transport``."""

APP_SERVER_SAMPLE: Final[EventName] = ("codex", "app_server", "sample")
"""A periodic sample of the runtime's app-server processes (``Runtime(transport="app-server")``),
one per pool slot (or one summing every per-thread process). Measurements ``threads_placed``,
``threads_loaded``, ``turns_running``, ``awake`` (processes running), ``rss_bytes`` (when
known); metadata ``slot`` (see :data:`APP_SERVER_SLOT_VALUES`), ``transport``."""

APP_SERVER_RECYCLE: Final[EventName] = ("codex", "app_server", "recycle")
"""A pooled (or per-thread) app-server process was stopped on purpose: recycled after loading
``max_threads_per_app_server`` threads or growing past ``max_app_server_rss``, or hibernated
after ``idle_timeout``. Measurements ``count`` (1), ``threads`` (threads placed on it during its
life), ``rss_bytes`` (when known); metadata ``slot``, ``reason`` (see
:data:`APP_SERVER_RECYCLE_REASON_VALUES`), ``transport``."""

SUBSCRIPTION_OVERFLOW: Final[EventName] = ("codex", "subscription", "overflow")
"""A turn's consumer fell behind on a shared app-server: its subscription was full, so the turn
was interrupted and ends with ``SlowConsumerError`` (other threads are not held). Measurements
``count`` (1), ``capacity``; metadata ``thread_id``, ``turn_id``, ``transport``."""

RATE_LIMITS_UPDATED: Final[EventName] = ("codex", "rate_limits", "updated")
"""The engine reported the account's rate limits (app-server ``account/rateLimits/updated``,
once per model request of a turn, or an ``account/rateLimits/read``). Measurements, each only
when known, after merging the sparse update into what was known before: ``primary_used_percent``,
``primary_window_minutes``, ``primary_resets_at`` (Unix seconds), the same for ``secondary``.
Metadata ``limit_id`` (``"codex"``, or another limit the backend meters), ``limit_name``,
``plan_type``, ``exhausted`` (a window is at 100 %), ``transport``."""

# --- supervision ---------------------------------------------------------------------------------

SUPERVISOR_CHILD_START: Final[EventName] = ("codex", "supervisor", "child", "start")
"""A supervisor started a child. Metadata ``supervisor``, ``child_id``, ``reason``."""

SUPERVISOR_CHILD_RESTART: Final[EventName] = ("codex", "supervisor", "child", "restart")
"""A supervisor restarted a child after it ended. Metadata ``supervisor``, ``child_id``,
``reason`` (why the child ended)."""

SUPERVISOR_CHILD_TERMINATE: Final[EventName] = ("codex", "supervisor", "child", "terminate")
"""A supervisor terminated a child (shutdown, or a sibling's restart). Metadata ``supervisor``,
``child_id``, ``reason``."""

SUPERVISOR_INTENSITY_EXCEEDED: Final[EventName] = ("codex", "supervisor", "intensity_exceeded")
"""A supervisor gave up: more than ``restarts`` restarts within ``window`` seconds. Metadata
``supervisor``, ``restarts``, ``window``."""

# --- channels ------------------------------------------------------------------------------------

CHANNEL_STATS: Final[EventName] = ("codex", "channel", "stats")
"""A sample of a bounded channel's fill. Measurements ``queue_depth``, ``capacity``; metadata
``channel`` (see :data:`CHANNEL_VALUES`). Frequent: not logged by the log bridge by default."""

CHANNEL_BACKPRESSURE: Final[EventName] = ("codex", "channel", "backpressure")
"""A sender waited because a bounded channel was full. Measurements ``wait`` (seconds); metadata
``channel``."""

# --- telemetry itself ----------------------------------------------------------------------------

TELEMETRY_HANDLER_FAILED: Final[EventName] = HANDLER_FAILED
"""A handler raised and was detached. Metadata ``handler_id``, ``event`` (the event name tuple)."""

ALL_EVENTS: Final[tuple[EventName, ...]] = (
    THREAD_START,
    THREAD_STOP,
    TURN_START,
    TURN_STOP,
    TURN_EXCEPTION,
    ITEM_COMPLETED,
    COMMAND_EXECUTED,
    APPROVAL_REQUESTED,
    APPROVAL_DECIDED,
    TOOL_CALL_START,
    TOOL_CALL_STOP,
    TOOL_CALL_EXCEPTION,
    PROCESS_SPAWN,
    PROCESS_EXIT,
    PROTOCOL_ERROR,
    APP_SERVER_STATE,
    APP_SERVER_RESTART,
    APP_SERVER_SAMPLE,
    APP_SERVER_RECYCLE,
    SUBSCRIPTION_OVERFLOW,
    RATE_LIMITS_UPDATED,
    SUPERVISOR_CHILD_START,
    SUPERVISOR_CHILD_RESTART,
    SUPERVISOR_CHILD_TERMINATE,
    SUPERVISOR_INTENSITY_EXCEEDED,
    CHANNEL_STATS,
    CHANNEL_BACKPRESSURE,
    TELEMETRY_HANDLER_FAILED,
)
"""Every event in this catalogue."""

# --- documented metadata values (label allow-lists) ----------------------------------------------

TRANSPORT_VALUES: Final = frozenset({"exec", "app-server"})
TURN_STATUS_VALUES: Final = frozenset({"completed", "failed", "interrupted", "cancelled", "error"})
TOOL_STATUS_VALUES: Final = frozenset({"ok", "error", "timeout"})
APPROVAL_KIND_VALUES: Final = frozenset(
    {"command", "file_change", "permissions", "mcp_elicitation"}
)
APPROVAL_DECISION_VALUES: Final = frozenset(
    # app-server v2 spellings, then the older ones, then what an elicitation answer can be.
    {
        "accept",
        "acceptForSession",
        "decline",
        "cancel",
        "approved",
        "approved_for_session",
        "denied",
        "abort",
        "timeout",
    }
)
PROCESS_EXIT_REASON_VALUES: Final = frozenset({"normal", "error", "signal", "killed"})
PROTOCOL_ERROR_KIND_VALUES: Final = frozenset(
    {
        "invalid_json",
        "oversized_line",
        "unknown",
        "unknown_event",
        "unknown_item",
        "invalid_message",
        "unexpected_response",
        "decode_error",
        "invalid",
        "invalid_params",
        "undecodable",
        "notification_handler_failed",
        "server_requests_over_cap",
    }
)
APP_SERVER_STATE_VALUES: Final = frozenset(
    {"starting", "running", "restarting", "backoff", "stopped"}
)
MAX_APP_SERVER_SLOTS: Final = 64
APP_SERVER_SLOT_VALUES: Final = frozenset(
    {*(str(n) for n in range(MAX_APP_SERVER_SLOTS)), "per-thread"}
)
"""Pool slots are labels ``"0"`` to ``"63"`` (a bigger pool's others count as ``"other"``);
processes of their own per thread share the label ``"per-thread"`` (never a pid, never a name)."""
APP_SERVER_RECYCLE_REASON_VALUES: Final = frozenset({"threads", "rss", "idle"})
CHANNEL_VALUES: Final = frozenset({"events", "mailbox", "stdout", "stderr", "requests"})
ITEM_TYPE_VALUES: Final = frozenset(
    {
        # codex exec --json
        "agent_message",
        "reasoning",
        "command_execution",
        "file_change",
        "mcp_tool_call",
        "web_search",
        "todo_list",
        "error",
        # codex app-server
        "userMessage",
        "agentMessage",
        "commandExecution",
        "fileChange",
        "mcpToolCall",
        "dynamicToolCall",
        "webSearch",
        "imageView",
        "plan",
        "enteredReviewMode",
        "exitedReviewMode",
        "contextCompaction",
        "collabAgentToolCall",
        "functionCallOutput",
        "hookPrompt",
        "imageGeneration",
        "sleep",
        "subAgentActivity",
    }
)
ITEM_STATUS_VALUES: Final = frozenset(
    {"completed", "failed", "declined", "in_progress", "inProgress", "interrupted"}
)
COMMAND_STATUS_VALUES: Final = frozenset({"completed", "failed", "declined", "interrupted"})
RATE_LIMIT_WINDOW_VALUES: Final = frozenset({"primary", "secondary"})
