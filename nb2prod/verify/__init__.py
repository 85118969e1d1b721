"""`nb2prod verify`: run the notebook and the package built from it, compare values."""
