"""Source parsers, one module per source family; importing this package registers them in ROUTES."""
