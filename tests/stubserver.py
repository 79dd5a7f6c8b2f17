"""A local OpenAI-compatible chat server for tests: the handler base and the loopback server.

Tests subclass `ChatStub`, read the request with `self.body()` and answer with
`self.send_choices(texts)` (or `self.send_json(...)`); `serving(handler)` runs it on a free
loopback port for the duration of a `with` block. (tests/ is on sys.path through its conftest.py.)
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ChatStub(BaseHTTPRequestHandler):
    def body(self) -> dict[str, Any]:
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

    def send_json(self, obj: Any, status: int = 200) -> None:
        payload = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def send_choices(self, texts: list[str], finish_reasons: list[str] | None = None, **extra: Any) -> None:
        """A chat-completions response with one choice per text."""
        reasons = finish_reasons or ["stop"] * len(texts)
        self.send_json({"choices": [{"index": i, "message": {"role": "assistant", "content": t},
                                     "finish_reason": r} for i, (t, r) in enumerate(zip(texts, reasons))], **extra})

    def log_message(self, *args):
        pass


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve `handler` on 127.0.0.1 (a free port) in a thread; yields "http://127.0.0.1:PORT"."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
