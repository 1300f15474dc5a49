"""The ``ragkit`` command: index, search and evaluate collections from the shell."""

from ragkit.cli.main import main

__all__ = ["main"]
