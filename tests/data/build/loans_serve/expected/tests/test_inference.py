"""loans's model takes its input as fitted (no feature code runs before it):
tests/test_serve.py covers the service."""
