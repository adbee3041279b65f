"""Finding the ``codex`` binary and checking that we speak its version.

Order, first hit wins:

1. an explicit path (``CodexOptions(codex_path=...)``);
2. the environment variable ``CODEX_TRIO_CODEX_PATH``;
3. the binary bundled in the ``openai-codex-cli-bin`` wheel (a dependency, pinned);
4. ``codex`` on ``PATH``.

An explicit choice (1 or 2) that is wrong is an error, not a reason to fall through: a service
that names its binary must not silently run another one.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

import trio

from codex_trio._errors import CodexNotFoundError, CodexVersionError

__all__ = [
    "ENV_VAR",
    "SUPPORTED_VERSIONS",
    "check_version",
    "find_codex",
    "parse_version",
]

ENV_VAR = "CODEX_TRIO_CODEX_PATH"

# Inclusive lower bound, exclusive upper bound. The wire formats are pinned to what 0.163 sends;
# a newer minor release must be checked (re-record fixtures, run the contract tests) before it is
# admitted here.
SUPPORTED_VERSIONS = ((0, 163, 0), (0, 164, 0))

_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")
_checked: dict[tuple[str, int], str] = {}


def _usable(path: Path) -> str | None:
    """None if ``path`` is an executable file, else why not."""
    if not path.exists():
        return "does not exist"
    if not path.is_file():
        return "is not a file"
    if not os.access(path, os.X_OK):
        return "is not executable"
    return None


def _bundled() -> tuple[Path | None, str]:
    try:
        import codex_cli_bin
    except ImportError:
        return None, "the openai-codex-cli-bin wheel is not installed"
    try:
        return Path(codex_cli_bin.bundled_codex_path()), ""
    except (FileNotFoundError, OSError) as exc:
        return None, f"openai-codex-cli-bin: {exc}"


def find_codex(
    explicit: str | os.PathLike[str] | None = None, *, env: Mapping[str, str] | None = None
) -> str:
    """The path of the codex binary to run; raises :class:`CodexNotFoundError` naming each place
    that was tried and why it did not do."""
    environ = os.environ if env is None else env
    tried: list[str] = []
    for origin, value in (("codex_path option", explicit), (ENV_VAR, environ.get(ENV_VAR))):
        if value:
            path = Path(value)
            problem = _usable(path)
            if problem is None:
                return str(path)
            raise CodexNotFoundError(
                f"codex binary from {origin} {str(path)!r} {problem}", tried=[f"{origin}: {path}"]
            )
        tried.append(f"{origin}: not set")
    bundled, why = _bundled()
    if bundled is not None:
        problem = _usable(bundled)
        if problem is None:
            return str(bundled)
        tried.append(f"bundled wheel: {bundled} {problem}")
    else:
        tried.append(f"bundled wheel: {why}")
    on_path = shutil.which("codex", path=environ.get("PATH"))
    if on_path:
        return on_path
    tried.append("PATH: no 'codex'")
    raise CodexNotFoundError("no codex binary found", tried=tried)


def parse_version(output: str) -> tuple[int, int, int] | None:
    """``"codex-cli 0.163.0"`` -> ``(0, 163, 0)``; None when there is no version in it."""
    match = _VERSION.search(output)
    if match is None:
        return None
    return (int(match[1]), int(match[2]), int(match[3]))


def _supported(version: tuple[int, int, int]) -> bool:
    low, high = SUPPORTED_VERSIONS
    return low <= version < high


async def check_version(path: str) -> str:
    """Run ``codex --version`` once per binary (cached by path and mtime) and return the version.

    Raises :class:`CodexVersionError` if the binary does not answer with a supported version.
    """
    try:
        key = (path, os.stat(path).st_mtime_ns)
    except OSError as exc:
        raise CodexNotFoundError(f"codex binary {path!r}: {exc.strerror}", tried=[path]) from exc
    if key in _checked:
        return _checked[key]
    try:
        with trio.fail_after(30):
            result = await trio.run_process(
                [path, "--version"], capture_stdout=True, capture_stderr=True, check=False
            )
    except (OSError, trio.TooSlowError) as exc:
        raise CodexVersionError(
            f"could not run {path!r} --version: {exc}", path=path, version=None
        ) from exc
    text = result.stdout.decode("utf-8", "replace").strip()
    version = parse_version(text)
    if result.returncode != 0 or version is None:
        raise CodexVersionError(
            f"{path!r} --version did not print a version "
            f"(exit {result.returncode}: {text[:200]!r})",
            path=path,
            version=None,
        )
    shown = ".".join(map(str, version))
    if not _supported(version):
        low, high = (".".join(map(str, v)) for v in SUPPORTED_VERSIONS)
        raise CodexVersionError(
            f"codex {shown} at {path!r} is not supported (need >= {low}, < {high})",
            path=path,
            version=shown,
        )
    _checked[key] = shown
    return shown
