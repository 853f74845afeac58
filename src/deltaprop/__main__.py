"""``python -m deltaprop`` runs the ``deltaprop`` command."""

import sys

try:
    from .cli import entry
except KeyboardInterrupt:  # Ctrl-C while the command loads: one line, no traceback
    sys.stderr.write("interrupted\n")
    sys.exit(130)

entry()
