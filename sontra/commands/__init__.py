"""One module per `sontra` subcommand; each has `register(subparsers)` and sets `run`."""
