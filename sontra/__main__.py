"""`python -m sontra` runs the CLI."""

import sys

from sontra.cli import main

sys.exit(main())
