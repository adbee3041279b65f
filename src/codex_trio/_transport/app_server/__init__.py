"""``codex app-server``: one long-lived process serving many threads over JSON-RPC.

:func:`open_app_server` spawns ``codex app-server``, performs the ``initialize`` /
``initialized`` handshake, and yields an :class:`AppServerClient` for the extent of an ``async
with`` block; leaving it stops and reaps the process (and the shell commands it started).
:func:`connect_app_server` does the same over a websocket to a running ``codex app-server
--listen ws://IP:PORT`` (leaving it closes the connection; see docs/remote.md).

Isolation. One reader task (see :mod:`codex_trio._transport.jsonrpc`) receives everything and
never waits for a subscriber: a notification carrying a ``threadId`` is *offered* to the
subscribers of that thread (a streamed turn is one), each a :class:`Subscription` with its own
bound (``event_buffer``). When a subscription is full, a delta notification (agent message,
reasoning, command output ...) is merged into the delta queued before it for the same item,
which loses nothing; anything else overflows the subscription: its turn is interrupted
(``turn/interrupt``) and its consumer gets the events buffered so far, then
:class:`~codex_trio._errors.SlowConsumerError`. Telemetry ``codex.subscription.overflow`` and the
``codex_slow_consumer_total`` metric count it. Every other thread on the process goes on at full
speed. (Pipe-level backpressure, where a slow consumer just makes codex wait, is the exec
transport's, and a process of one's own.) Notifications without a thread, or for a thread
nobody listens to, are dropped after telemetry.

Server requests run in their own tasks (at most ``max_server_requests`` at once): approvals go to
the approval handler registered for the thread (or the client's default, which DECLINES and
logs); an approval whose params do not decode is declined; ``item/tool/call`` goes to the
thread's dynamic tools; anything else gets a JSON-RPC "method not found" error. Every decision
is recorded on the turn that asked (:attr:`AppServerTurn.approvals`).

Failure. If the process dies, every pending call and every open turn stream fails at once with
:class:`~codex_trio._errors.TransportError` (exit code, stderr tail). Leaving a streamed turn early
(break, exception, cancellation) sends ``turn/interrupt`` so the engine stops spending tokens.
A ``deadline`` bounds the whole turn, ``turn/start`` included.

State. What the client keeps per thread (tools, approval handler, last usage, whether it is
loaded in this process) is one record per thread, at most ``max_threads`` of them (the least
recently used is forgotten: its next turn resumes it); :meth:`AppServerClient.forget_thread`
drops one at once.

Modules: ``_subscription`` (bounded per-consumer notification queues), ``_turn`` (a running turn
and its exec view), ``_dispatch`` (server-to-client requests), ``_client`` (the JSON-RPC client
and :func:`open_app_server`), ``_transport`` (the shared, restarted process). Wire parameters
live in :mod:`codex_trio._protocol.app_server.params`.
"""

from codex_trio._protocol.app_server.params import (
    UNLOAD_DELAY_OVERRIDE,
    TurnOverrides,
    UserInput,
    app_server_argv,
    thread_params,
    user_input,
)
from codex_trio._protocol.app_server.server_requests import ApprovalHandler, decline_and_log
from codex_trio._transport.app_server._client import (
    AppServerClient,
    connect_app_server,
    open_app_server,
)
from codex_trio._transport.app_server._dispatch import (
    ServerRequests,
    ThreadRecord,
    UserInputHandler,
)
from codex_trio._transport.app_server._subscription import (
    DELTA_METHODS,
    MAX_COALESCED_DELTA,
    Subscription,
    SubscriptionStatistics,
)
from codex_trio._transport.app_server._transport import AppServerStatus, AppServerTransport
from codex_trio._transport.app_server._turn import (
    AppServerTurn,
    AppServerTurnResult,
    ExecEventStream,
)

__all__ = [
    "DELTA_METHODS",
    "MAX_COALESCED_DELTA",
    "UNLOAD_DELAY_OVERRIDE",
    "AppServerClient",
    "AppServerStatus",
    "AppServerTransport",
    "AppServerTurn",
    "AppServerTurnResult",
    "ApprovalHandler",
    "ExecEventStream",
    "ServerRequests",
    "Subscription",
    "SubscriptionStatistics",
    "ThreadRecord",
    "TurnOverrides",
    "UserInput",
    "UserInputHandler",
    "app_server_argv",
    "decline_and_log",
    "connect_app_server",
    "open_app_server",
    "thread_params",
    "user_input",
]
