"""A real ``redis-server`` for tests: started on a free loopback port (or a unix socket) in a
private directory, stopped after; restartable on the same address with its AOF kept.

No fakes: the scale-out tests (``codex_trio.cluster``) run against the real server. The binary
comes from ``$CODEX_TRIO_REDIS_SERVER``, else ``redis-server`` on ``PATH`` (``scripts/test``
installs Debian's ``redis-server`` package when it is missing and it runs as root, as CI does).

::

    async with RedisServer(tmp_path / "redis", appendonly=True) as redis:
        client = coredis.Redis.from_url(redis.url)
        ...
        await redis.restart()      # same port, same data directory, AOF replayed
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path
from types import TracebackType

import attrs
import trio

from codex_trio._errors import ConfigurationError

__all__ = ["RedisServer", "RedisServerUnavailable", "find_redis_server"]

#: ``XAUTOCLAIM`` arrived in 6.2.
MINIMUM_VERSION = (6, 2)


class RedisServerUnavailable(ConfigurationError):
    """No usable ``redis-server`` binary on this machine (missing, or older than 6.2)."""


def find_redis_server() -> str:
    """The ``redis-server`` binary to use: ``$CODEX_TRIO_REDIS_SERVER``, else ``PATH``.

    Raises :class:`RedisServerUnavailable` naming what is missing and how to install it.
    """
    explicit = os.environ.get("CODEX_TRIO_REDIS_SERVER")
    found = explicit or shutil.which("redis-server")
    if not found or not os.access(found, os.X_OK):
        raise RedisServerUnavailable(
            "redis-server not found (set CODEX_TRIO_REDIS_SERVER, or install it: "
            "`apt-get install redis-server`; scripts/test does this when run as root)"
        )
    version = _version(found)
    if version < MINIMUM_VERSION:
        raise RedisServerUnavailable(
            f"{found} is Redis {'.'.join(map(str, version))}; codex-trio needs >= 6.2 (XAUTOCLAIM)"
        )
    return found


def _version(binary: str) -> tuple[int, ...]:
    out = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    # "Redis server v=7.0.15 sha=... "
    for word in out.split():
        if word.startswith("v="):
            return tuple(int(part) for part in word[2:].split(".") if part.isdigit())
    raise RedisServerUnavailable(f"cannot read the version of {binary}: {out.strip()!r}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@attrs.define(eq=False)
class RedisServer:
    """One ``redis-server`` process in ``directory`` (created, mode 0700).

    ``unix_socket=True`` listens on ``directory/redis.sock`` only (no TCP); otherwise on
    127.0.0.1 at ``port`` (a free one by default). ``password`` turns on ``requirepass`` (it goes
    in the config file, mode 0600, never on the command line). ``appendonly`` keeps an AOF with
    ``appendfsync always`` so a restart loses nothing acknowledged.
    """

    directory: Path = attrs.field(converter=Path)
    port: int | None = None
    unix_socket: bool = False
    password: str | None = attrs.field(default=None, repr=False)
    appendonly: bool = True
    binary: str | None = None
    _process: trio.Process | None = attrs.field(default=None, init=False)
    _log: Path | None = attrs.field(default=None, init=False)

    # -- addresses -------------------------------------------------------------------------------

    @property
    def socket_path(self) -> Path:
        return self.directory / "redis.sock"

    @property
    def url(self) -> str:
        """``redis://[:password@]127.0.0.1:PORT/0`` or ``unix://[:password@]/path?db=0``."""
        auth = f":{self.password}@" if self.password else ""
        if self.unix_socket:
            return f"unix://{auth}{self.socket_path}?db=0"
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        if self.running:
            raise RuntimeError("redis-server already running")
        binary = self.binary or find_redis_server()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        if not self.unix_socket and self.port is None:
            self.port = _free_port()
        config = self.directory / "redis.conf"
        lines = [
            f"dir {self.directory}",
            "bind 127.0.0.1",
            f"port {0 if self.unix_socket else self.port}",
            "daemonize no",
            "save ''",
            f"appendonly {'yes' if self.appendonly else 'no'}",
            "appendfsync always",
            "protected-mode yes",
            "loglevel notice",
        ]
        if self.unix_socket:
            lines += [f"unixsocket {self.socket_path}", "unixsocketperm 700"]
        if self.password is not None:
            lines.append(f"requirepass {self.password}")
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write("\n".join(lines) + "\n")
        self._log = self.directory / "redis.log"
        with self._log.open("ab") as log:
            self._process = await trio.lowlevel.open_process(
                [binary, str(config)], stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        try:
            await self._wait_ready()
        except BaseException:
            await self.stop()
            raise

    async def _wait_ready(self) -> None:
        with trio.fail_after(30):
            while True:
                if self._process is not None and self._process.returncode is not None:
                    raise RuntimeError(
                        f"redis-server exited with {self._process.returncode}: {self.log_tail()}"
                    )
                if await self._ping():
                    return
                await trio.sleep(0.02)

    async def _ping(self) -> bool:
        try:
            if self.unix_socket:
                stream: trio.abc.Stream = await trio.open_unix_socket(str(self.socket_path))
            else:
                assert self.port is not None
                stream = await trio.open_tcp_stream("127.0.0.1", self.port)
        except OSError:
            return False
        async with stream:
            command = b"PING\r\n"
            if self.password is not None:
                pw = self.password.encode()
                command = b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(pw), pw) + command
            await stream.send_all(command)
            data = b""
            with trio.move_on_after(2):
                while b"PONG" not in data and b"-" not in data[:1]:
                    chunk = await stream.receive_some(4096)
                    if not chunk:
                        break
                    data += chunk
            # "-LOADING" while the AOF replays: not ready yet.
            return b"PONG" in data

    async def stop(self, *, sig: int = signal.SIGTERM) -> None:
        """Stop the server (SIGTERM: a clean shutdown; ``signal.SIGKILL``: a crash) and reap it."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.returncode is None:
            process.send_signal(sig)
            with trio.move_on_after(10) as scope:
                await process.wait()
            if scope.cancelled_caught:
                process.kill()
        with trio.CancelScope(shield=True):
            await process.wait()

    async def restart(self, *, sig: int = signal.SIGTERM) -> None:
        """Stop and start again on the same address and data directory (AOF replayed)."""
        await self.stop(sig=sig)
        await self.start()

    def log_tail(self, lines: int = 20) -> str:
        if self._log is None or not self._log.exists():
            return ""
        return "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])

    async def __aenter__(self) -> RedisServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
