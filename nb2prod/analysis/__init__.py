"""Facts about a notebook's cells: magics (a decision table), tags (a table),
def/use dataflow, scopes. `analyze.py` puts them together per cell."""
