"""Plan -> {path: text} with Jinja templates (`templates.py`) and merged import
blocks (`imports.py`); `write.py` writes that tree atomically (manifest, verdicts)."""
