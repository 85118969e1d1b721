"""Batch scoring needs the notebook's feature code, which loans has none of
(see inference.py); score with the model directly (model_io.load_model)."""
