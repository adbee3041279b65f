"""The ``codex-trio`` command: ``doctor`` checks the installation, ``demo`` runs offline."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import trio

from codex_trio._errors import CodexError

__all__ = ["main"]

_DESCRIPTION = (
    "codex-trio: a Python SDK and supervised trio runtime for the codex agent engine. "
    "'doctor' checks the installation; 'demo' runs the offline demo; 'worker' takes turns "
    "from a Redis queue (codex_trio.cluster); 'cluster-demo' shows a turn surviving a killed "
    "worker."
)


async def _offline_turn(codex_path: str, directory: Path) -> str:
    """Run one trivial turn on the real binary against the built-in mock model."""
    from codex_trio._api import Codex
    from codex_trio.testing import MockResponsesServer, message, write_codex_home

    async with MockResponsesServer([message("pong")]) as server:
        home = write_codex_home(directory / "codex-home", base_url=server.base_url)
        codex = Codex(codex_path=codex_path, env=home.environ())
        thread = codex.start_thread(working_directory=str(directory), skip_git_repo_check=True)
        result = await thread.run("ping", timeout=60)
        return result.final_response or ""


async def _doctor(explicit: str | None) -> int:
    from codex_trio._transport.discovery import check_version, find_codex

    try:
        path = find_codex(explicit)
        print(f"codex binary : {path}")
        version = await check_version(path)
        print(f"version      : {version} (supported)")
    except CodexError as exc:
        print(f"problem      : {exc}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="codex-trio-doctor-") as tmp:
        try:
            with trio.fail_after(90):
                answer = await _offline_turn(path, Path(tmp))
        except (CodexError, trio.TooSlowError) as exc:
            print(f"offline turn : FAILED: {exc}", file=sys.stderr)
            return 1
    ok = answer == "pong"
    print(f"offline turn : {'ok' if ok else 'unexpected answer ' + repr(answer)}")
    return 0 if ok else 1


def _add_worker_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worker = sub.add_parser(
        "worker", help="take turns from a Redis queue and run them here (codex_trio.cluster)"
    )
    worker.add_argument("--redis", default=None, help="redis://, rediss:// or unix:// URL")
    worker.add_argument("--prefix", default="codex-trio")
    worker.add_argument("--name", default=None)
    worker.add_argument("--concurrency", type=int, default=4)
    worker.add_argument("--prefetch", type=int, default=None)
    worker.add_argument("--lease-ms", type=int, default=30_000)
    worker.add_argument("--claim-idle-ms", type=int, default=60_000)
    worker.add_argument("--max-deliveries", type=int, default=5)
    worker.add_argument("--block-ms", type=int, default=2000)
    worker.add_argument("--sample-interval", type=float, default=5.0)
    worker.add_argument("--drain-timeout", type=float, default=30.0)
    worker.add_argument("--transport", choices=("exec", "app-server"), default="exec")
    worker.add_argument("--codex-home", default=None, help="a CODEX_HOME of this worker's own")
    worker.add_argument("--metrics-port", type=int, default=None, help="serve /metrics here")


def _worker(args: argparse.Namespace) -> int:
    try:
        from codex_trio.cluster._cli import main as worker_main
    except ImportError as exc:  # coredis is the cluster extra
        print(f"worker: needs codex-trio[cluster] ({exc})", file=sys.stderr)
        return 2
    return worker_main(args)


def _add_cluster_demo_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser(
        "cluster-demo",
        help="a local Redis, two worker processes and a client on the mock model; one worker "
        "is killed mid-turn and the other finishes the turn",
    )
    demo.add_argument(
        "--claim-idle-ms",
        type=int,
        default=2500,
        help="how long the killed worker's turn stays idle before the other reclaims it",
    )


def _cluster_demo(args: argparse.Namespace) -> int:
    try:
        from codex_trio.cluster._demo import run_cluster_demo
    except ImportError as exc:  # coredis is the cluster extra
        print(f"cluster-demo: needs codex-trio[cluster] ({exc})", file=sys.stderr)
        return 2
    return trio.run(run_cluster_demo, args.claim_idle_ms)


def main(argv: Sequence[str] | None = None) -> int:
    from codex_trio import __version__
    from codex_trio._transport.discovery import SUPPORTED_VERSIONS

    low, high = (".".join(map(str, v)) for v in SUPPORTED_VERSIONS)
    parser = argparse.ArgumentParser(prog="codex-trio", description=_DESCRIPTION)
    parser.add_argument(
        "--version",
        action="version",
        version=f"codex-trio {__version__} (codex >= {low}, < {high})",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    doctor = sub.add_parser("doctor", help="show the codex binary, its version, try a turn")
    doctor.add_argument("--codex-path", default=None)
    demo = sub.add_parser("demo", help="run the offline demo (real codex, mock model)")
    demo.add_argument("--serve", action="store_true", help="keep running until SIGINT/SIGTERM")
    demo.add_argument("--threads", type=int, default=4)
    demo.add_argument("--port", type=int, default=0, help="/metrics port (0: any free port)")
    _add_worker_parser(sub)
    _add_cluster_demo_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "worker":
        return _worker(args)
    if args.command == "cluster-demo":
        return _cluster_demo(args)
    if args.command == "doctor":
        return trio.run(_doctor, args.codex_path)
    from codex_trio._demo import run_demo

    return trio.run(run_demo, args.threads, args.serve, args.port)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
