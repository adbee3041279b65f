from __future__ import annotations

from pathlib import Path

import pytest

from codex_trio.cli import main
from tests.fakes import fake_codex


def test_doctor_finds_the_binary_and_runs_an_offline_turn(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "codex binary" in out and "0.163.0 (supported)" in out
    assert "offline turn : ok" in out


def test_doctor_reports_an_unsupported_binary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "codex"
    path.write_text("#!/bin/sh\necho 'codex-cli 0.1.0'\n")
    path.chmod(0o755)
    assert main(["doctor", "--codex-path", str(path)]) == 1
    assert "not supported" in capsys.readouterr().err


def test_doctor_reports_a_broken_binary_turn(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    codex = fake_codex(tmp_path, "sys.stderr.write('cannot work\\n'); sys.exit(2)")
    assert main(["doctor", "--codex-path", codex]) == 1
    assert "offline turn : FAILED" in capsys.readouterr().err


def test_demo_runs_threads_to_completion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--threads", "2"]) == 0
    out = capsys.readouterr().out
    assert "thread 0: resumed" in out and "thread 1: resumed" in out
    assert 'codex_turns_total{status="completed",transport="exec"} = 4' in out
