"""The playground: a page in the browser that trains a small network with deltaprop's engine
and shows the backward pass (z, a, δ at each neuron, ∂C/∂w on each edge, BP1–BP4 step by step).

``deltaprop playground`` serves it (``serve``). ``deltaprop train --dashboard`` serves a
read-only page that follows a command-line run (``follow``; its data in ``dashboard``: a
thread-safe ``RunStore`` fed by ``DashboardCallback``). The training state (``session.Playground``)
and what the page draws (``views``) need numpy only; the web application (``app``) needs the
optional extra ``deltaprop[web]`` (Starlette and uvicorn), imported when it is started.
"""

from __future__ import annotations

from .config import Limits, PlaygroundConfig
from .session import Playground

__all__ = ["Limits", "Playground", "PlaygroundConfig"]
