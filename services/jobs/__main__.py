"""`python -m services.jobs`: the jobs CLI (services.jobs.cli)."""

import sys

from services.jobs.cli import main

if __name__ == "__main__":
    sys.exit(main())
