"""The ``codex app-server`` protocol: generated v2 types, JSON-RPC messages, event mapping.

* :mod:`._generated` — attrs classes for every request, response, notification and server
  request of the pinned codex's v2 schema (``scripts/gen_app_server_protocol.py``), with the
  method tables ``CLIENT_REQUESTS``, ``SERVER_REQUESTS``, ``SERVER_NOTIFICATIONS``;
* :mod:`.messages` — parsing and classification of incoming lines, typed notifications, typed
  JSON-RPC errors, safe encoding;
* :mod:`.mapping` — notifications of a turn as the exec transport's public events, plus the
  richer app-server-only events.

Pure data: nothing here does I/O.
"""

from codex_trio.protocol.app_server import _generated as types
from codex_trio.protocol.app_server.mapping import (
    AgentMessageDeltaEvent,
    AppServerEvent,
    AppServerNotificationEvent,
    CommandOutputDeltaEvent,
    PlanUpdatedEvent,
    ReasoningDeltaEvent,
    TokenUsageUpdatedEvent,
    TurnDiffUpdatedEvent,
    TurnEventMapper,
    map_item,
)
from codex_trio.protocol.app_server.messages import (
    InternalError,
    InvalidMessageError,
    InvalidParamsError,
    InvalidRequestError,
    JsonRpcError,
    MethodNotFoundError,
    Notification,
    ParseError,
    Request,
    Response,
    ServerOverloadedError,
    UnknownNotification,
    classify,
    decode_notification,
    decode_params,
    encode_message,
    encode_params,
    parse_message,
)

__all__ = [
    "AgentMessageDeltaEvent",
    "AppServerEvent",
    "AppServerNotificationEvent",
    "CommandOutputDeltaEvent",
    "InternalError",
    "InvalidMessageError",
    "InvalidParamsError",
    "InvalidRequestError",
    "JsonRpcError",
    "MethodNotFoundError",
    "Notification",
    "ParseError",
    "PlanUpdatedEvent",
    "ReasoningDeltaEvent",
    "Request",
    "Response",
    "ServerOverloadedError",
    "TokenUsageUpdatedEvent",
    "TurnDiffUpdatedEvent",
    "TurnEventMapper",
    "UnknownNotification",
    "classify",
    "decode_notification",
    "decode_params",
    "encode_message",
    "encode_params",
    "map_item",
    "parse_message",
    "types",
]
