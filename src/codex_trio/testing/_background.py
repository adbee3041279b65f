"""Running the mock server for a synchronous program, on a thread of its own.

The server is a trio program; a synchronous demo or script cannot ``async with`` it. The
:func:`serve_in_thread` context manager starts ``trio.run`` on a daemon thread, waits until the
server listens, and on exit stops it and joins the thread, so every socket is closed when the
``with`` block ends::

    with serve_in_thread(Script([message("hi")])) as server:
        home = write_codex_home(tmp, base_url=server.base_url)
        subprocess.run([codex, "exec", "--json", "-"], input=b"hi", env=home.environ())
        print(server.requests[0].last_user_text())

Reading :attr:`BackgroundMockServer.requests` from the caller's thread is safe (the list only
grows); controls (``release``, replacing the script) are passed to the server's thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import attrs
import trio

from codex_trio.testing._mock_server import MockResponsesServer, MockServerStatistics
from codex_trio.testing._recorded import RecordedRequest
from codex_trio.testing._script import Script, Step

__all__ = ["BackgroundMockServer", "serve_in_thread"]


@attrs.define
class BackgroundMockServer:
    """A :class:`MockResponsesServer` running on another thread; made by :func:`serve_in_thread`."""

    server: MockResponsesServer
    _token: trio.lowlevel.TrioToken = attrs.field(alias="token")

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``."""
        return self.server.base_url

    @property
    def port(self) -> int:
        """The TCP port listened on."""
        return self.server.port

    @property
    def requests(self) -> list[RecordedRequest]:
        """The Responses API requests received so far."""
        return self.server.requests

    def statistics(self) -> MockServerStatistics:
        """See :meth:`MockResponsesServer.statistics`."""
        stats: MockServerStatistics = trio.from_thread.run_sync(
            self.server.statistics, trio_token=self._token
        )
        return stats

    def set_script(self, script: Script | Iterable[Step]) -> None:
        """Replace the script, from the next request on."""

        def assign() -> None:
            self.server.script = script

        trio.from_thread.run_sync(assign, trio_token=self._token)

    def release(self) -> None:
        """See :meth:`MockResponsesServer.release`."""
        self.server.release()


@contextmanager
def serve_in_thread(
    script: Script | Iterable[Step] | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[BackgroundMockServer]:
    """Run a :class:`MockResponsesServer` on a new thread for the duration of the ``with``.

    Raises whatever starting the server raised (e.g. ``OSError`` if ``port`` is taken). If the
    server fails while running, the error is raised when the ``with`` block exits.
    """
    server = MockResponsesServer(script, host=host, port=port)
    ready = threading.Event()
    handles: dict[str, object] = {}
    failure: list[BaseException] = []

    async def main() -> None:
        stop = trio.Event()
        async with server:
            handles["token"] = trio.lowlevel.current_trio_token()
            handles["stop"] = stop
            ready.set()
            await stop.wait()

    def run() -> None:
        try:
            trio.run(main)
        except BaseException as exc:
            failure.append(exc)
        finally:
            ready.set()

    thread = threading.Thread(target=run, name="codex-trio-mock-server", daemon=True)
    thread.start()
    ready.wait()
    if "token" not in handles:
        thread.join()
        raise failure[0]
    token = handles["token"]
    stop = handles["stop"]
    assert isinstance(token, trio.lowlevel.TrioToken) and isinstance(stop, trio.Event)
    try:
        yield BackgroundMockServer(server, token=token)
    finally:
        try:
            trio.from_thread.run_sync(stop.set, trio_token=token)
        except trio.RunFinishedError:
            pass
        thread.join()
    if failure:
        raise failure[0]
