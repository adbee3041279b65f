"""What the mock model answers: output items, scripted responses and scripts.

A codex turn is a conversation between codex and the model: codex POSTs the history to
``/v1/responses``, the model streams back a *response* (a few output items and a usage record),
codex runs whatever tools the items call and POSTs again with the tool outputs, until a response
holds no tool call. The mock plays the model by consuming one :class:`ScriptedResponse` per
POST.

Building blocks, from small to large:

* **output items** — :func:`message`, :func:`reasoning`, :func:`exec_command`,
  :func:`apply_patch`, :func:`update_plan`, :func:`function_call`, :func:`web_search`. They carry
  no ids: the server gives every item a fresh id and every call a fresh ``call_id`` when it streams
  it, so one script can be replayed against many codex processes.
* **responses** — :func:`response` bundles items with a :class:`MockUsage` (and, optionally,
  the rate-limit headers of :class:`MockRateLimits`); :func:`http_error`, :func:`response_failed`,
  :func:`usage_limit_reached`, :func:`hang`, :func:`hold`, :func:`disconnect` and :func:`delay`
  make responses that misbehave the way the real API sometimes does.
* **scripts** — :class:`Script` hands out responses in global order, or per *conversation key*
  (:meth:`Script.by_key`) when many codex processes share one server, with an optional default
  for requests nothing else answers.

Example: a turn that runs a command, then answers::

    Script([
        exec_command("echo hi"),              # 1st POST: codex runs `echo hi`
        response(message("done"), usage=MockUsage(input_tokens=50)),  # 2nd POST: final answer
    ])

When a script runs out, the server answers an HTTP error (503) saying so and counts it in
``MockResponsesServer.exhausted``: a test with too short a script fails loudly instead of hanging.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import attrs

if TYPE_CHECKING:
    from codex_trio.testing._recorded import RecordedRequest

__all__ = [
    "ApplyPatch",
    "DefaultReply",
    "FunctionCall",
    "Message",
    "MockCredits",
    "MockRateLimitWindow",
    "MockRateLimits",
    "OutputItem",
    "PlanStep",
    "Reasoning",
    "ScriptedResponse",
    "Script",
    "Step",
    "MockUsage",
    "WebSearch",
    "apply_patch",
    "delay",
    "disconnect",
    "exec_command",
    "function_call",
    "hang",
    "hold",
    "http_error",
    "message",
    "reasoning",
    "response",
    "response_failed",
    "update_plan",
    "usage_limit_reached",
    "web_search",
    "with_rate_limits",
]

JSON: TypeAlias = dict[str, Any]


# --------------------------------------------------------------------------------------------
# Output items
# --------------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Message:
    """An assistant message. With ``deltas`` the text is also streamed in ``chunks`` first.

    ``phase`` (``"final_answer"`` or ``"commentary"``) is passed through when set; codex treats a
    message without it as the answer.
    """

    text: str
    deltas: bool = False
    chunks: tuple[str, ...] = ()
    phase: str | None = None

    def item(self, item_id: str, call_id: str) -> JSON:
        item: JSON = {
            "type": "message",
            "id": item_id,
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": self.text, "annotations": []}],
        }
        if self.phase is not None:
            item["phase"] = self.phase
        return item

    def delta_chunks(self) -> tuple[str, ...]:
        """The pieces streamed as ``response.output_text.delta`` (empty unless ``deltas``)."""
        if not self.deltas:
            return ()
        if self.chunks:
            return self.chunks
        # Split on word boundaries so a consumer sees several deltas for any multi-word text.
        words = self.text.split(" ")
        return tuple(w if i == len(words) - 1 else w + " " for i, w in enumerate(words))

    @property
    def id_prefix(self) -> str:
        return "msg"


@attrs.frozen(kw_only=True)
class Reasoning:
    """A reasoning item; codex shows its ``summary`` as a ``reasoning`` item (one per part)."""

    summary: tuple[str, ...]
    encrypted_content: str | None = None

    def item(self, item_id: str, call_id: str) -> JSON:
        return {
            "type": "reasoning",
            "id": item_id,
            "summary": [{"type": "summary_text", "text": s} for s in self.summary],
            "encrypted_content": self.encrypted_content,
        }

    @property
    def id_prefix(self) -> str:
        return "rs"


@attrs.frozen(kw_only=True)
class FunctionCall:
    """A ``function_call`` item: codex runs the tool ``name`` (in ``namespace``, for MCP tools).

    ``arguments`` is sent as the JSON string the API uses. ``call_id`` is normally left to the
    server; set it only to test what codex does with a specific (e.g. duplicated) id.
    """

    name: str
    arguments: Mapping[str, Any] | str
    namespace: str | None = None
    call_id: str | None = None

    def item(self, item_id: str, call_id: str) -> JSON:
        args = self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)
        item: JSON = {
            "type": "function_call",
            "id": item_id,
            "call_id": self.call_id or call_id,
            "name": self.name,
            "arguments": args,
            "status": "completed",
        }
        if self.namespace is not None:
            item["namespace"] = self.namespace
        return item

    @property
    def id_prefix(self) -> str:
        return "fc"


@attrs.frozen(kw_only=True)
class ApplyPatch:
    """A ``custom_tool_call`` of the freeform ``apply_patch`` tool; ``patch`` is its raw input."""

    patch: str
    call_id: str | None = None

    def item(self, item_id: str, call_id: str) -> JSON:
        return {
            "type": "custom_tool_call",
            "id": item_id,
            "call_id": self.call_id or call_id,
            "name": "apply_patch",
            "input": self.patch,
            "status": "completed",
        }

    @property
    def id_prefix(self) -> str:
        return "ctc"


@attrs.frozen(kw_only=True)
class WebSearch:
    """A ``web_search_call`` item: the search ran on the provider's side; codex only shows it."""

    query: str

    def item(self, item_id: str, call_id: str) -> JSON:
        return {
            "type": "web_search_call",
            "id": item_id,
            "status": "completed",
            "action": {"type": "search", "query": self.query},
        }

    @property
    def id_prefix(self) -> str:
        return "ws"


"""``exec_command`` calls are plain function calls; the alias names them in signatures."""

OutputItem: TypeAlias = Message | Reasoning | FunctionCall | ApplyPatch | WebSearch

PlanStep: TypeAlias = str | tuple[str, str] | Mapping[str, str]
"""A plan step: ``"text"`` (pending), ``("text", "completed")`` or ``{"step", "status"}``."""


def message(
    text: str, *, deltas: bool = False, chunks: Sequence[str] = (), phase: str | None = None
) -> Message:
    """An assistant message saying ``text``.

    With ``deltas=True`` the server first sends ``response.output_item.added`` and one
    ``response.output_text.delta`` per chunk (``chunks``, or the text split into words) before the
    finished item, as the real API does when streaming; app-server clients see them as
    ``item/agentMessage/delta`` notifications. ``codex exec --json`` shows only the finished item.
    """
    if chunks and "".join(chunks) != text:
        raise ValueError("the chunks of a streamed message must add up to its text")
    return Message(text=text, deltas=deltas or bool(chunks), chunks=tuple(chunks), phase=phase)


def reasoning(summary: str | Sequence[str], *, encrypted_content: str | None = None) -> Reasoning:
    """A reasoning item whose summary is ``summary`` (one string per summary part)."""
    parts = (summary,) if isinstance(summary, str) else tuple(summary)
    return Reasoning(summary=parts, encrypted_content=encrypted_content)


def exec_command(
    cmd: str,
    *,
    escalated: bool = False,
    justification: str | None = None,
    workdir: str | None = None,
    login: bool | None = None,
    extra: Mapping[str, Any] | None = None,
    call_id: str | None = None,
) -> FunctionCall:
    """A call of codex's ``exec_command`` tool running the shell command ``cmd``.

    ``escalated=True`` asks to run outside the sandbox (``sandbox_permissions:
    "require_escalated"``), which makes codex ask for approval under ``on-request``;
    ``justification`` is the reason shown to the approver. ``login=False`` runs the command in a
    non-login shell (codex's default is ``bash -lc``, which sources the user's profile and may add
    its noise to the output). Commands the sandbox blocks produce no exec item at all in ``codex
    exec --json``; the model sees the failure as the call's output.
    """
    args: dict[str, Any] = {"cmd": cmd}
    if workdir is not None:
        args["workdir"] = workdir
    if login is not None:
        args["login"] = login
    if escalated:
        args["sandbox_permissions"] = "require_escalated"
    if justification is not None:
        args["justification"] = justification
    if extra:
        args.update(extra)
    return FunctionCall(name="exec_command", arguments=args, call_id=call_id)


def apply_patch(patch_text: str, *, call_id: str | None = None) -> ApplyPatch:
    """A call of the freeform ``apply_patch`` tool with ``patch_text`` (``*** Begin Patch`` ...).

    codex offers this tool only for models it knows: use a CODEX_HOME from
    :func:`~codex_trio.testing.write_codex_home`, whose model catalogue makes the mock known.
    """
    return ApplyPatch(patch=patch_text, call_id=call_id)


def update_plan(
    steps: Iterable[PlanStep], *, explanation: str | None = None, call_id: str | None = None
) -> FunctionCall:
    """A call of ``update_plan``; codex shows the plan as a ``todo_list`` item.

    codex 0.163 offers the tool only with ``[tools.update_plan] enabled = true``
    (``write_codex_home(..., update_plan=True)``). Statuses: pending, in_progress, completed.
    """
    plan: list[dict[str, str]] = []
    for step in steps:
        if isinstance(step, str):
            plan.append({"step": step, "status": "pending"})
        elif isinstance(step, tuple):
            plan.append({"step": step[0], "status": step[1]})
        else:
            plan.append({"step": step["step"], "status": step.get("status", "pending")})
    args: dict[str, Any] = {"plan": plan}
    if explanation is not None:
        args["explanation"] = explanation
    return FunctionCall(name="update_plan", arguments=args, call_id=call_id)


def function_call(
    name: str,
    arguments: Mapping[str, Any] | str,
    *,
    namespace: str | None = None,
    call_id: str | None = None,
) -> FunctionCall:
    """A call of any function tool: client-defined dynamic tools, or MCP tools.

    MCP tools of ``[mcp_servers.NAME]`` are called with ``namespace="mcp__NAME"``. ``arguments``
    may be a mapping (sent as JSON) or a raw string, to test what codex does with malformed JSON.
    """
    return FunctionCall(name=name, arguments=arguments, namespace=namespace, call_id=call_id)


def web_search(query: str) -> WebSearch:
    """A ``web_search_call`` item, shown by codex as a ``web_search`` item."""
    return WebSearch(query=query)


# --------------------------------------------------------------------------------------------
# Responses
# --------------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class MockUsage:
    """Token usage reported in ``response.completed``.

    codex reports usage in ``turn.completed`` summed over the whole thread, so tests that check
    the sums should give each response distinct numbers.
    """

    input_tokens: int = 20
    cached_input_tokens: int = 0
    output_tokens: int = 5
    reasoning_output_tokens: int = 0
    cache_write_input_tokens: int = 0
    """Sent as ``input_tokens_details.cache_write_tokens``; codex 0.163 reports it in
    ``turn.completed.usage.cache_write_input_tokens``."""

    def to_json(self) -> JSON:
        return {
            "input_tokens": self.input_tokens,
            "input_tokens_details": {
                "cached_tokens": self.cached_input_tokens,
                "cache_write_tokens": self.cache_write_input_tokens,
            },
            "output_tokens": self.output_tokens,
            "output_tokens_details": {"reasoning_tokens": self.reasoning_output_tokens},
            "total_tokens": self.input_tokens + self.output_tokens,
        }


@attrs.frozen(kw_only=True)
class MockRateLimitWindow:
    """One rate-limit window as the real API reports it in response headers.

    ``used_percent`` may be fractional (codex's app-server rounds it to an integer);
    ``resets_at`` is a Unix time in seconds.
    """

    used_percent: float
    window_minutes: int | None = None
    resets_at: int | None = None


@attrs.frozen(kw_only=True)
class MockCredits:
    """The credits headers (``x-codex-credits-*``)."""

    has_credits: bool
    unlimited: bool = False
    balance: str | None = None


@attrs.frozen(kw_only=True)
class MockRateLimits:
    """The rate limits the mock model reports, as the ``x-codex-*`` response headers codex
    reads from every Responses API answer (and from a 429).

    ``limit_id`` names the header family: ``"codex"`` is ``x-codex-primary-used-percent`` ...,
    another id (``"codex_other"``) is ``x-codex-other-primary-used-percent`` ... (codex spells
    the id with underscores, the header with dashes). codex turns them into the app-server's
    ``account/rateLimits/updated`` notification (``codex exec --json`` reports nothing of them).
    """

    primary: MockRateLimitWindow | None = None
    secondary: MockRateLimitWindow | None = None
    limit_id: str = "codex"
    limit_name: str | None = None
    credits: MockCredits | None = None

    def headers(self) -> tuple[tuple[str, str], ...]:
        """The response headers, in order."""
        prefix = "x-" + self.limit_id.strip().lower().replace("_", "-")
        out: list[tuple[str, str]] = []
        for name, window in (("primary", self.primary), ("secondary", self.secondary)):
            if window is None:
                continue
            out.append((f"{prefix}-{name}-used-percent", f"{window.used_percent:g}"))
            if window.window_minutes is not None:
                out.append((f"{prefix}-{name}-window-minutes", str(window.window_minutes)))
            if window.resets_at is not None:
                out.append((f"{prefix}-{name}-reset-at", str(window.resets_at)))
        if self.limit_name is not None:
            out.append((f"{prefix}-limit-name", self.limit_name))
        if self.credits is not None:
            out.append(("x-codex-credits-has-credits", _bool(self.credits.has_credits)))
            out.append(("x-codex-credits-unlimited", _bool(self.credits.unlimited)))
            if self.credits.balance is not None:
                out.append(("x-codex-credits-balance", self.credits.balance))
        return tuple(out)

    def usage_payload(self, *, plan_type: str = "plus", now: float | None = None) -> JSON:
        """The ChatGPT backend's ``GET /backend-api/wham/usage`` answer for these limits (what
        codex's ``account/rateLimits/read`` fetches for a ChatGPT login)."""
        clock = time.time() if now is None else now

        def window(w: MockRateLimitWindow | None) -> JSON | None:
            if w is None:
                return None
            reset_at = w.resets_at if w.resets_at is not None else int(clock)
            return {
                "used_percent": round(w.used_percent),
                "limit_window_seconds": (w.window_minutes or 0) * 60,
                "reset_after_seconds": max(0, int(reset_at - clock)),
                "reset_at": reset_at,
            }

        reached = any(
            w is not None and w.used_percent >= 100 for w in (self.primary, self.secondary)
        )
        payload: JSON = {
            "plan_type": plan_type,
            "rate_limit": {
                "allowed": not reached,
                "limit_reached": reached,
                "primary_window": window(self.primary),
                "secondary_window": window(self.secondary),
            },
        }
        if self.credits is not None:
            payload["credits"] = {
                "has_credits": self.credits.has_credits,
                "unlimited": self.credits.unlimited,
                "balance": self.credits.balance,
            }
        return payload


def _bool(value: bool) -> str:
    return "true" if value else "false"


ResponseKind: TypeAlias = Literal["stream", "http_error", "hang", "failed"]


@attrs.frozen(kw_only=True)
class ScriptedResponse:
    """One scripted answer to one ``POST /v1/responses``.

    Build it with :func:`response` and the behaviour helpers rather than directly. ``kind`` says
    what the server does:

    * ``"stream"``: SSE ``response.created``, the items, ``response.completed`` with ``usage``;
      ``hold`` pauses after ``response.created`` until ``server.release()``;
      ``disconnect_after_events`` closes the connection after that many events instead;
    * ``"failed"``: ``response.created``, the items, then ``response.failed`` with ``error``;
    * ``"http_error"``: a JSON error body with ``status``;
    * ``"hang"``: read the request and never answer (codex waits for its idle timeout).

    ``delay`` seconds pass before anything is sent, whatever the kind.
    """

    kind: ResponseKind = "stream"
    items: tuple[OutputItem, ...] = ()
    usage: MockUsage = MockUsage()
    delay: float = 0.0
    hold: bool = False
    disconnect_after_events: int | None = None
    status: int = 200
    error: str | None = None
    error_code: str | None = None
    error_type: str | None = None
    """The ``type`` of an ``"http_error"`` body (default: the one the status usually has)."""
    error_fields: tuple[tuple[str, Any], ...] = ()
    """More keys of an ``"http_error"`` body's ``error`` object (``resets_at`` ...)."""
    headers: tuple[tuple[str, str], ...] = ()
    """Extra response headers (rate limits, ``retry-after``)."""


Step: TypeAlias = ScriptedResponse | OutputItem
"""What a script holds: a :class:`ScriptedResponse`, or a bare output item meaning
``response(item)``."""

DefaultReply: TypeAlias = Step | Callable[["RecordedRequest"], Step]


def _as_response(step: Step) -> ScriptedResponse:
    return step if isinstance(step, ScriptedResponse) else ScriptedResponse(items=(step,))


def response(
    *items: OutputItem,
    usage: MockUsage | None = None,
    rate_limits: MockRateLimits | Sequence[MockRateLimits] = (),
) -> ScriptedResponse:
    """A normal streamed response holding ``items`` (in order) and ``usage``.

    A response whose items include a tool call makes codex run the tool and POST again; a
    response with only messages and reasoning ends the turn. ``rate_limits`` are sent as the
    response's ``x-codex-*`` headers (see :class:`MockRateLimits`).
    """
    return ScriptedResponse(
        items=items, usage=usage or MockUsage(), headers=_rate_limit_headers(rate_limits)
    )


def _rate_limit_headers(
    limits: MockRateLimits | Sequence[MockRateLimits],
) -> tuple[tuple[str, str], ...]:
    families = (limits,) if isinstance(limits, MockRateLimits) else tuple(limits)
    return tuple(h for family in families for h in family.headers())


def with_rate_limits(step: Step, *limits: MockRateLimits) -> ScriptedResponse:
    """``step`` answered with the rate-limit headers of ``limits`` added (any kind of
    response: a stream, an HTTP error ...)."""
    base = _as_response(step)
    return attrs.evolve(base, headers=base.headers + _rate_limit_headers(limits))


USAGE_LIMIT_MESSAGE = "You've hit your usage limit."


def usage_limit_reached(
    *,
    resets_at: int | None = None,
    resets_in_seconds: int | None = None,
    plan_type: str | None = "plus",
    message: str = USAGE_LIMIT_MESSAGE,
    rate_limits: MockRateLimits | Sequence[MockRateLimits] = (),
) -> ScriptedResponse:
    """The real API's answer when the account's usage limit is reached: HTTP 429 with
    ``{"error": {"type": "usage_limit_reached", "message", "plan_type", "resets_at",
    "resets_in_seconds"}}`` (the keys given) and the rate-limit headers of ``rate_limits``.

    ``resets_at`` is a Unix time in seconds. codex 0.163 does not retry it: the turn fails
    with codex's own usage-limit message, which names the reset time.
    """
    fields: list[tuple[str, Any]] = []
    if plan_type is not None:
        fields.append(("plan_type", plan_type))
    if resets_at is not None:
        fields.append(("resets_at", resets_at))
    if resets_in_seconds is not None:
        fields.append(("resets_in_seconds", resets_in_seconds))
    return ScriptedResponse(
        kind="http_error",
        status=429,
        error=message,
        error_type="usage_limit_reached",
        error_code="usage_limit_reached",
        error_fields=tuple(fields),
        headers=_rate_limit_headers(rate_limits),
    )


def http_error(
    status: int, message: str, *, code: str | None = None, retry_after: float | None = None
) -> ScriptedResponse:
    """Answer with HTTP ``status`` and an OpenAI-style ``{"error": {...}}`` body.

    With the retries of a CODEX_HOME from ``write_codex_home`` set to 0, codex 0.163 turns a 400,
    401, 429 or 5xx into an ``error`` event then ``turn.failed``, exit code 1. codex shows the
    message of most statuses, but replaces a 500's with a generic "high demand" text.
    """
    if status < 400 or status > 599:
        raise ValueError(f"an HTTP error status is 4xx or 5xx, not {status}")
    headers = () if retry_after is None else (("retry-after", f"{retry_after:g}"),)
    return ScriptedResponse(
        kind="http_error", status=status, error=message, error_code=code, headers=headers
    )


def response_failed(message: str, *, code: str = "server_error") -> ScriptedResponse:
    """Stream ``response.created`` then ``response.failed`` carrying ``message``."""
    return ScriptedResponse(kind="failed", error=message, error_code=code)


def hang() -> ScriptedResponse:
    """Accept the request and never answer it (no status line, no headers); for deadline tests.

    codex does not time this out by itself: ``stream_idle_timeout_ms`` only starts once a
    response has begun, so codex 0.163 just waits (still waiting after 25 s in our runs). The
    turn ends when the caller's deadline (``timeout=``/``deadline=``) passes or it is interrupted;
    the connection stays open until codex drops it or the server stops. For a stream that
    stalls and that codex itself fails after the idle timeout (5 s by default in
    :func:`~codex_trio.testing.write_codex_home`), use :func:`hold` and do not release it.
    """
    return ScriptedResponse(kind="hang")


def hold(*items: OutputItem, usage: MockUsage | None = None) -> ScriptedResponse:
    """Send ``response.created``, then wait for ``server.release()`` before sending the rest.

    For interrupt and steer tests: once ``await server.wait_for_held()`` returns, codex is inside
    the turn and waiting on the model. A held stream that is never released ends when codex drops
    the connection or the server stops.
    """
    return ScriptedResponse(items=items, usage=usage or MockUsage(), hold=True)


def disconnect(*items: OutputItem, after_events: int = 1) -> ScriptedResponse:
    """Stream ``response.created`` and the items' events, but close the connection after
    ``after_events`` SSE events, before ``response.completed``.
    """
    if after_events < 0:
        raise ValueError("after_events must be >= 0")
    return ScriptedResponse(items=items, disconnect_after_events=after_events)


def delay(seconds: float, step: Step | None = None) -> ScriptedResponse:
    """``step`` (default: an empty message response) answered only after ``seconds``."""
    if seconds < 0:
        raise ValueError("a delay cannot be negative")
    base = _as_response(step) if step is not None else ScriptedResponse(items=(message(""),))
    return attrs.evolve(base, delay=seconds)


# --------------------------------------------------------------------------------------------
# Scripts
# --------------------------------------------------------------------------------------------


class Script:
    """The ordered answers of the mock model, consumed one per request.

    ``Script(steps)`` answers the n-th request with the n-th step, whichever codex process sent
    it. When many processes share the server, global order is a race; use :meth:`by_key` to give
    each conversation its own queue, keyed by something in the request (e.g. a marker in the
    first user message, which codex repeats in every request of the thread).

    ``default`` answers requests for which no step is left: a step (reused every time) or a
    callable on the :class:`~codex_trio.testing.RecordedRequest` returning one (e.g. echo the
    user's text). Without a default, running out is an error the server reports as HTTP 503.

    A script is consumed by the server that serves it; it is not thread-safe and should not be
    shared between servers.
    """

    def __init__(self, steps: Iterable[Step] = (), *, default: DefaultReply | None = None) -> None:
        self._queue: deque[ScriptedResponse] = deque(_as_response(s) for s in steps)
        self._keyed: dict[Hashable, deque[ScriptedResponse]] = {}
        self._key: Callable[[RecordedRequest], Hashable | None] | None = None
        self._default = default
        self.served = 0
        """How many requests got a response (scripted or default)."""

    @classmethod
    def by_key(
        cls,
        key: Callable[[RecordedRequest], Hashable | None],
        conversations: Mapping[Hashable, Iterable[Step]],
        *,
        default: DefaultReply | None = None,
    ) -> Script:
        """A script with one queue per conversation.

        ``key(request)`` names the conversation a request belongs to; the request is answered from
        that conversation's queue. A request whose key is ``None`` or unknown, or whose queue is
        empty, gets the default. :meth:`RecordedRequest.marker` makes a good key: a marker in the
        first prompt of a thread is repeated in every later request of that thread.
        """
        script = cls(default=default)
        script._key = key
        script._keyed = {k: deque(_as_response(s) for s in v) for k, v in conversations.items()}
        return script

    @classmethod
    def replying(cls, reply: DefaultReply) -> Script:
        """A script that answers every request with ``reply`` (a step or a callable)."""
        return cls(default=reply)

    def append(self, *steps: Step) -> None:
        """Add steps to the end of the global queue (e.g. while a test runs)."""
        self._queue.extend(_as_response(s) for s in steps)

    @property
    def remaining(self) -> int:
        """Scripted steps not yet consumed, in every queue."""
        return len(self._queue) + sum(len(q) for q in self._keyed.values())

    def next_response(self, request: RecordedRequest) -> ScriptedResponse | None:
        """Pop the response for ``request``; ``None`` when nothing answers it."""
        queue = self._queue
        if self._key is not None:
            key = self._key(request)
            queue = self._keyed.get(key, deque()) if key is not None else deque()
        if queue:
            self.served += 1
            return queue.popleft()
        if self._default is None:
            return None
        self.served += 1
        default = self._default
        if callable(default) and not isinstance(
            default, ScriptedResponse | Message | Reasoning | FunctionCall | ApplyPatch | WebSearch
        ):
            return _as_response(default(request))
        return _as_response(default)
