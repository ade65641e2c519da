"""`python -m autograde`: the same as the `autograde` command."""

import sys

from .cli import main

sys.exit(main())
