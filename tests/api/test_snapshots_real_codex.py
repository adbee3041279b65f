"""The API key never reaches disk readable by others: codex's shell snapshots (which hold the
exported environment, key included, mode 0644) are turned off for every codex process the SDK
starts, on both transports."""

from __future__ import annotations

import os
import stat
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import trio

import codex_trio
from codex_trio._protocol import ItemCompletedEvent
from codex_trio._protocol.exec_items import CommandExecutionItem
from codex_trio.testing import MockModel, exec_command, hold, message

pytestmark = pytest.mark.integration


def readable_by_others_holding(secret: str, roots: list[Path], since: float) -> list[str]:
    """Files under ``roots`` (modified since ``since``) that group or other may read and that
    contain ``secret``."""
    found = []
    for root in roots:
        for directory, _dirs, files in os.walk(root):
            for name in files:
                path = os.path.join(directory, name)
                try:
                    st = os.stat(path, follow_symlinks=False)
                    if not stat.S_ISREG(st.st_mode) or st.st_mtime < since:
                        continue
                    if not st.st_mode & (stat.S_IRGRP | stat.S_IROTH) or st.st_size > 64 << 20:
                        continue
                    with open(path, "rb") as f:
                        if secret.encode() in f.read():
                            found.append(f"{oct(st.st_mode & 0o777)} {path}")
                except OSError:
                    continue
    return found


@pytest.mark.parametrize("transport", ["exec", "app-server"])
async def test_no_file_readable_by_others_holds_the_key_while_commands_run(
    mock_model: MockModel, tmp_path: Path, transport: str
) -> None:
    secret = f"sk-live-{uuid.uuid4().hex}"
    codex_tmp = tmp_path / "tmp"
    codex_tmp.mkdir()
    # The key both ways: api_key= (CODEX_API_KEY) and the provider's env_key in env.
    env = {**mock_model.env, mock_model.home.env_key: secret, "TMPDIR": str(codex_tmp)}
    roots = [mock_model.home.path, codex_tmp, Path(tempfile.gettempdir())]
    # A known model (the testing catalogue) gets the full tool set, exec_command included.
    mock_model.script = [exec_command("echo hi"), exec_command("echo again"), hold(message("ok"))]
    since = time.time() - 1
    seen: list[str] = []
    with trio.fail_after(90):
        async with codex_trio.Codex(env=env, api_key=secret, transport=transport) as codex:  # type: ignore[arg-type]
            thread = codex.start_thread(
                working_directory=str(mock_model.workdir), skip_git_repo_check=True
            )
            async with thread.run_streamed("run things", timeout=60) as events:
                async for event in events:
                    if isinstance(event, ItemCompletedEvent) and isinstance(
                        event.item, CommandExecutionItem
                    ):
                        seen.append(event.item.aggregated_output)
                        if len(seen) == 2:
                            # codex is mid-turn (the last model call is held): snapshots live now.
                            await mock_model.server.wait_for_held(1)
                            during = readable_by_others_holding(secret, roots, since)
                            mock_model.server.release()
    after = readable_by_others_holding(secret, roots, since)
    assert [s.strip() for s in seen] == ["hi", "again"]
    assert during == [] and after == []
    assert not (mock_model.home.path / "shell_snapshots").exists()
