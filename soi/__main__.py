"""``python -m soi`` runs the ``soi`` command line (see :mod:`soi.cli`)."""

import sys

from soi.cli import main

if __name__ == "__main__":
    sys.exit(main())
