"""Generate, execute and save examples/pricing.ipynb: helpers that read globals.

Usage:  python examples/make_pricing.py

The helper functions read a parameter (`discount`, `clip`) and values a step
computes (`mean_price`, `std_price`) as notebook globals, the way notebooks
are written; the package must let `--discount 0.3` reach them.
"""

from __future__ import annotations

import sys

import nbformat
from make_examples import HERE, build, code, execute, md


def pricing() -> nbformat.NotebookNode:
    return build([
        md("# Price scores\n\nHelpers read the campaign parameters and the fitted "
           "statistics as globals."),
        code("import numpy as np", "imports"),
        code('''
def discounted(price):
    """Price after the campaign discount."""
    return price * (1 - discount)


def zscore(values):
    """Standardise with the statistics the `fit` step computed."""
    return (values - mean_price) / std_price


def score(prices):
    return np.clip(zscore(discounted(prices)), -clip, clip)
''', "functions"),
        code("n = 300\ndiscount = 0.1\nclip = 2.5\nseed = 7", "parameters"),
        md("## Load"),
        code("""
rng = np.random.default_rng(seed)
prices = rng.lognormal(3.0, 0.4, size=n)
print("prices:", len(prices))
""", "step:load"),
        md("## Fit"),
        code("""
mean_price = float(prices.mean())
std_price = float(prices.std())
""", "step:fit"),
        md("## Evaluate"),
        code("""
scores = score(prices)
high_share = float((scores > 1.0).mean())
mean_score = float(scores.mean())
""", "step:evaluate"),
        code("assert discounted(100.0) == 100.0 * (1 - discount)\nassert abs(mean_score) < clip",
             "test"),
        code("print(high_share)\nprint(mean_score)", "metrics"),
    ])


def main() -> int:
    nb = pricing()
    nbformat.validate(nb)
    execute(nb, HERE)
    nbformat.write(nb, str(HERE / "pricing.ipynb"))
    print("wrote examples/pricing.ipynb")
    return 0


if __name__ == "__main__":
    sys.exit(main())
