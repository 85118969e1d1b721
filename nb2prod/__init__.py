"""nb2prod: from a tagged Jupyter notebook to a production Python package."""

__version__ = "0.1.0"
