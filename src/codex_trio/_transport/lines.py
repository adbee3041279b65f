"""Newline framing with a bound on line size.

codex speaks newline-delimited JSON on stdout. A reader that buffers "until the next newline"
without a limit lets one runaway line (a huge command output, or garbage from a broken binary)
take all the memory it likes. :class:`LineReader` keeps at most ``max_line_bytes`` of a line; a
longer line is skipped up to its newline and reported with :class:`LineTooLongError`, so the caller
can decide to fail the turn or carry on with the next line.
"""

from __future__ import annotations

import trio

from codex_trio._errors import ProtocolError

__all__ = ["DEFAULT_MAX_LINE_BYTES", "LineReader", "LineTooLongError"]

DEFAULT_MAX_LINE_BYTES = 8 * 1024 * 1024

_CHUNK = 64 * 1024


class LineTooLongError(ProtocolError):
    """A line longer than the reader's ``max_line_bytes``; ``line`` holds its first bytes.

    By the time this is raised the reader has already skipped the rest of the line, so reading
    on gives the next line.
    """

    def __init__(self, limit: int, prefix: bytes) -> None:
        self.limit = limit
        super().__init__(f"line longer than {limit} bytes", line=prefix[:200])


class LineReader:
    """Reads ``\\n``-terminated lines from a trio receive stream, each at most ``max_line_bytes``.

    :meth:`receive_line` returns a line without its newline, or ``None`` at end of stream. A final
    line without a newline is returned as a line. Not safe for two tasks to read at once (trio
    streams are not either).
    """

    def __init__(
        self, stream: trio.abc.ReceiveStream, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    ) -> None:
        if max_line_bytes < 1:
            raise ValueError("max_line_bytes must be positive")
        self._stream = stream
        self._max = max_line_bytes
        self._buf = bytearray()
        # Where to resume searching for a newline: bytes before it are known to hold none.
        self._scanned = 0
        self._eof = False
        self.lines_read = 0

    async def receive_line(self) -> bytes | None:
        while True:
            nl = self._buf.find(b"\n", self._scanned)
            if nl >= 0:
                line = bytes(self._buf[:nl])
                del self._buf[: nl + 1]
                self._scanned = 0
                if len(line) > self._max:
                    raise LineTooLongError(self._max, line)
                self.lines_read += 1
                return line
            self._scanned = len(self._buf)
            if len(self._buf) > self._max:
                prefix = bytes(self._buf[:200])
                await self._skip_rest_of_line()
                raise LineTooLongError(self._max, prefix)
            if self._eof:
                if not self._buf:
                    return None
                line = bytes(self._buf)
                self._buf.clear()
                self._scanned = 0
                self.lines_read += 1
                return line
            chunk = await self._stream.receive_some(_CHUNK)
            if not chunk:
                self._eof = True
            else:
                self._buf += chunk

    async def _skip_rest_of_line(self) -> None:
        self._buf.clear()
        self._scanned = 0
        while True:
            chunk = await self._stream.receive_some(_CHUNK)
            if not chunk:
                self._eof = True
                return
            nl = chunk.find(b"\n")
            if nl >= 0:
                self._buf += chunk[nl + 1 :]
                return
