"""Code generated packages carry a copy of: plain Python, importing nothing from nb2prod."""
