"""A CODEX_HOME private to one :class:`~codex_trio.Runtime` or :class:`~codex_trio.Codex`.

``codex_home="isolated"`` makes a temporary directory owned by the object (removed when it
closes), ``codex_home="/some/path"`` uses that directory (created if missing, kept after). Either
way the directory is made mode 0700, so what codex writes there (rollouts, SQLite state, logs,
shell snapshots holding the exported environment) is readable by its owner only, and a runtime's
sessions, MCP servers and state never touch the user's ``~/.codex``.

``codex_home_seed=("config", "auth")`` copies the user's ``config.toml`` and ``auth.json`` (from
``$CODEX_HOME``, else ``$HOME/.codex``, of the environment codex would have run in) into the
private home, mode 0600. Nothing else is copied: never sessions, SQLite files or logs.

The home reaches codex through its environment only: the options' ``env`` is built with
``CODEX_HOME`` set to the private directory (and ``CODEX_SQLITE_HOME`` removed, so the SQLite
files follow the home), which every transport already passes to every codex process.

**Warm-up.** codex 0.163 creates its SQLite files (``state_5.sqlite`` and four others) on the
first start in a home; several processes starting at once on a fresh home race on it and lose
thread rows (8 concurrent first ``codex exec`` runs left 1-7 of 8 rows; resume still works from
the rollout files, ``thread/list`` reads SQLite). :meth:`PrivateCodexHome.warm` starts one
``codex app-server`` with its stdin closed before anything else runs there: it creates every
SQLite file and exits, without calling the model (about 0.15 s on this machine). A home that
already has ``state_*.sqlite`` is left alone. See docs/codex-home.md.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
import time
import weakref
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs
import trio

from codex_trio._errors import ConfigurationError
from codex_trio._protocol.options import (
    CodexOptions,
    ThreadOptions,
    TurnOptions,
    config_override_args,
    exec_env,
)
from codex_trio._redact import redact
from codex_trio._transport.discovery import find_codex
from codex_trio.observe import get_logger

if TYPE_CHECKING:
    from codex_trio._protocol import ThreadEvent
    from codex_trio._turn import TurnRunner

__all__ = [
    "HOME_DIR_MODE",
    "HOME_FILE_MODE",
    "SEED_FILES",
    "CodexHomeSeed",
    "HomeRunner",
    "PrivateCodexHome",
    "open_private_home",
    "user_codex_home",
    "with_private_home",
]

_log = get_logger("codex_trio._home")

CodexHomeSeed = Literal["config", "auth"]
"""What may be copied from the user's CODEX_HOME into a private one."""

SEED_FILES: Mapping[str, str] = {"config": "config.toml", "auth": "auth.json"}
"""The file each seed name copies."""

_SEEDS: Mapping[str, CodexHomeSeed] = {"config": "config", "auth": "auth"}

HOME_DIR_MODE = 0o700
HOME_FILE_MODE = 0o600

ISOLATED = "isolated"
_TEMP_PREFIX = "codex-trio-home-"
_WARM_TIMEOUT = 60.0
# Variables that would send codex's files somewhere else than the private home.
_REDIRECTS = ("CODEX_SQLITE_HOME",)


def user_codex_home(env: Mapping[str, str] | None = None) -> Path:
    """The CODEX_HOME codex uses in ``env`` (default ``os.environ``): ``$CODEX_HOME``, else
    ``$HOME/.codex``."""
    env = os.environ if env is None else env
    configured = env.get("CODEX_HOME")
    if configured:
        return Path(configured).expanduser()
    home = env.get("HOME")
    return (Path(home) if home else Path.home()) / ".codex"


class HomeEnvironment(dict[str, str]):
    """The environment of codex with a private home: a dict whose repr shows the variables'
    names only, and CODEX_HOME."""

    def __repr__(self) -> str:
        others = sorted(k for k in self if k != "CODEX_HOME")
        return (
            f"<environment CODEX_HOME={self.get('CODEX_HOME')!r} and {len(others)} more: "
            f"{', '.join(others)}>"
        )


@attrs.define(eq=False, repr=False)
class PrivateCodexHome:
    """The private CODEX_HOME of one Runtime or Codex (``runtime.codex_home``).

    ``path`` is the directory (absolute, mode 0700); ``isolated`` says it is a temporary
    directory this object removes on :meth:`close`; ``seeded`` names what was copied from the
    user's CODEX_HOME (``source``) when it was made.
    """

    path: Path
    isolated: bool
    seeded: tuple[CodexHomeSeed, ...] = ()
    source: Path | None = None
    _closed: bool = attrs.field(default=False, init=False)
    _warmed: bool = attrs.field(default=False, init=False)
    _lock: trio.Lock = attrs.field(factory=trio.Lock, init=False)
    _finalizer: weakref.finalize[[Path], PrivateCodexHome] | None = attrs.field(
        default=None, init=False
    )

    def __attrs_post_init__(self) -> None:
        if self.isolated:
            # A home never closed (a Codex nobody closes) goes when this object is collected, or
            # at interpreter exit at the latest.
            self._finalizer = weakref.finalize(self, _remove_tree, self.path)

    def __repr__(self) -> str:
        kind = "isolated" if self.isolated else "path"
        state = " closed" if self._closed else ""
        return f"<PrivateCodexHome {kind} {str(self.path)!r}{state}>"

    @property
    def closed(self) -> bool:
        """True once an isolated home was removed by :meth:`close` (a path home never closes)."""
        return self._closed

    @property
    def fresh(self) -> bool:
        """True while codex has not yet created its state database here."""
        return not any(self.path.glob("state_*.sqlite"))

    def env(self, base: Mapping[str, str]) -> dict[str, str]:
        """``base`` with ``CODEX_HOME`` set to this home (and ``CODEX_SQLITE_HOME`` removed).

        Its repr names the variables without their values (but CODEX_HOME's): it is usually a
        copy of the whole process environment, and ends up in ``repr(options)``."""
        env = HomeEnvironment((k, v) for k, v in base.items() if k not in _REDIRECTS)
        env["CODEX_HOME"] = str(self.path)
        return env

    def check_open(self) -> None:
        """Raise :class:`trio.ClosedResourceError` if this home was removed."""
        if self._closed:
            raise trio.ClosedResourceError(
                f"the isolated CODEX_HOME {str(self.path)!r} was removed when its owner closed; "
                "make a new Codex or Runtime"
            )

    async def warm(self, options: CodexOptions, codex_path: str | None = None) -> bool:
        """Make sure codex has created its SQLite files here before concurrent use; once per
        home (later calls, and calls on a home that already has them, return at once).

        Starts ``codex app-server`` (``codex_path``, default: the one ``find_codex`` finds for
        ``options.codex_path``) with ``options``' environment and ``-c`` overrides and its stdin
        closed, and waits for it to exit. Returns whether it did. If the state database is
        still missing afterwards it logs a warning (``codex_home.warm_failed``) and carries on:
        turns still work, only concurrent first turns may go missing from ``thread/list``.
        """
        self.check_open()
        if self._warmed:
            return False
        if codex_path is None:
            codex_path = find_codex(options.codex_path)
        async with self._lock:
            self.check_open()
            if self._warmed:
                return False
            if not self.fresh:
                self._warmed = True
                return False
            began = time.monotonic()
            returncode: int | None = None
            stderr = b""
            with trio.move_on_after(_WARM_TIMEOUT):
                try:
                    result = await trio.run_process(
                        [codex_path, "app-server", *config_override_args(options)],
                        stdin=b"",
                        capture_stdout=True,
                        capture_stderr=True,
                        check=False,
                        env=exec_env(options),
                        cwd=str(self.path),
                    )
                except OSError as exc:
                    stderr = str(exc).encode()
                else:
                    returncode, stderr = result.returncode, result.stderr
            self._warmed = True
            if self.fresh:
                _log.warning(
                    "codex_home.warm_failed",
                    codex_home=str(self.path),
                    returncode=returncode,
                    stderr_tail=redact(stderr.decode("utf-8", "replace")[-500:]),
                )
            else:
                _log.debug(
                    "codex_home.warmed",
                    codex_home=str(self.path),
                    seconds=round(time.monotonic() - began, 3),
                )
            return True

    def close(self) -> None:
        """Remove an isolated home with everything codex wrote in it; idempotent. A path home
        is kept (and stays usable): nothing happens."""
        if not self.isolated or self._closed:
            return
        self._closed = True
        if self._finalizer is not None:
            self._finalizer()
        if self.path.exists():  # pragma: no cover - something we may not delete
            _log.warning("codex_home.not_removed", codex_home=str(self.path))


def _remove_tree(path: Path) -> None:
    """Remove ``path`` and everything in it, read-only directories included (git objects)."""

    def retry(name: str) -> None:
        try:
            os.chmod(os.path.dirname(name), stat.S_IRWXU)
            if os.path.isdir(name) and not os.path.islink(name):
                os.chmod(name, stat.S_IRWXU)
                shutil.rmtree(name, ignore_errors=True)
            else:
                os.unlink(name)
        except OSError:
            pass

    def onexc(function: object, name: str, exc: BaseException) -> None:
        if not isinstance(exc, FileNotFoundError):
            retry(name)

    def onerror(
        function: object, name: str, info: tuple[type[BaseException], BaseException, object]
    ) -> None:
        onexc(function, name, info[1])

    try:
        if sys.version_info >= (3, 12):
            shutil.rmtree(path, onexc=onexc)
        else:
            shutil.rmtree(path, onerror=onerror)
    except OSError:  # gone already, or reported by close()
        pass


def _seed_names(seed: str | Iterable[str]) -> tuple[CodexHomeSeed, ...]:
    names = (seed,) if isinstance(seed, str) else tuple(seed)
    out: list[CodexHomeSeed] = []
    for name in names:
        if name in _SEEDS:
            if name not in out:
                out.append(_SEEDS[name])
        else:
            raise ConfigurationError(
                f"codex_home_seed: unknown item {name!r}; expected some of "
                f"{', '.join(repr(n) for n in SEED_FILES)}"
            )
    return tuple(out)


def _make_private_dir(path: Path) -> None:
    try:
        path.mkdir(mode=HOME_DIR_MODE, parents=True, exist_ok=True)
        if not path.is_dir():
            raise ConfigurationError(f"codex_home {str(path)!r} is not a directory")
        if stat.S_IMODE(path.stat().st_mode) != HOME_DIR_MODE:
            os.chmod(path, HOME_DIR_MODE)
    except FileExistsError:
        raise ConfigurationError(f"codex_home {str(path)!r} is not a directory") from None
    except OSError as exc:
        raise ConfigurationError(
            f"codex_home {str(path)!r}: cannot make it a private directory: {exc.strerror}"
        ) from exc


def _copy_private(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` as a new 0600 file (replacing ``target`` atomically)."""
    data = source.read_bytes()
    temp = target.with_name(f".{target.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, HOME_FILE_MODE)
    try:
        os.fchmod(fd, HOME_FILE_MODE)  # whatever the umask
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        os.close(fd)
        temp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(temp, target)


def _seed(home: Path, source: Path, names: tuple[CodexHomeSeed, ...]) -> tuple[CodexHomeSeed, ...]:
    copied: list[CodexHomeSeed] = []
    for name in names:
        file_name = SEED_FILES[name]
        src, dst = source / file_name, home / file_name
        try:
            if dst.exists() and os.path.samefile(src, dst):
                copied.append(name)  # the private home is the user's own: nothing to copy
                continue
            _copy_private(src, dst)
        except FileNotFoundError:
            # Nothing to copy (no auth.json for an API-key user, say). Only names, never contents.
            _log.info("codex_home.seed_missing", file=file_name, source=str(source))
            continue
        except OSError as exc:
            raise ConfigurationError(
                f"codex_home_seed: cannot copy {file_name} from {str(source)!r}: {exc.strerror}"
            ) from exc
        copied.append(name)
    return tuple(copied)


def open_private_home(
    codex_home: str | os.PathLike[str],
    seed: str | Iterable[str] = (),
    *,
    env: Mapping[str, str] | None = None,
) -> PrivateCodexHome:
    """Make (or take) the private home ``codex_home`` (``"isolated"`` or a path) and seed it
    from the user's CODEX_HOME in ``env`` (default ``os.environ``)."""
    names = _seed_names(seed)
    if isinstance(codex_home, str) and codex_home == ISOLATED:
        path = Path(tempfile.mkdtemp(prefix=_TEMP_PREFIX)).resolve()  # mkdtemp makes it 0700
        isolated = True
    elif isinstance(codex_home, (str, os.PathLike)):
        raw = os.fspath(codex_home)
        if not raw:
            raise ConfigurationError("codex_home must be 'isolated' or a directory path, not ''")
        path = Path(raw).expanduser().absolute()
        _make_private_dir(path)
        path = path.resolve()  # codex refuses a symlinked CODEX_HOME by default
        isolated = False
    else:
        raise ConfigurationError(
            f"codex_home must be 'isolated' or a directory path, not {type(codex_home).__name__}"
        )
    source = user_codex_home(env) if names else None
    try:
        seeded = _seed(path, source, names) if source is not None else ()
    except BaseException:
        if isolated:
            _remove_tree(path)
        raise
    return PrivateCodexHome(path=path, isolated=isolated, seeded=seeded, source=source)


class HomeRunner:
    """A :class:`~codex_trio._turn.TurnRunner` in front of ``inner`` for a :class:`Codex` with a
    private home: the first turn warms the home (concurrent first turns wait for that one
    warm-up), and a turn after the home was removed raises :class:`trio.ClosedResourceError`
    before any process starts. Everything else is ``inner``'s (attributes are delegated)."""

    def __init__(
        self, inner: TurnRunner, home: PrivateCodexHome, codex_path: str, options: CodexOptions
    ) -> None:
        self.inner = inner
        self.home = home
        self._codex_path = codex_path
        self._options = options

    @property
    def name(self) -> str:
        return self.inner.name

    async def ready(self) -> None:
        """Warm the home if it is fresh; raise if it was removed."""
        await self.home.warm(self._options, self._codex_path)

    @asynccontextmanager
    async def turn(
        self,
        prompt: str,
        thread: ThreadOptions,
        turn: TurnOptions = TurnOptions(),
        *,
        images: Sequence[str] = (),
        resume_thread_id: str | None = None,
    ) -> AsyncIterator[AsyncIterator[ThreadEvent]]:
        await self.ready()
        async with self.inner.turn(
            prompt, thread, turn, images=images, resume_thread_id=resume_thread_id
        ) as events:
            yield events

    def __getattr__(self, name: str) -> Any:
        if name == "inner":  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return f"<HomeRunner {self.inner!r} {self.home!r}>"


def with_private_home(
    options: CodexOptions,
    codex_home: str | os.PathLike[str] | None,
    seed: str | Iterable[str] = (),
    *,
    remote: bool = False,
) -> tuple[CodexOptions, PrivateCodexHome | None]:
    """``options`` with their environment pointing codex at the private home ``codex_home``,
    and that home; ``options`` unchanged and None without one.

    The environment is ``options.env`` if given, else a copy of ``os.environ`` taken now, with
    ``CODEX_HOME`` set (see :meth:`PrivateCodexHome.env`). ``remote`` (a ``url=``): a remote
    app-server has its own CODEX_HOME, so asking for one here is a ConfigurationError.
    """
    if codex_home is None:
        if seed:
            raise ConfigurationError("codex_home_seed needs codex_home ('isolated' or a path)")
        return options, None
    if remote:
        raise ConfigurationError(
            "codex_home needs a local codex; a remote app-server (url=...) uses its own CODEX_HOME"
        )
    base = dict(options.env) if options.env is not None else dict(os.environ)
    home = open_private_home(codex_home, seed, env=base)
    return attrs.evolve(options, env=home.env(base)), home
