"""loans's model takes its input as it was fitted: no feature code to run.

The inference path from a loaded frame to the model's input was not found
(`nb2prod plan` shows why), or the notebook's `predict` cell receives the rows.
"""

from __future__ import annotations

features = None
