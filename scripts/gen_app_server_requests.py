"""Generate ``src/codex_trio/_transport/app_server/_requests_generated.py``: one typed method per
client request of the pinned app-server schema.

The methods are a table (``CLIENT_REQUESTS`` of the generated protocol module: method, params
class, response class), so they are written, not hand-kept. Each takes its params class's fields
as keyword arguments (the field names and types of the generated class), builds the params object
and returns the decoded response class::

    async def thread_read(self, *, thread_id: str, include_turns: bool | None = None) -> ...

Methods whose client-side behaviour is more than a call (thread/start registers tools and
handlers, turn/start follows the turn, ...) stay hand-written in ``_client.py`` and are left out
here (:data:`HAND_WRITTEN`). A params type that is a union (a tagged choice of objects) is taken
whole as ``params``. The drift test (tests/transport/test_app_server_requests_generated.py)
regenerates the module and compares it byte for byte.

Run: ``.venv/bin/python scripts/gen_app_server_requests.py`` (after regenerating the protocol).
"""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "src" / "codex_trio" / "_transport" / "app_server" / "_requests_generated.py"

HAND_WRITTEN = frozenset(
    {
        "initialize",  # the handshake, done by open_app_server
        "thread/start",  # registers tools and the approval handler
        "thread/resume",  # likewise, and waits for a thread being unloaded
        "thread/fork",  # copies the parent's tools and handler
        "thread/archive",  # forgets the thread's record
        "thread/unsubscribe",  # part of forgetting a thread
        "turn/start",  # client.turn() follows the turn it starts
        "turn/steer",
        "turn/interrupt",
        "account/login/start",  # registers the API key as a secret first
    }
)

_NOT_PREFIXED = frozenset({"Any", "Mapping", "Sequence", "Literal", "None"})


def method_name(method: str) -> str:
    """``account/rateLimits/read`` -> ``account_rate_limits_read``."""
    parts = re.split(r"[/.]", method)
    snake = "_".join(re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", p).lower() for p in parts)
    return re.sub(r"[^a-z0-9_]", "_", snake)


def qualify(annotation: str, names: set[str]) -> str:
    """Prefix the generated module's names in ``annotation`` with ``g.`` (outside quotes)."""
    pieces = re.split(r"(\"[^\"]*\"|'[^']*')", annotation)
    out = []
    for i, piece in enumerate(pieces):
        if i % 2:
            out.append(piece)
            continue
        out.append(
            re.sub(
                r"\b([A-Za-z_]\w*)\b",
                lambda m: (
                    "g." + m.group(1)
                    if m.group(1) in names and m.group(1) not in _NOT_PREFIXED
                    else m.group(1)
                ),
                piece,
            )
        )
    return "".join(out)


def stable_methods() -> frozenset[str]:
    """The client requests of the pinned binary's schema *without* ``--experimental``."""
    import codex_cli_bin

    codex = str(codex_cli_bin.bundled_codex_path())
    with tempfile.TemporaryDirectory(prefix="codex-schema-stable-") as out:
        subprocess.run(
            [codex, "app-server", "generate-json-schema", "--out", out],
            check=True,
            capture_output=True,
        )
        client = json.loads((Path(out) / "ClientRequest.json").read_text())
    methods: set[str] = set()
    for variant in client.get("oneOf", []):
        method = variant["properties"]["method"]
        methods.update(method.get("enum") or [method["const"]])
    return frozenset(methods)


def render() -> str:
    sys.path.append(str(ROOT / "src"))  # after site-packages: never shadow the installed metadata
    from codex_trio._protocol.app_server import _generated as g

    stable = stable_methods()

    names = {n for n, v in vars(g).items() if not n.startswith("_") and n[:1].isupper()}
    lines = [
        '"""Typed methods for the client requests of ``codex app-server`` (pinned schema).',
        "",
        "Written by scripts/gen_app_server_requests.py from the generated protocol's",
        "``CLIENT_REQUESTS``; do not edit. A drift test regenerates it.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from collections.abc import Mapping, Sequence",
        "from typing import Any, Literal, TypeVar",
        "",
        "from codex_trio._errors import ConfigurationError",
        "from codex_trio._protocol.app_server import _generated as g",
        "",
        '_T = TypeVar("_T")',
        "",
        "STABLE_METHODS: frozenset[str] = frozenset({",
        *(f"    {m!r}," for m in sorted(stable)),
        "})",
        '"""Client requests of the stable API; the others need ``experimental_api`` (initialize)."""',
        "",
        "",
        "class GeneratedRequests:",
        '    """One typed method per client request (see the module docstring)."""',
        "",
        "    experimental_api: bool = True",
        '    """Whether the connection was initialized with the experimental API (then every method',
        '    is available; without it, an experimental one raises ConfigurationError unsent)."""',
        "",
        "    async def _typed(",
        "        self, method: str, params: Any, response: type[_T], *, time_limit: float | None = None",
        "    ) -> _T:  # pragma: no cover - provided by AppServerClient",
        "        raise NotImplementedError",
        "",
        "    def _experimental(self, method: str) -> None:",
        "        if not self.experimental_api:",
        "            raise ConfigurationError(",
        '                f"{method} is part of the experimental app-server API: open the client with "',
        '                "experimental_api=True (the default)"',
        "            )",
    ]
    for method, (params_cls, response_cls) in g.CLIENT_REQUESTS.items():
        if method in HAND_WRITTEN:
            continue
        name = method_name(method)
        returns = f"g.{response_cls.__name__}" if response_cls is not None else "Any"
        response_arg = f"g.{response_cls.__name__}" if response_cls is not None else "dict"
        if params_cls is None:
            signature, params_expr = "self", "None"
        elif isinstance(params_cls, type):
            fields = [
                p
                for p in inspect.signature(params_cls.__init__).parameters.values()
                if p.name not in ("self", "extra")
            ]
            args = []
            for p in sorted(fields, key=lambda p: p.default is not inspect.Parameter.empty):
                annotation = qualify(str(p.annotation), names)
                default = "" if p.default is inspect.Parameter.empty else f" = {p.default!r}"
                args.append(f"{p.name}: {annotation}{default}")
            signature = "self, *, " + ", ".join(args) if args else "self"
            call = ", ".join(f"{p.name}={p.name}" for p in fields)
            params_expr = f"g.{params_cls.__name__}({call})"
        else:  # a union of objects: taken whole
            signature, params_expr = f"self, params: g.{_alias_name(g, params_cls)}", "params"
        experimental = method not in stable
        lines += [
            "",
            f"    async def {name}({signature}) -> {returns}:",
            f'        """``{method}``{" (experimental API)" if experimental else ""}."""',
        ]
        if experimental:
            lines.append(f"        self._experimental({method!r})")
        lines.append(f"        return await self._typed({method!r}, {params_expr}, {response_arg})")
    lines.append("")
    return "\n".join(lines)


def _alias_name(g: object, value: object) -> str:
    for name, candidate in vars(g).items():
        if candidate is value and not name.startswith("_"):
            return name
    raise LookupError(value)


def main() -> None:
    TARGET.write_text(render())
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
