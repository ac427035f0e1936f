"""``python -m squatsense`` runs the command line."""

import sys

from squatsense.cli import main

sys.exit(main())
