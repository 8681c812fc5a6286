"""``python -m couchsync`` → the CLI."""

from .cli.main import main

main()
