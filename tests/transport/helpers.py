"""Shared by the transport tests that drive the real ``codex app-server`` on the mock model."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from codex_trio._protocol.options import CodexOptions, ThreadOptions
from codex_trio._transport.app_server import AppServerClient, open_app_server
from codex_trio.testing import MockModel


@asynccontextmanager
async def app_server(mock_model: MockModel, **kwargs: object) -> AsyncIterator[AppServerClient]:
    """A real app-server pointed at ``mock_model``; ``kwargs`` go to ``open_app_server``."""
    options = CodexOptions(codex_path=mock_model.codex, env=mock_model.env)
    async with open_app_server(options, **kwargs) as client:  # type: ignore[arg-type]
        yield client


def thread_options(mock_model: MockModel) -> ThreadOptions:
    return ThreadOptions(working_directory=str(mock_model.workdir), skip_git_repo_check=True)
