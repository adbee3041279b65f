"""docs/app-server-methods.md lists every app-server method of the pinned schema, and what it
claims about the SDK is true: each client method exists, each high-level call exists, and each
method is either wrapped or has a reason."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import codex_trio
import codex_trio.app_server
from codex_trio._protocol.app_server._generated import CLIENT_REQUESTS
from codex_trio._transport.app_server import AppServerClient

ROOT = Path(__file__).resolve().parent.parent


def load_table() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_method_table", ROOT / "scripts" / "gen_method_table.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_document_is_what_the_generator_writes() -> None:
    table = load_table()
    assert (ROOT / "docs" / "app-server-methods.md").read_text() == table.render(), (
        "run scripts/gen_method_table.py"
    )


def test_every_method_is_wrapped_or_says_why_not() -> None:
    table = load_table()
    unclassified = [
        m for m in sorted(CLIENT_REQUESTS) if m not in table.WRAPPED and table.reason(m) is None
    ]
    assert unclassified == []
    assert set(table.WRAPPED) <= set(CLIENT_REQUESTS)
    # A method both wrapped and excused would make the document contradict itself.
    assert [m for m in table.WRAPPED if table.reason(m) is not None] == []


def test_every_client_method_named_in_the_table_exists() -> None:
    table = load_table()
    gen = table._load("gen_app_server_requests", ROOT / "scripts" / "gen_app_server_requests.py")
    for method in CLIENT_REQUESTS:
        name = table.HAND_NAMES.get(method) or gen.method_name(method)
        if method == "initialize":
            assert callable(getattr(codex_trio.app_server, name))
        else:
            assert callable(getattr(AppServerClient, name)), method


def test_every_high_level_call_named_in_the_table_exists() -> None:
    table = load_table()
    for method, call in table.WRAPPED.items():
        for part in call.split(" / "):
            head = part.split(" ")[0].split("(")[0]
            owner, _, attr = head.partition(".")
            cls = getattr(codex_trio, owner)
            if attr:
                assert hasattr(cls, attr), f"{method}: {head} does not exist"
