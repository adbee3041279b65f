"""codex_trio.app_server: the ``codex app-server`` protocol and its low-level client.

Most users never need this: ``Codex(transport="app-server")`` and ``Runtime(transport=
"app-server")`` drive the app-server through the one public turn-stream type. This namespace is
for what they do not wrap:

* ``types``: the generated attrs classes of every request, response, notification and server
  request of the pinned codex's v2 schema, with the tables ``CLIENT_REQUESTS``,
  ``SERVER_REQUESTS``, ``SERVER_NOTIFICATIONS`` (importing this module loads it: most of a
  second, which is why ``import codex_trio`` does not);
* the JSON-RPC messages and typed errors (``JsonRpcError`` and one subclass per code,
  ``RequestTimeoutError``, ``InvalidMessageError``);
* the client: :func:`open_app_server` (a spawned process), :func:`connect_app_server` (a
  running ``codex app-server --listen ws://IP:PORT``, see docs/remote.md),
  :class:`AppServerClient` (every method reachable with
  ``client.request(method, params)``), :class:`AppServerTurn` and its :class:`Subscription`,
  :class:`ServerRequests`; the shared-process transport :class:`AppServerTransport` and its
  :class:`AppServerStatus`; :class:`AppServerInfo`, what ``Runtime.which_app_servers()``
  reports of each process;
* the app-server-only events (deltas, plan and diff updates, token usage) and
  :class:`TurnOverrides`.

See docs/app-server.md.
"""

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
    decode_params,
    encode_params,
)
from codex_trio._protocol.app_server.params import TurnOverrides, UserInput
from codex_trio._protocol.app_server.turn_events import (
    AgentMessageDeltaEvent,
    AppServerEvent,
    AppServerNotificationEvent,
    CommandOutputDeltaEvent,
    PlanUpdatedEvent,
    ReasoningDeltaEvent,
    TokenUsageUpdatedEvent,
    TurnDiffUpdatedEvent,
)
from codex_trio._transport.app_server import (
    AppServerClient,
    AppServerStatus,
    AppServerTransport,
    AppServerTurn,
    AppServerTurnResult,
    ServerRequests,
    Subscription,
    SubscriptionStatistics,
    UserInputHandler,
    connect_app_server,
    open_app_server,
)
from codex_trio._transport.app_server._pool import AppServerInfo
from codex_trio._transport.jsonrpc import RequestTimeoutError

__all__ = [
    "AgentMessageDeltaEvent",
    "AppServerClient",
    "AppServerInfo",
    "AppServerEvent",
    "AppServerNotificationEvent",
    "AppServerStatus",
    "AppServerTransport",
    "AppServerTurn",
    "AppServerTurnResult",
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
    "RequestTimeoutError",
    "Response",
    "ServerOverloadedError",
    "ServerRequests",
    "Subscription",
    "SubscriptionStatistics",
    "TokenUsageUpdatedEvent",
    "TurnDiffUpdatedEvent",
    "TurnOverrides",
    "UnknownNotification",
    "UserInput",
    "UserInputHandler",
    "decode_params",
    "encode_params",
    "connect_app_server",
    "open_app_server",
    "types",
]


def _fixup_module_metadata() -> None:
    for name in __all__:
        obj = globals()[name]
        if isinstance(obj, type) and obj.__module__.startswith("codex_trio."):
            obj.__module__ = __name__


_fixup_module_metadata()
del _fixup_module_metadata
