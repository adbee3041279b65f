"""What a user installs: the license in the distribution, the top-level exports, the demo
script's messages while it installs."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import codex_trio

ROOT = Path(__file__).resolve().parent.parent


def test_license_file_is_the_apache_2_license_and_ships_in_the_distribution() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
    # The installed distribution (scripts/test installs it from this checkout first) carries it.
    dist = importlib.metadata.distribution("codex-trio")
    assert "LICENSE" in dist.metadata.get_all("License-File", [])
    files = {str(f) for f in dist.files or []}
    [license_path] = [f for f in files if f.endswith(".dist-info/licenses/LICENSE")]
    assert (Path(str(dist.locate_file(license_path)))).read_text() == text


def test_every_error_a_turn_can_raise_is_exported_at_the_top() -> None:
    from codex_trio._errors import SlowConsumerError
    from codex_trio.runtime import TurnCancelledError

    assert codex_trio.TurnCancelledError is TurnCancelledError
    assert codex_trio.SlowConsumerError is SlowConsumerError
    assert {"TurnCancelledError", "SlowConsumerError"} <= set(codex_trio.__all__)


def test_demo_script_says_what_it_does_before_the_slow_install(tmp_path: Path) -> None:
    # A copy of the script in a tree whose .venv holds stubs that log their argv: no network,
    # no change to the real virtualenv.
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "demo", tmp_path / "scripts" / "demo")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    log = tmp_path / "calls.log"
    for name in ("python", "codex-trio"):
        stub = bin_dir / name
        stub.write_text(f'#!/bin/sh\necho "[{name} $*]" >&2\necho "{name} $*" >> {log}\n')
        stub.chmod(0o755)
    done = subprocess.run(
        ["bash", str(tmp_path / "scripts" / "demo"), "--threads", "2"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHON": "false"},
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    install = lines.index("[python -m pip install -q -e .]")
    said = lines[: lines.index("[python -m pip install -q --upgrade pip]")]
    assert any("installing codex-trio" in line for line in said)
    assert any("30 s" in line for line in said)
    run = lines.index("[codex-trio demo --threads 2]")
    assert any("running the offline demo" in line for line in lines[install:run])
    assert log.read_text().splitlines()[-1] == "codex-trio demo --threads 2"
