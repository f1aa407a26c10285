"""``python -m coordbias`` runs the command line."""

import sys

from coordbias.cli.main import main

sys.exit(main())
