"""The ``acq`` console script's old address; the command lives in `acq.app.cli`."""

import sys

from acq.app.cli import main

if __name__ == "__main__":
    sys.exit(main())
