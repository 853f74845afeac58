"""Methods implemented by the modules above: handed down when they are imported.

``Network.fit`` is written in deltaprop.training, ``Network.save`` in deltaprop.io,
``History.plot`` in deltaprop.plots, the notebook displays in deltaprop._notebook: those modules
import network.py and history.py, so these cannot import them back. Each of them keeps a
``Provided`` table instead, which the modules above fill (``provide(name, function)``) when
``import deltaprop`` imports them. Standard library only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Provided"]


class Provided:
    """The implementations of ``<owner>.<name>`` handed down so far."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.functions: dict[str, Callable[..., Any]] = {}

    def provide(self, name: str, function: Callable[..., Any]) -> None:
        """Make `function` the implementation of ``<owner>.<name>``."""
        self.functions[name] = function

    def get(self, name: str) -> Callable[..., Any] | None:
        """The implementation, or None (a display falls back to the plain repr)."""
        return self.functions.get(name)

    def __call__(self, name: str) -> Callable[..., Any]:
        """The implementation; a RuntimeError when the package was not imported whole."""
        try:
            return self.functions[name]
        except KeyError:
            raise RuntimeError(
                f"{self.owner}.{name} is provided by the deltaprop package; import deltaprop first"
            ) from None
