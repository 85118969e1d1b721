"""Plan -> {path: text}: Jinja templates, code generation, import blocks; and the
atomic writes of that tree (manifest, verdicts)."""
