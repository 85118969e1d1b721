"""Analysis -> Plan: the records (`records.py`, a leaf) and `build.py`, which
assembles them: steps and their inputs/outputs (`steps.py`), the code cut for
them (`codegen.py`), params, metrics, tests, file flows, dependencies, graph."""
