"""Serving the playground and the dashboard: bind a socket, print the URL with its token, run
uvicorn (the playground in the command's thread; the dashboard in a background thread while
the command trains in its own, see ``follow``).

The socket is bound before the URL is printed (port 0 asks the system for a free one), so the
URL printed is the one that answers. uvicorn stops cleanly on Ctrl-C (it closes the
websockets and waits at most two seconds for them) and then re-raises the interrupt, which the
command turns into its usual exit code 130.
"""

from __future__ import annotations

import contextlib
import ipaddress
import secrets
import socket
import threading
import time
import webbrowser
from collections.abc import Callable, Iterator

from .config import Limits

__all__ = ["serve", "follow", "bind", "is_loopback"]


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


@contextlib.contextmanager
def follow(
    title: str = "",
    *,
    keep: float = 0.0,
    echo: Callable[[str], None] = print,
    port: int = 0,
    limits: Limits | None = None,
) -> Iterator:
    """Serve a live dashboard of the run trained inside the ``with`` block.

    Yields the ``DashboardCallback`` to pass to ``fit`` (with ``diagnostics=True``, or the
    page has no gradient norms or saturation to draw). `echo` gets ``"dashboard: URL"``
    (the URL with its token) before the block runs; the server listens on 127.0.0.1 only, in
    a daemon thread, so the training keeps the command's main thread (and Ctrl-C).

    When the block ends, open pages are sent the final state (waiting at most 2 s for them),
    and, if the block ended normally, the server keeps serving `keep` seconds more (echoing
    when it stops; Ctrl-C stops it sooner and is not an error: the run is complete). Then the
    server stops; an open page keeps showing the final state.

    Parameters
    ----------
    title : str
        What is trained, on what, how (shown on the page).
    keep : float
        Seconds to keep serving after the run ends.
    """
    import uvicorn

    from .dashboard import DashboardCallback, RunStore
    from .dashboard_app import DashboardApp

    limits = limits or Limits()
    store = RunStore(title)
    token = secrets.token_urlsafe(24)
    sock, base = bind("127.0.0.1", port)
    url = f"{base}/?token={token}"
    echo(f"dashboard: {url}")
    app = DashboardApp(token, store, limits)
    config = uvicorn.Config(
        app, log_level="warning", lifespan="off", ws_max_size=limits.max_message_bytes,
        timeout_graceful_shutdown=1,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="deltaprop-dashboard", daemon=True
    )
    thread.start()
    callback = DashboardCallback(store)
    try:
        yield callback
        _end(store, callback)
        _deliver(app)
        if keep > 0:
            _linger(keep, echo)
    finally:
        _end(store, callback)
        _deliver(app)
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


def _end(store, callback) -> None:
    """Mark the run ended if the fit did not (an interrupt, a divergence, an error)."""
    from .dashboard import records_from_history

    run = callback.run
    history = getattr(run, "history", None)
    if history is not None and getattr(history, "epoch", None):
        store.catch_up(records_from_history(history))
    reason = getattr(history, "stop_reason", None)
    store.end("interrupted" if reason == "interrupted" else "stopped", reason or "stopped")


def _deliver(app, timeout: float = 2.0) -> None:
    """Wait (at most `timeout` s) until every open page has been sent the final state."""
    deadline = time.monotonic() + timeout
    while not app.up_to_date() and time.monotonic() < deadline:
        time.sleep(0.02)


def _linger(keep: float, echo: Callable[[str], None]) -> None:
    """Keep serving the finished run `keep` seconds; Ctrl-C ends the wait."""
    echo(f"dashboard: the run has ended; serving its final state for {keep:g} s (Ctrl-C stops)")
    try:
        time.sleep(keep)
    except KeyboardInterrupt:
        pass
