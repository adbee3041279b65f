"""A real ``codex app-server --listen ws://127.0.0.1:PORT`` on the mock model, for the remote
(websocket) tests: started, waited for (``/readyz``), stopped and reaped.

The server is spawned with the SDK's own :func:`~codex_trio._transport.process.open_codex_process`
(its own session, SIGKILL'd with the test process should that die, its whole group killed and
reaped when the block ends). With ``token``, it is started with ``--ws-auth capability-token
--ws-token-file <file>``, the file mode 0600 in the test's own ``tmp_path`` (removed with it);
the token is never on the command line.
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import attrs
import trio

from codex_trio._protocol.app_server.params import UNLOAD_DELAY_OVERRIDE
from codex_trio._transport.process import CodexProcess, StopPolicy, open_codex_process
from codex_trio.testing import MockModel

READY_GUARD = 60  # seconds: a hang guard for the server to answer /readyz, not a timing claim


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@attrs.define
class RemoteServer:
    """A listening app-server: ``url`` to connect to, ``process`` to kill it."""

    url: str
    port: int
    argv: list[str]
    process: CodexProcess

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL the server (no goodbye on the websocket: the client sees code 1006)."""
        os.kill(self.process.pid, signal.SIGKILL)


async def http_status(port: int, path: str) -> int | None:
    """The HTTP status of ``GET path`` on the server, or None if nothing answers."""
    try:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
    except OSError:
        return None
    async with stream:
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        try:
            await stream.send_all(request.encode())
            data = b""
            while chunk := await stream.receive_some(4096):
                data += chunk
        except (trio.BrokenResourceError, OSError):
            return None
    first = data.split(b"\r\n", 1)[0].split()
    return int(first[1]) if len(first) >= 2 and first[1].isdigit() else None


@asynccontextmanager
async def remote_app_server(
    mock_model: MockModel,
    directory: Path,
    *,
    token: str | None = None,
    port: int | None = None,
) -> AsyncIterator[RemoteServer]:
    """Run a listening app-server on the mock model for the block (see the module docstring)."""
    port = port if port is not None else free_port()
    argv = [
        mock_model.codex,
        "app-server",
        *UNLOAD_DELAY_OVERRIDE,
        "-c",
        "features.shell_snapshot=false",
        "--listen",
        f"ws://127.0.0.1:{port}",
    ]
    if token is not None:
        token_file = directory / f"ws-token-{port}"
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token)
        argv += ["--ws-auth", "capability-token", "--ws-token-file", str(token_file)]
    async with open_codex_process(
        argv,
        env=mock_model.env,
        transport="app-server",
        stop_policy=StopPolicy(exit_grace=0.5, signal_grace=2),
    ) as process:
        with trio.fail_after(READY_GUARD):
            while await http_status(port, "/readyz") != 200:
                if process.returncode is not None:
                    raise RuntimeError(
                        f"codex app-server exited ({process.returncode}): {process.stderr.tail()}"
                    )
                await trio.sleep(0.05)
        yield RemoteServer(url=f"ws://127.0.0.1:{port}", port=port, argv=argv, process=process)


@attrs.define
class TcpProxy:
    """A loopback TCP proxy in front of a server: ``url`` to connect through, :meth:`cut` to
    drop every connection going through it (a network failure: the server lives on and sees
    its clients vanish)."""

    port: int
    _streams: list[trio.SocketStream] = attrs.field(factory=list)
    cuts: int = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def cut(self) -> None:
        self.cuts += 1
        streams, self._streams = self._streams, []
        for stream in streams:
            await stream.aclose()


async def _pump(source: trio.SocketStream, sink: trio.SocketStream) -> None:
    try:
        while data := await source.receive_some(65536):
            await sink.send_all(data)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    finally:
        for stream in (source, sink):
            await stream.aclose()


@asynccontextmanager
async def tcp_proxy(target_port: int) -> AsyncIterator[TcpProxy]:
    """Run a :class:`TcpProxy` to ``127.0.0.1:target_port`` for the block."""
    proxy: TcpProxy | None = None

    async def forward(client: trio.SocketStream) -> None:
        assert proxy is not None
        try:
            upstream = await trio.open_tcp_stream("127.0.0.1", target_port)
        except OSError:
            await client.aclose()
            return
        proxy._streams += [client, upstream]
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_pump, client, upstream)
            nursery.start_soon(_pump, upstream, client)

    async with trio.open_nursery() as nursery:
        [listener] = await nursery.start(partial(trio.serve_tcp, forward, 0, host="127.0.0.1"))
        proxy = TcpProxy(port=listener.socket.getsockname()[1])
        yield proxy
        nursery.cancel_scope.cancel()
