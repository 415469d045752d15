"""``python -m casework.cli``: the ``triage`` command."""

import sys

from casework.cli.main import main

if __name__ == "__main__":  # not when a documentation tool imports this module
    sys.exit(main())
