"""Analysis -> Plan: the records (`records.py`, a leaf), how cells become steps
with inputs and outputs, parameters, metrics, tests, file flows, dependencies."""
