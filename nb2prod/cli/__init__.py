"""The command line: one module per command, over the core. `main` is the entry point."""

from nb2prod.cli.app import app, main

__all__ = ["app", "main"]
