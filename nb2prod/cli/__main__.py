"""`python -m nb2prod.cli`: the same as `python -m nb2prod`."""

import sys

from nb2prod.cli import main

if __name__ == "__main__":
    sys.exit(main())
