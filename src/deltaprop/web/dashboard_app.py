"""The dashboard's web application: one read-only page that follows a training run.

The same safety rules as the playground (``app.TokenGate``): the token on every request and
websocket, websockets only from the page's own origin, the security headers, no endpoint that
takes a path. It is read-only: the page sends nothing, and a websocket message of any kind
closes its connection (code 1008; one over ``Limits.max_message_bytes`` is refused by the
server's protocol layer, 1009). Each page gets the run's records as they come, at most
``max_updates_per_second`` messages a second (each carries every epoch since the last one).
"""

from __future__ import annotations

import asyncio
from typing import Any

from .app import STATIC, TokenGate
from .config import Limits
from .dashboard import Cursor, RunStore
from .session import dumps

__all__ = ["DashboardApp"]

_UPDATES_PER_SECOND = 10.0


class DashboardApp:
    """The ASGI application of the dashboard.

    Parameters
    ----------
    token : str
        Required as the ``token`` query parameter of every request and websocket.
    store : RunStore
        The run it shows, fed by ``DashboardCallback``.
    limits : Limits, optional
        ``max_connections`` pages at once.
    """

    def __init__(self, token: str, store: RunStore, limits: Limits | None = None):
        from starlette.applications import Starlette
        from starlette.routing import Mount, Route, WebSocketRoute
        from starlette.staticfiles import StaticFiles

        self.store = store
        self.limits = limits or Limits()
        self.cursors: dict[int, Cursor] = {}
        page = (STATIC / "dashboard.html").read_text(encoding="utf-8")
        self._page = page.replace("__TOKEN__", token)
        routes = [
            Route("/", self._index),
            Mount("/static", StaticFiles(directory=str(STATIC))),
            WebSocketRoute("/ws", self._websocket),
        ]
        self._gate = TokenGate(token, Starlette(routes=routes), "this dashboard")

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        await self._gate(scope, receive, send)

    def up_to_date(self) -> bool:
        """Whether every open page has been sent all the store holds."""
        version = self.store.version
        return all((c.records, c.run, c.weights) == version for c in list(self.cursors.values()))

    async def _index(self, request: Any) -> Any:
        from starlette.responses import HTMLResponse

        return HTMLResponse(self._page)

    async def _websocket(self, ws: Any) -> None:
        from starlette.websockets import WebSocketDisconnect

        if len(self.cursors) >= self.limits.max_connections:
            await ws.close(code=1013)  # try again later
            return
        await ws.accept()
        cursor = Cursor()
        self.cursors[id(cursor)] = cursor
        refuse = asyncio.create_task(_refuse_messages(ws))
        try:
            while not refuse.done():
                message = self.store.update(cursor)
                if message is not None:
                    await ws.send_text(dumps(message))
                await asyncio.wait({refuse}, timeout=1.0 / _UPDATES_PER_SECOND)
        except WebSocketDisconnect:  # the page went away while a message was on its way
            pass
        finally:
            del self.cursors[id(cursor)]
            refuse.cancel()


async def _refuse_messages(ws: Any) -> None:
    """Wait for the page to leave; a message from it (none is expected) closes it (1008)."""
    message = await ws.receive()
    if message["type"] != "websocket.disconnect":
        await ws.close(code=1008, reason="the dashboard is read-only")
