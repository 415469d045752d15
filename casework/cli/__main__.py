"""``python -m casework.cli``: the ``triage`` command."""

import sys

from casework.cli.main import main

sys.exit(main())
