"""The typed client-request methods are generated from the protocol's CLIENT_REQUESTS table."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

import pytest
import trio

from codex_trio._errors import ConfigurationError
from codex_trio._protocol.app_server import _generated as g
from codex_trio._protocol.options import CodexOptions
from codex_trio._transport.app_server import AppServerClient, open_app_server
from codex_trio._transport.app_server._requests_generated import GeneratedRequests
from codex_trio.testing import MockModel

ROOT = Path(__file__).resolve().parents[2]


def load_generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "gen_app_server_requests", ROOT / "scripts" / "gen_app_server_requests.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_regenerating_the_request_methods_changes_nothing() -> None:
    generator = load_generator()
    current = (ROOT / "src/codex_trio/_transport/app_server/_requests_generated.py").read_text()
    assert generator.render() == current, "run scripts/gen_app_server_requests.py"


def test_every_client_request_has_a_method_on_the_client() -> None:
    generator = load_generator()
    hand = {
        "thread/start": "thread_start",
        "thread/resume": "thread_resume",
        "thread/fork": "thread_fork",
        "thread/archive": "thread_archive",
        "thread/unsubscribe": "thread_unsubscribe",
        "turn/start": "turn_start",
        "turn/steer": "turn_steer",
        "turn/interrupt": "turn_interrupt",
        "account/login/start": "login_api_key",
    }
    for method in g.CLIENT_REQUESTS:
        if method == "initialize":
            continue  # open_app_server's handshake
        name = hand.get(method) or generator.method_name(method)
        assert inspect.iscoroutinefunction(getattr(AppServerClient, name)), method
    generated = [n for n, v in vars(GeneratedRequests).items() if inspect.iscoroutinefunction(v)]
    assert len(generated) == len(g.CLIENT_REQUESTS) - len(generator.HAND_WRITTEN) + 1  # + _typed


def test_a_generated_method_sends_its_params_typed_and_decodes_the_response() -> None:
    source = inspect.getsource(GeneratedRequests.thread_read)
    assert "g.ThreadReadParams(include_turns=include_turns, thread_id=thread_id)" in source
    signature = inspect.signature(GeneratedRequests.thread_read)
    assert list(signature.parameters) == ["self", "thread_id", "include_turns"]
    assert signature.parameters["thread_id"].kind is inspect.Parameter.KEYWORD_ONLY


def test_the_stable_api_is_the_pinned_binarys_105_methods() -> None:
    from codex_trio._transport.app_server._requests_generated import STABLE_METHODS

    assert len(STABLE_METHODS) == 105 and STABLE_METHODS < set(g.CLIENT_REQUESTS)
    assert "thread/start" in STABLE_METHODS and "collaborationMode/list" not in STABLE_METHODS


async def test_experimental_methods_need_the_experimental_api_and_reach_it_with_it(
    mock_model: MockModel,
) -> None:
    options = CodexOptions(codex_path=mock_model.codex, env=mock_model.env)
    with trio.fail_after(60):
        async with open_app_server(options, experimental_api=False) as client:
            sent_before = client.connection._next_id  # request ids are numbered as sent
            with pytest.raises(ConfigurationError, match="experimental app-server API"):
                await client.collaboration_mode_list()
            assert client.connection._next_id == sent_before  # refused unsent
            models = await client.model_list()  # a stable one goes through
        async with open_app_server(options) as client:
            modes = await client.collaboration_mode_list()
    assert isinstance(models, g.ModelListResponse)
    assert isinstance(modes, g.CollaborationModeListResponse)
