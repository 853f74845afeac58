"""The playground's web application: one page, its static files and one websocket per page.

An ASGI application built on Starlette (the optional extra ``deltaprop[web]``; imported when an
application is made, so that this module imports without it). Safety:

- every request and websocket must carry the server's random token (``?token=...``), compared
  in constant time; without it: HTTP 403, and the websocket is refused before it opens;
- a websocket whose Origin is not the server itself is refused (a page elsewhere cannot drive
  it even if it learned the token);
- no endpoint takes a path: the page and ``static/`` are the only files served, and exports
  travel over the websocket from a private temporary folder;
- a message over ``Limits.max_message_bytes`` closes its connection (code 1009), more than
  ``max_messages_per_second`` closes it (1008), malformed ones get an error message back;
  at most ``max_connections`` pages at once (1013 beyond), at most ``max_updates_per_second``
  frames each, and at most two frames unacknowledged by the page (a slow page slows training
  instead of queueing frames).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from collections import deque
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .config import Limits
from .session import Playground, dumps

__all__ = ["PlaygroundApp", "TokenGate", "STATIC"]

STATIC = resources.files("deltaprop.web") / "static"
_WINDOW = 2  # frames the page may have in hand before the server waits for an ack
_HEADERS = [
    (b"content-security-policy",
     b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
     b"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]  # fmt: skip


class PlaygroundApp:
    """The ASGI application.

    Parameters
    ----------
    token : str
        Required as the ``token`` query parameter of every request and websocket.
    limits : Limits, optional
    """

    def __init__(self, token: str, limits: Limits | None = None):
        from starlette.applications import Starlette
        from starlette.routing import Mount, Route, WebSocketRoute
        from starlette.staticfiles import StaticFiles

        self.token = token
        self.limits = limits or Limits()
        self.connections = 0
        page = (STATIC / "index.html").read_text(encoding="utf-8")
        self._page = page.replace("__TOKEN__", token)
        routes = [
            Route("/", self._index),
            Mount("/static", StaticFiles(directory=str(STATIC))),
            WebSocketRoute("/ws", self._websocket),
        ]
        self._gate = TokenGate(token, Starlette(routes=routes), "this playground")

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        await self._gate(scope, receive, send)

    async def _index(self, request: Any) -> Any:
        from starlette.responses import HTMLResponse

        return HTMLResponse(self._page)

    async def _websocket(self, ws: Any) -> None:
        if self.connections >= self.limits.max_connections:
            await ws.close(code=1013)  # try again later
            return
        self.connections += 1
        try:
            await _Connection(ws, self.limits).run()
        finally:
            self.connections -= 1


class TokenGate:
    """An ASGI application that passes to `app` only requests that carry `token`.

    HTTP requests without it get 403; websockets without it, or from a page of another
    origin, are refused before they open. Answers get the security headers (``_HEADERS``).
    """

    def __init__(self, token: str, app: Any, what: str = "this page"):
        self.token, self.app, self.what = token, app, what

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind in ("http", "websocket") and not self.authorised(scope):
            if kind == "websocket":
                await send({"type": "websocket.close", "code": 1008})  # before accept: a 403
                return
            from starlette.responses import PlainTextResponse

            text = f"403: {self.what} needs the token of the URL it printed"
            await PlainTextResponse(text, status_code=403)(scope, receive, send)
            return
        if kind == "http":
            send = _with_headers(send)
        await self.app(scope, receive, send)

    def authorised(self, scope: dict) -> bool:
        """Whether the request carries the token (and a websocket comes from this origin)."""
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = query.get("token", [""])[0]
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return False
        if scope["type"] == "websocket":
            headers = dict(scope.get("headers", []))
            origin, host = headers.get(b"origin"), headers.get(b"host")
            if origin is not None and urlsplit(origin.decode("latin-1")).netloc.encode() != host:
                return False
        return True


def _with_headers(send: Any) -> Any:
    async def sending(message: dict) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *_HEADERS]}
        await send(message)

    return sending


class _Connection:
    """One page's websocket: a reader of its messages and a producer of its frames."""

    def __init__(self, ws: Any, limits: Limits):
        self.ws, self.limits = ws, limits
        self.queue: deque = deque()
        self.wake = asyncio.Event()
        self.open = True
        self.unacked = 0
        self.dirty = True
        self.tokens, self.refilled = limits.max_messages_per_second, time.monotonic()

    async def run(self) -> None:
        await self.ws.accept()
        session = await asyncio.to_thread(Playground, self.limits)
        await self._send([session.hello(), session.points()])
        reader = asyncio.create_task(self._read())
        try:
            await self._produce(session)
        finally:
            reader.cancel()

    async def _send(self, messages: list) -> None:
        for m in messages:
            await self.ws.send_text(m if isinstance(m, str) else dumps(m))

    async def _read(self) -> None:
        try:
            while self.open:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if not await self._accept(message):
                    break
        finally:
            self.open = False
            self.wake.set()

    async def _accept(self, message: dict) -> bool:
        """Queue one message; False when the connection must close (too big, too many)."""
        text = message.get("text")
        if text is None:
            self.queue.append({"type": "binary"})  # answered as an unknown message type
        elif len(text) > self.limits.max_message_bytes:
            await self.ws.close(code=1009, reason="message too big")
            return False
        elif not self._within_rate():
            await self.ws.close(code=1008, reason="too many messages")
            return False
        else:
            try:
                obj = json.loads(text)
            except (ValueError, RecursionError):
                obj = {"type": "malformed"}
            if isinstance(obj, dict) and obj.get("type") == "ack":
                self.unacked = max(0, self.unacked - 1)
            else:
                self.queue.append(obj)
        self.wake.set()
        return True

    def _within_rate(self) -> bool:
        """A token bucket: max_messages_per_second, with a burst of as many."""
        now, rate = time.monotonic(), self.limits.max_messages_per_second
        self.tokens = min(rate, self.tokens + (now - self.refilled) * rate)
        self.refilled = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    async def _produce(self, session: Playground) -> None:
        loop = asyncio.get_running_loop()
        interval = 1.0 / self.limits.max_updates_per_second
        while self.open:
            commands = list(self.queue)
            self.queue.clear()
            may_frame = self.unacked < _WINDOW
            if not commands and not ((session.playing or self.dirty) and may_frame):
                self.wake.clear()
                await self.wake.wait()
                continue
            started = loop.time()
            replies, framed = await asyncio.to_thread(_tick, session, commands, may_frame)
            if not self.open:
                break
            await self._send(replies)
            self.unacked += framed
            self.dirty = (self.dirty or bool(commands)) and not framed
            await asyncio.sleep(max(0.0, interval - (loop.time() - started)))


def _tick(session: Playground, commands: list, may_frame: bool) -> tuple[list, bool]:
    """Apply the page's messages, train one epoch while playing, and draw a frame."""
    replies = [dumps(r) for c in commands for r in session.handle(c)]
    if not may_frame:
        return replies, False
    replies += [dumps(r) for r in session.advance()]
    replies.append(dumps(session.frame()))
    return replies, True
