"""Batch scoring for churn: raw rows from a file, the notebook's feature code, the model.

    python -m churn.score --model DIR INPUT --output OUTPUT [--rejects FILE]

Reading in chunks, the contract, the output and the rejects are the shared
runtime's (`_runtime/score.py`); this module names the package's feature code.
"""

from __future__ import annotations

import sys

from churn import inference
from churn._runtime import score

PROG = "churn-score"


def main(argv: list[str] | None = None) -> int:
    return score.main(inference.PATH, PROG, argv)


if __name__ == "__main__":
    sys.exit(main())
