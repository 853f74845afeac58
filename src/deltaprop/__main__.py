"""``python -m deltaprop`` runs the ``deltaprop`` command."""

from .cli import entry

entry()
