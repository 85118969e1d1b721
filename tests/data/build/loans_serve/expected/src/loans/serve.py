"""HTTP service for loans: the notebook's fitted model, KServe v1 data plane.

    pip install 'loans[serve]'
    python -m loans --model-out model/
    python -m loans.serve --model model/ --host 127.0.0.1 --port 8000

POST /v1/models/loans:predict  {"instances": [row, ...]} -> {"predictions": [...]}
GET  /v1/models/loans  /healthz  /readyz  /metadata  /docs
The service is the shared runtime's (`_runtime/serve_app.py`): bad input gets a
4xx naming the field, a bad model directory is refused in one line before the
port opens. This module says what is this notebook's.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from loans._runtime import serve_app
from loans.pipeline import predict as notebook_predict

SERVICE = serve_app.Service(
    model_name="loans",
    package="loans",
    prog="loans-serve",
    version="0.1.0",
    description="Predictions of the model trained by loans.ipynb.",
    port=8000,
    predict=notebook_predict,  # cell 7
)
MODEL_NAME = SERVICE.model_name
PREDICT_PATH = SERVICE.predict_path


def create_app(model_dir: Path | str, max_body_bytes: int = serve_app.MAX_BODY_BYTES,
               **options: Any) -> Any:
    """The FastAPI app serving the model in `model_dir` (see serve_app.create_app)."""
    return serve_app.create_app(SERVICE, model_dir, max_body_bytes, **options)


def main(argv: list[str] | None = None) -> int:
    return serve_app.main(SERVICE, argv)


if __name__ == "__main__":
    sys.exit(main())
