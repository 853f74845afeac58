"""Serving the playground: bind a socket, print the URL with its token, run uvicorn.

The socket is bound before the URL is printed (port 0 asks the system for a free one), so the
URL printed is the one that answers. uvicorn stops cleanly on Ctrl-C (it closes the
websockets and waits at most two seconds for them) and then re-raises the interrupt, which the
command turns into its usual exit code 130.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
import threading
import webbrowser
from collections.abc import Callable

from .config import Limits

__all__ = ["serve", "bind", "is_loopback"]


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine only (127.0.0.0/8, ::1 or "localhost")."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> tuple[socket.socket, str]:
    """A listening TCP socket on (host, port) and the URL base that reaches it."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(64)
    except OSError:
        sock.close()
        raise
    actual = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return sock, f"http://{shown}:{actual}"


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    open_browser: bool = True,
    echo: Callable[[str], None] = print,
    limits: Limits | None = None,
) -> None:
    """Serve the playground until interrupted; `echo` gets the URL (with its token) first.

    Parameters
    ----------
    host : str
        The address to listen on; 127.0.0.1 keeps the playground to this machine.
    port : int
        0 for a free port.
    open_browser : bool
        Open the URL in the default browser once the server listens.
    """
    import uvicorn

    from .app import PlaygroundApp

    limits = limits or Limits()
    token = secrets.token_urlsafe(24)
    sock, base = bind(host, port)
    url = f"{base}/?token={token}"
    echo(url)
    config = uvicorn.Config(
        PlaygroundApp(token, limits), log_level="warning", lifespan="off",
        ws_max_size=limits.max_message_bytes, timeout_graceful_shutdown=2,
    )  # fmt: skip
    server = uvicorn.Server(config)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, [url]).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
