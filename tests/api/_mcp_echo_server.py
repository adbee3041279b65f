"""A minimal stdio MCP server for tests (newline-delimited JSON-RPC): one tool, ``echo``.

Enough of the protocol for codex's status listing (initialize, tools/list); anything else is
answered "method not found". Run as ``python _mcp_echo_server.py``.
"""

from __future__ import annotations

import json
import sys


def _answer(message_id: object, result: object = None, error: object = None) -> None:
    reply = {"jsonrpc": "2.0", "id": message_id}
    reply.update({"error": error} if error is not None else {"result": result})
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()


def main() -> None:
    for line in sys.stdin:
        message = json.loads(line)
        if "id" not in message:
            continue  # a notification
        method = message.get("method")
        if method == "initialize":
            version = message.get("params", {}).get("protocolVersion", "2025-06-18")
            _answer(
                message["id"],
                {
                    "protocolVersion": version,
                    "capabilities": {"tools": {}},
                    "serverInfo": {"name": "echo-server", "version": "1.2.3"},
                },
            )
        elif method == "tools/list":
            tool = {
                "name": "echo",
                "description": "Echo the text back",
                "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}},
            }
            _answer(message["id"], {"tools": [tool]})
        else:
            _answer(message["id"], error={"code": -32601, "message": f"no method {method}"})


if __name__ == "__main__":
    main()
