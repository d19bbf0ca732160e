"""`python -m generator` is the same as the `fixdex` command."""

from .cli import run

run()
