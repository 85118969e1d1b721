"""`nb2prod lint`: the notebook gate CI runs before merge.

Same loader and analysis as `build` (nb2prod.notebook, nb2prod.analysis);
the rules live in `rules_*.py`, one module per group, and are collected by
`registry.py`. This package file stays empty on purpose: `formats.py` imports
`nb2prod.lint.findings` and must not pull in the analysis with it.
"""
