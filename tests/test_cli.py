from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import codex_trio
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


def test_demo_kills_one_codex_and_every_thread_completes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo", "--threads", "2"]) == 0
    out = capsys.readouterr().out
    assert "thread-0: killing its codex process" in out
    assert "thread-0: recovered after 1 restart(s)" in out
    assert "thread-0: follow-up resumed" in out and "thread-1: follow-up resumed" in out
    assert 'codex_turns_total{status="completed",transport="exec"} = 4' in out
    assert "codex_supervisor_restarts_total = 1" in out
    assert out.rstrip().endswith("demo finished")


async def test_demo_serve_answers_a_scrape_and_exits_0_on_sigterm() -> None:
    import os
    import re
    import signal
    import subprocess
    import sys

    import trio
    from prometheus_client.parser import text_string_to_metric_families

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    argv = [sys.executable, "-m", "codex_trio.cli", "demo", "--serve", "--threads", "2"]
    proc = await trio.lowlevel.open_process(argv, stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    seen = b""
    try:
        with trio.fail_after(120):
            while b"serving;" not in seen:
                chunk = await proc.stdout.receive_some(4096)
                assert chunk, seen.decode()
                seen += chunk
        match = re.search(rb"metrics at http://([\d.]+):(\d+)/metrics", seen)
        assert match, seen.decode()
        stream = await trio.open_tcp_stream(match[1].decode(), int(match[2]))
        async with stream:
            await stream.send_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            body = b""
            while data := await stream.receive_some(65536):
                body += data
        text = body.partition(b"\r\n\r\n")[2].decode()
        names = {f.name for f in text_string_to_metric_families(text)}
        assert "codex_turns" in names and "codex_supervisor_restarts" in names
        proc.send_signal(signal.SIGTERM)
        with trio.fail_after(60):
            while chunk := await proc.stdout.receive_some(4096):
                seen += chunk
            code = await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await proc.stdout.aclose()
    assert code == 0, seen.decode()
    assert b"received SIGTERM: draining" in seen and b"demo finished" in seen


def test_help_is_plain_text_without_rest_markup(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "doctor" in out and "demo" in out and "--version" in out
    assert "``" not in out and ":func:" not in out and ":class:" not in out


def test_version_prints_the_package_and_supported_codex_versions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"codex-trio {codex_trio.__version__} ")
    assert "0.163.0" in out


def test_version_of_the_installed_command() -> None:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "codex-trio"), "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("codex-trio ")
