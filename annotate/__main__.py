"""``python -m annotate`` runs the command line."""

from .cli import run

if __name__ == "__main__":  # not when a worker process (spawn) imports this module
    run()
