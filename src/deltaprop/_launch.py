"""Ctrl-C while the ``deltaprop`` command is still loading: one line and exit 130.

Imported first by the package. Only when the process is the command (``python -m deltaprop``
or the ``deltaprop`` script) does it replace ``sys.excepthook``, and then only for an
uncaught KeyboardInterrupt (the command itself catches those once it runs): the interrupt
arrived while numpy and the package were being imported, before anything was done. It also
replaces ``sys.unraisablehook`` for a KeyboardInterrupt that a finalizer would swallow.
"""

from __future__ import annotations

import os
import sys


def _is_command() -> bool:
    argv0 = sys.argv[0] if sys.argv else ""
    # `python -m deltaprop` imports the package while argv[0] is still "-m": only that module
    orig = list(getattr(sys, "orig_argv", []))
    as_module = argv0 == "-m" and "-m" in orig and orig[orig.index("-m") + 1 :][:1] == ["deltaprop"]
    return as_module or os.path.basename(argv0) in ("deltaprop", "deltaprop.exe")


def _hook(previous):
    def hook(kind, value, tb):
        if issubclass(kind, KeyboardInterrupt):
            sys.stderr.write("interrupted\n")
            sys.stderr.flush()
            os._exit(130)
        previous(kind, value, tb)

    return hook


def _unraisable_hook(previous):
    def hook(unraisable):
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            # Ctrl-C landed while a finalizer ran (a __del__, a weakref callback), where
            # Python prints the exception and goes on: deliver it again to the main flow, so
            # that the command stops as for any Ctrl-C instead of running on.
            import _thread

            _thread.interrupt_main()
            return
        previous(unraisable)

    return hook


if _is_command():
    sys.excepthook = _hook(sys.excepthook)
    sys.unraisablehook = _unraisable_hook(sys.unraisablehook)
