"""``python -m sim.cli``: the ``tierlab`` command."""

import sys

from sim.cli import main

sys.exit(main())
