"""What ``import codex_trio`` loads: not the app-server protocol (most of a second), which only
the app-server transport needs."""

from __future__ import annotations

import subprocess
import sys

import codex_trio._protocol.app_server as app_server_protocol

GENERATED = "codex_trio._protocol.app_server._generated"


def loaded_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"import sys\n{code}\nprint('\\n'.join(sys.modules))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return set(out.split())


def test_import_codex_trio_does_not_load_the_generated_app_server_module() -> None:
    modules = loaded_after("import codex_trio")
    assert "codex_trio" in modules
    assert GENERATED not in modules
    assert "codex_trio._transport.app_server" not in modules


def test_import_codex_trio_does_not_load_prometheus_or_the_http_server() -> None:
    modules = loaded_after("import codex_trio")
    assert not {"prometheus_client", "h11", "codex_trio._http"} & modules
    assert "prometheus_client" in loaded_after("from codex_trio.observe import Metrics")


def test_import_codex_trio_does_not_load_the_supervised_runtime_until_asked() -> None:
    assert "codex_trio.runtime" not in loaded_after("import codex_trio\ncodex_trio.Codex()")
    assert "codex_trio.runtime" in loaded_after("import codex_trio\ncodex_trio.Runtime")


def test_public_objects_name_the_public_namespace() -> None:
    code = (
        "import codex_trio\n"
        "print(codex_trio.Codex.__module__, codex_trio.Runtime.__module__, "
        "codex_trio.TurnFailedError.__module__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert out.split() == ["codex_trio", "codex_trio", "codex_trio"]


def test_an_exec_codex_and_runtime_do_not_load_it_either() -> None:
    modules = loaded_after(
        "import codex_trio\n"
        "codex_trio.Codex().start_thread()\n"
        "codex_trio.Runtime()\n"
        "from codex_trio._api.tools import tool\n"
        "from codex_trio._api.approvals import allow_command_prefixes\n"
    )
    assert GENERATED not in modules


def test_the_app_server_transport_loads_it() -> None:
    assert GENERATED in loaded_after("import codex_trio\ncodex_trio.Codex(transport='app-server')")


def test_every_lazy_name_of_the_protocol_package_resolves() -> None:
    for name in app_server_protocol.__all__:
        assert getattr(app_server_protocol, name) is not None, name
    assert set(app_server_protocol.__all__) == set(app_server_protocol._LAZY)
