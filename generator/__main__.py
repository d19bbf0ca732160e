"""`python -m generator` is the same as the `fixdex` command."""

from .cli import main

raise SystemExit(main())
