"""What the JSON-RPC connection needs of the thing it talks over: a :class:`MessageChannel`.

A channel carries whole messages: :meth:`~MessageChannel.send_message` writes one encoded
message (the bytes :func:`~codex_trio._protocol.app_server.messages.encode_message` gives, with
its trailing newline), :meth:`~MessageChannel.receive_message` reads the next one (``None`` once
the peer is gone for good), :meth:`~MessageChannel.describe_end` says why it ended, as the
:class:`~codex_trio._errors.TransportError` everyone on the connection then gets. Two exist:

* :class:`ProcessChannel`: a codex process's stdio, one message per line
  (:class:`~codex_trio._transport.process.CodexProcess`);
* :class:`~codex_trio._transport.websocket.WebSocketChannel`: a remote ``codex app-server
  --listen ws://...``, one message per websocket text message.

The guarantees above the channel (one writer task, all-or-nothing writes, ``write_timeout``, a
bad message skipped and reported, everyone failed at once when it dies) are the connection's,
:mod:`codex_trio._transport.jsonrpc`; a channel only moves messages.

``pid`` and ``stderr`` describe the other end for errors: the process's, or ``None`` and an
empty tail for a remote server (its stderr is on its own machine).
"""

from __future__ import annotations

from typing import Protocol

import trio

from codex_trio._errors import TransportError

__all__ = ["NO_STDERR", "MessageChannel", "ProcessChannel", "StderrTail"]


class StderrTail(Protocol):
    def tail(self, n: int = 20) -> str: ...


class _NoStderr:
    """The stderr tail of a peer whose stderr we cannot see (a remote server): always empty."""

    def tail(self, n: int = 20) -> str:
        return ""


NO_STDERR: StderrTail = _NoStderr()


class MessageChannel(Protocol):
    """See the module docstring."""

    @property
    def pid(self) -> int | None:
        """The codex process's pid, or None when it is not ours (a remote server)."""
        ...

    @property
    def stderr(self) -> StderrTail:
        """The tail of codex's stderr (empty for a remote server)."""
        ...

    expect_exit: bool
    """Set once the peer is expected to go away on its own (the block ended normally)."""

    async def send_message(self, data: bytes) -> None:
        """Write one whole message; :class:`TransportError` if the peer stopped reading."""
        ...

    async def receive_message(self) -> bytes | str | None:
        """The next message, or None once the peer is gone. May raise
        :class:`~codex_trio._transport.lines.LineTooLongError` for an oversized message that was
        skipped (the channel is still usable)."""
        ...

    async def describe_end(self, message: str) -> TransportError:
        """Once :meth:`receive_message` returned None: why the channel ended (waiting briefly
        for details such as the process's exit status)."""
        ...

    def error(self, message: str) -> TransportError:
        """A :class:`TransportError` carrying what is known about the peer now."""
        ...


class _Process(Protocol):
    """What :class:`ProcessChannel` uses of a :class:`~codex_trio._transport.process.CodexProcess`
    (so an in-memory stand-in works too)."""

    @property
    def pid(self) -> int: ...

    @property
    def stderr(self) -> StderrTail: ...

    expect_exit: bool

    async def send(self, data: bytes) -> None: ...

    async def receive_line(self) -> bytes | None: ...

    async def wait(self) -> object: ...

    def error(self, message: str) -> TransportError: ...


class ProcessChannel:
    """A codex process's stdio as a :class:`MessageChannel`: one message per line."""

    def __init__(self, process: _Process, *, exit_wait: float = 2.0) -> None:
        self.process = process
        self._exit_wait = exit_wait

    @property
    def pid(self) -> int | None:
        return self.process.pid

    @property
    def stderr(self) -> StderrTail:
        return self.process.stderr

    @property
    def expect_exit(self) -> bool:
        return self.process.expect_exit

    @expect_exit.setter
    def expect_exit(self, value: bool) -> None:
        self.process.expect_exit = value

    async def send_message(self, data: bytes) -> None:
        await self.process.send(data)

    async def receive_message(self) -> bytes | None:
        return await self.process.receive_line()

    async def describe_end(self, message: str) -> TransportError:
        # stdout closed: codex exited (or is exiting). Wait briefly for its status so the error
        # carries the exit code.
        with trio.move_on_after(self._exit_wait):
            await self.process.wait()
        return self.process.error(message)

    def error(self, message: str) -> TransportError:
        return self.process.error(message)

    def __repr__(self) -> str:
        return f"ProcessChannel(pid={self.process.pid})"
