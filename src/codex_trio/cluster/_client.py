"""The caller's side: :class:`ClusterClient` submits turns to the queue and reads their events
and results back.

::

    async with ClusterClient("redis://redis.internal:6379/0") as client:
        handle = await client.submit("ticket-42", "triage this", working_directory="/srv/repo",
                                     skip_git_repo_check=True, timeout=600)
        async for event in handle.events():     # the local API's events, plus EventsGap
            ...
        result = await handle.result()          # the local API's TurnResult (or its errors)

Submitting is one atomic script: the turn is recorded (its hash, the thread's FIFO of turn ids,
the thread's options when it is new) and appended to the turns stream, or nothing is. A turn id
submitted again (a retry after a lost reply) is not queued twice.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

import attrs
import orjson
import trio

from codex_trio._errors import ConfigurationError
from codex_trio._protocol import ThreadEvent, decode_event
from codex_trio._protocol.options import Input, ThreadOptions, TurnOptions
from codex_trio._turn import TurnResult, check_result, turn_options
from codex_trio.cluster import _scripts as scripts
from codex_trio.cluster._codec import (
    decode_error,
    decode_result,
    encode_input,
    encode_thread_options,
    encode_turn_options,
    split_options,
)
from codex_trio.cluster._errors import (
    ClusterError,
    ResultExpiredError,
    ThreadOptionsConflict,
    TurnDeadLettered,
)
from codex_trio.cluster._keys import GROUP, Keys
from codex_trio.cluster._redis import Connection

__all__ = [
    "ClusterClient",
    "EventsGap",
    "QueueStats",
    "RemoteEvent",
    "ThreadRecord",
    "TurnHandle",
    "TurnRestarted",
]

_FINAL = frozenset({b"done", b"error", b"dead"})


@attrs.frozen
class EventsGap:
    """``missed`` events of the turn were dropped before this caller read them: its events
    stream in Redis is capped (``events_maxlen``), and the caller fell that far behind. The
    result is complete whatever was missed."""

    missed: int


@attrs.frozen
class TurnRestarted:
    """The turn is being run again (``attempt`` from 2): the worker that ran it before died or
    lost its lease. The events after this marker are the new run's; those before it belong to
    a run whose effects on the thread were discarded (its side effects outside codex were not)."""

    attempt: int


RemoteEvent = ThreadEvent | EventsGap | TurnRestarted
"""What :meth:`TurnHandle.events` yields."""


@attrs.frozen(kw_only=True)
class ThreadRecord:
    """A thread's committed state in Redis, as :meth:`ClusterClient.thread` reports it."""

    thread_key: str
    thread_id: str | None
    options: Mapping[str, Any]
    version: int
    """Turns committed into the thread's rollout."""
    fence: int
    """The fencing token of the last commit."""
    worker: str | None
    """The worker that made the last commit."""
    rollout_name: str | None
    rollout_bytes: int
    queued: tuple[str, ...]
    """Turn ids submitted and not ended, oldest first."""


@attrs.frozen(kw_only=True)
class QueueStats:
    """The turns stream: ``depth`` entries in it (waiting, or taken and not acknowledged: acked
    entries are deleted), ``pending`` taken by a worker and not acknowledged, ``consumers``
    workers that ever read it, ``dead_letters`` turns in the dead-letter stream."""

    depth: int
    pending: int
    consumers: int
    dead_letters: int


class TurnHandle:
    """A submitted turn: :meth:`result` waits for its end, :meth:`events` streams its events.

    Both may be called any number of times, from any process that knows ``turn_id`` (see
    :meth:`ClusterClient.handle`), until ``result_ttl`` after the turn ended.
    """

    def __init__(
        self, client: ClusterClient, turn_id: str, thread_key: str, options: TurnOptions
    ) -> None:
        self._client = client
        self.turn_id = turn_id
        self.thread_key = thread_key
        self.options = options
        self._submitted = False  # set by submit(): the turn is known to exist, just queued

    def __repr__(self) -> str:
        return f"<TurnHandle {self.turn_id} thread_key={self.thread_key!r}>"

    async def status(self) -> str | None:
        """``"queued"``, ``"running"``, ``"done"``, ``"error"``, ``"dead"``, or None (unknown
        or expired)."""
        conn, keys = self._client._conn, self._client.keys
        value = await conn.call(lambda r: r.hget(keys.turn(self.turn_id), "status"))
        return value.decode() if value is not None else None

    async def result(self) -> TurnResult:
        """Wait for the turn's end and return its :class:`TurnResult`, as a local
        ``Thread.run`` does: raises ``TurnFailedError`` for ``turn.failed``,
        ``StructuredOutputError`` for a final message that does not fit the output schema or
        type, the worker's ``TurnDeadlineError`` / ``ConfigurationError`` ..., and
        :class:`TurnDeadLettered` when every delivery failed. Waiting survives a Redis restart
        (it reconnects for up to the client's ``reconnect_timeout``)."""
        conn, keys = self._client._conn, self._client.keys
        turn_key, events_key = keys.turn(self.turn_id), keys.events(self.turn_id)
        last_id = b"0-0"
        block = self._client.block_ms
        check = not self._submitted  # a turn just submitted has no outcome to read yet
        self._submitted = False
        while True:
            # The turn's hash is read first, then again only when the events stream shows the
            # end (or a blocking read times out: the turn may have expired): not once per
            # batch of events.
            if check:
                fields = await conn.call(
                    lambda r: r.hmget(turn_key, ["status", "result", "error", "deliveries"])
                )
                status, result, error, deliveries = fields
                if status is None:
                    raise ResultExpiredError(
                        f"no turn {self.turn_id} in Redis (its result expired, or it was never "
                        "submitted)",
                        turn_id=self.turn_id,
                    )
                if status in _FINAL:
                    return self._outcome(status, result, error, int(deliveries or 0))
            stream = last_id
            reply = await conn.call(
                lambda r: r.xread({events_key: stream}, count=256, block=block)  # noqa: B023
            )
            entries = next(iter(reply.values()), ()) if reply else ()
            check = not entries
            for entry in entries:
                last_id = _id(entry.identifier)
                values = entry.field_values
                if values.get(b"kind") == b"end":
                    outcome = values.get(b"outcome")
                    if outcome is not None and values.get(b"data") == b"done":
                        return self._outcome(b"done", _id(outcome), None, 0)
                    if outcome is not None and values.get(b"data") == b"error":
                        return self._outcome(b"error", None, _id(outcome), 0)
                    check = True

    def _outcome(
        self, status: bytes, result: bytes | None, error: bytes | None, deliveries: int
    ) -> TurnResult:
        if status == b"done" and result is not None:
            return check_result(decode_result(result), self.options)
        if status == b"dead":
            if error:
                name, message, _ = decode_error(error, thread_id=None, turn_id=self.turn_id)
            else:
                name, message = None, None
            raise TurnDeadLettered(
                "the turn was dead-lettered",
                error=message,
                error_type=name,
                deliveries=deliveries,
                turn_id=self.turn_id,
            )
        if error is None:
            raise ClusterError(f"turn {self.turn_id} ended without an outcome")
        _, _, exc = decode_error(error, thread_id=None, turn_id=self.turn_id)
        raise exc

    async def events(self) -> AsyncIterator[RemoteEvent]:
        """The turn's events from its start, as the local API's types, then the iteration ends
        with the turn. A caller that fell behind the capped stream gets an :class:`EventsGap`
        where events were dropped; a turn run again after its worker died shows a
        :class:`TurnRestarted` before the new run's events. Errors are :meth:`result`'s (the
        iteration itself raises only for Redis trouble)."""
        conn, keys = self._client._conn, self._client.keys
        turn_key, events_key = keys.turn(self.turn_id), keys.events(self.turn_id)
        last_id = b"0-0"
        expected = 1
        block = self._client.block_ms
        while True:
            stream = last_id
            reply = await conn.call(
                lambda r: r.xread({events_key: stream}, count=256, block=block)  # noqa: B023
            )
            entries = next(iter(reply.values()), ()) if reply else ()
            if not entries:
                status = await conn.call(lambda r: r.hget(turn_key, "status"))
                exists = await conn.call(lambda r: r.exists([events_key]))
                if status is None or (status in _FINAL and not exists):
                    return  # expired, or ended and gone: nothing more will come
                continue
            for entry in entries:
                last_id = _id(entry.identifier)
                values = entry.field_values
                seq = int(values[b"seq"])
                if seq > expected:
                    yield EventsGap(missed=seq - expected)
                expected = seq + 1
                kind = values[b"kind"]
                if kind == b"event":
                    yield decode_event(values[b"data"])
                elif kind == b"attempt":
                    attempt = int(values[b"data"])
                    if attempt > 1:
                        yield TurnRestarted(attempt=attempt)
                elif kind == b"end":
                    return


class ClusterClient:
    """Submits turns to a deployment's queue in Redis (see the module docstring).

    ``redis_url`` is ``redis://``, ``rediss://`` (TLS) or ``unix://``; the password goes in the
    URL (``redis://:PASSWORD@host:6379/0``) or in ``password``; it is masked in every error,
    log line and repr. ``prefix`` names the deployment: every key starts with it, so several
    deployments can share a server. ``reconnect_timeout`` bounds how long a command retries
    while Redis is unreachable before :class:`ClusterConnectionError`.
    """

    def __init__(
        self,
        redis_url: str,
        *,
        password: str | None = None,
        prefix: str = "codex-trio",
        reconnect_timeout: float = 60.0,
        block_ms: int = 2000,
        max_connections: int | None = None,
    ) -> None:
        if not prefix or any(c.isspace() for c in prefix):
            raise ConfigurationError("prefix must be a non-empty string without spaces")
        self.keys = Keys(prefix)
        self.block_ms = block_ms
        self._conn = Connection(
            redis_url,
            password=password,
            reconnect_timeout=reconnect_timeout,
            max_connections=max_connections,
        )

    @property
    def url(self) -> str:
        """The server's address, password masked."""
        return self._conn.url

    def __repr__(self) -> str:
        return f"<ClusterClient {self.url} prefix={self.keys.prefix!r}>"

    async def __aenter__(self) -> ClusterClient:
        await self._conn.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._conn.__aexit__(*exc)

    async def submit(
        self,
        thread_key: str,
        input: Input,
        options: TurnOptions | None = None,
        *,
        thread: ThreadOptions | None = None,
        turn_id: str | None = None,
        **fields: Any,
    ) -> TurnHandle:
        """Queue a turn of the thread named ``thread_key`` (new or existing) and return its
        handle once Redis has it (then no worker failure loses it).

        Keyword fields of :class:`ThreadOptions` (``working_directory``, ``sandbox_mode``,
        ``model``, ``skip_git_repo_check`` ...), or ``thread=``, are the thread's: they travel
        with its first turn and stay with it; a later turn may repeat them but not change them
        (:class:`ThreadOptionsConflict`). The other fields (``timeout``, ``output_schema``,
        ``output_type``, ``effort`` ...), or ``options=``, are this turn's, as for
        ``Thread.run``; a ``deadline`` (a trio clock value) travels as the time left until it.
        ``turn_id`` (default: a new one) names the turn: submitting the same id again does not
        queue it twice.
        """
        if not isinstance(thread_key, str) or not thread_key:
            raise ConfigurationError("thread_key must be a non-empty string")
        thread_fields, turn_fields = split_options(fields)
        if thread is not None and thread_fields:
            thread = attrs.evolve(thread, **thread_fields)
        elif thread is None and thread_fields:
            thread = ThreadOptions(**thread_fields)
        opts = turn_options(options, turn_fields)
        timeout = opts.timeout
        if opts.deadline is not None:
            left = opts.deadline - trio.current_time()
            if left <= 0:
                raise ConfigurationError("the turn's deadline has already passed")
            timeout = left if timeout is None else min(timeout, left)
        thread_json = (
            orjson.dumps(encode_thread_options(thread), option=orjson.OPT_SORT_KEYS)
            if thread is not None
            else b""
        )
        payload = orjson.dumps(
            {"input": encode_input(input), "options": encode_turn_options(opts, timeout=timeout)}
        )
        turn_id = turn_id or f"ct_{uuid.uuid4().hex}"
        keys = self.keys
        code, recorded = await self._conn.script(
            scripts.SUBMIT,
            [keys.thread(thread_key), keys.queue(thread_key), keys.turn(turn_id), keys.turns],
            [turn_id, thread_key, thread_json, payload, int(time.time() * 1000)],
        )
        if code == -1:
            raise ThreadOptionsConflict(
                f"thread {thread_key!r} was started with options {recorded.decode()}, this "
                f"turn gives {thread_json.decode()}; thread options stay with the thread "
                "(override one turn with options=TurnOptions(...))"
            )
        handle = TurnHandle(self, turn_id, thread_key, opts)
        handle._submitted = code == 0
        return handle

    def handle(
        self, turn_id: str, thread_key: str = "", options: TurnOptions | None = None
    ) -> TurnHandle:
        """A handle on a turn submitted elsewhere (another process knows its id)."""
        return TurnHandle(self, turn_id, thread_key, options or TurnOptions())

    async def run(self, thread_key: str, input: Input, **fields: Any) -> TurnResult:
        """``await (await submit(...)).result()``."""
        return await (await self.submit(thread_key, input, **fields)).result()

    async def thread(self, thread_key: str) -> ThreadRecord | None:
        """The thread's committed state, or None if no turn was ever submitted for it."""
        keys = self.keys
        record = await self._conn.call(lambda r: r.hgetall(keys.thread(thread_key)))
        if not record:
            return None
        queued = await self._conn.call(lambda r: r.lrange(keys.queue(thread_key), 0, -1))

        def text(name: bytes) -> str | None:
            value = record.get(name)
            return value.decode() if value is not None else None

        return ThreadRecord(
            thread_key=thread_key,
            thread_id=text(b"thread_id"),
            options=orjson.loads(record.get(b"options", b"{}")),
            version=int(record.get(b"version", 0)),
            fence=int(record.get(b"fence", 0)),
            worker=text(b"worker"),
            rollout_name=text(b"rollout_name"),
            rollout_bytes=len(record.get(b"rollout", b"")),
            queued=tuple(v.decode() for v in queued),
        )

    async def queue_stats(self) -> QueueStats:
        keys = self.keys
        depth = await self._conn.call(lambda r: r.xlen(keys.turns))
        dead = await self._conn.call(lambda r: r.xlen(keys.dead))
        groups = await self._conn.call(lambda r: _groups(r, keys.turns))
        group = next((g for g in groups if g.get(b"name") == GROUP.encode()), {})
        return QueueStats(
            depth=depth,
            pending=int(group.get(b"pending", 0)),
            consumers=int(group.get(b"consumers", 0)),
            dead_letters=dead,
        )

    async def dead_letters(self, count: int = 100) -> list[dict[str, str]]:
        """The latest dead-lettered turns (newest first): turn, thread, error, deliveries."""
        keys = self.keys
        entries = await self._conn.call(lambda r: r.xrevrange(keys.dead, count=count))
        return [
            {_id(k).decode(): _id(v).decode() for k, v in entry.field_values.items()}
            for entry in entries
        ]

    async def workers(self) -> list[dict[str, str]]:
        """The workers whose health records have not expired (see ``ClusterWorker``)."""
        keys = self.keys
        names: list[bytes] = []

        async def scan(r: Any) -> None:
            names.clear()
            async for key in r.scan_iter(match=keys.workers_pattern):
                names.append(_id(key))

        await self._conn.call(scan)
        out = []
        for key in names:
            record = await self._conn.call(lambda r: r.hgetall(key))  # noqa: B023
            if record:
                out.append({k.decode(): v.decode() for k, v in record.items()})
        return out


def _id(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


async def _groups(redis: Any, key: str) -> tuple[dict[bytes, Any], ...]:
    import coredis.exceptions

    try:
        groups: tuple[dict[bytes, Any], ...] = await redis.xinfo_groups(key)
    except coredis.exceptions.ResponseError:
        return ()  # no stream yet
    return groups
