"""The ``codex app-server`` protocol: generated v2 types, JSON-RPC messages, event mapping.

* :mod:`._generated` — attrs classes for every request, response, notification and server
  request of the pinned codex's v2 schema (``scripts/gen_app_server_protocol.py``), with the
  method tables ``CLIENT_REQUESTS``, ``SERVER_REQUESTS``, ``SERVER_NOTIFICATIONS``;
* :mod:`.messages` — parsing and classification of incoming lines, typed notifications, typed
  JSON-RPC errors, safe encoding;
* :mod:`.turn_events` — notifications of a turn as the exec transport's public events, plus the
  richer app-server-only events.

Pure data: nothing here does I/O.

The names below load lazily (PEP 562): the generated module takes most of a second to import,
and only the app-server transport needs it, so ``import codex_trio`` does not load it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codex_trio._protocol.app_server import _generated as types
    from codex_trio._protocol.app_server.messages import (
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
    from codex_trio._protocol.app_server.turn_events import (
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

_LAZY: dict[str, str] = {
    # name: the submodule it comes from ("types" is the generated module itself)
    "types": "_generated",
    "AgentMessageDeltaEvent": "turn_events",
    "AppServerEvent": "turn_events",
    "AppServerNotificationEvent": "turn_events",
    "CommandOutputDeltaEvent": "turn_events",
    "PlanUpdatedEvent": "turn_events",
    "ReasoningDeltaEvent": "turn_events",
    "TokenUsageUpdatedEvent": "turn_events",
    "TurnDiffUpdatedEvent": "turn_events",
    "TurnEventMapper": "turn_events",
    "map_item": "turn_events",
    "InternalError": "messages",
    "InvalidMessageError": "messages",
    "InvalidParamsError": "messages",
    "InvalidRequestError": "messages",
    "JsonRpcError": "messages",
    "MethodNotFoundError": "messages",
    "Notification": "messages",
    "ParseError": "messages",
    "Request": "messages",
    "Response": "messages",
    "ServerOverloadedError": "messages",
    "UnknownNotification": "messages",
    "classify": "messages",
    "decode_notification": "messages",
    "decode_params": "messages",
    "encode_message": "messages",
    "encode_params": "messages",
    "parse_message": "messages",
}


def __getattr__(name: str) -> Any:
    try:
        submodule = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    module = importlib.import_module(f"{__name__}.{submodule}")
    value = module if name == "types" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


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
