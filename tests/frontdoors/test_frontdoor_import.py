"""The front doors load only when imported; ``import codex_trio`` stays as cheap as it was."""

from __future__ import annotations

import subprocess
import sys


def loaded_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"import sys\n{code}\nprint('\\n'.join(sys.modules))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return set(out.split())


def test_import_codex_trio_loads_neither_front_door() -> None:
    modules = loaded_after("import codex_trio")
    assert not {"codex_trio.sync", "codex_trio.aio", "codex_trio._bridge"} & modules


def test_each_front_door_loads_on_import_and_starts_no_thread_until_used() -> None:
    code = (
        "import threading\n"
        "from codex_trio import sync, aio\n"
        "sync.Codex(); aio.Codex()\n"
        "assert [t.name for t in threading.enumerate()] == ['MainThread'], threading.enumerate()\n"
    )
    modules = loaded_after(code)
    assert {"codex_trio.sync", "codex_trio.aio", "codex_trio._bridge"} <= modules
    assert "codex_trio._transport.app_server" not in modules
