"""``python -m annotate`` runs the command line."""

from .cli import run

run()
