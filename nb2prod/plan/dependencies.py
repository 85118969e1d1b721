"""Which distributions a notebook needs: import names -> PyPI names, stdlib skipped."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable

IMPORT_TO_DIST: dict[str, str] = {
    "sklearn": "scikit-learn", "cv2": "opencv-python", "yaml": "PyYAML", "PIL": "Pillow",
    "bs4": "beautifulsoup4", "skimage": "scikit-image", "dateutil": "python-dateutil",
    "dotenv": "python-dotenv", "Crypto": "pycryptodome", "jwt": "PyJWT", "lxml": "lxml",
    "google": "google-cloud-storage", "attr": "attrs", "magic": "python-magic",
    "serial": "pyserial", "usb": "pyusb", "docx": "python-docx", "pptx": "python-pptx",
    "OpenSSL": "pyOpenSSL", "MySQLdb": "mysqlclient", "psycopg2": "psycopg2-binary",
    "tensorflow": "tensorflow", "torch": "torch", "xgboost": "xgboost", "lightgbm": "lightgbm",
    "statsmodels": "statsmodels", "sktime": "sktime", "yellowbrick": "yellowbrick",
    "fitz": "PyMuPDF", "gi": "PyGObject", "Levenshtein": "python-Levenshtein",
    "sentencepiece": "sentencepiece", "kfp": "kfp", "umap": "umap-learn",
}
"""Import names whose distribution is spelled differently (or is commonly confused)."""

NOT_INSTALLABLE = frozenset(["IPython", "ipykernel", "google.colab", "nbdev", "__future__"])
"""Imports that only make sense inside a notebook environment."""


def top_level_imports(trees: Iterable[ast.AST]) -> list[str]:
    """Absolute imported top-level module names, in first-seen order."""
    seen: dict[str, None] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    seen.setdefault(alias.name.split(".")[0], None)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                seen.setdefault(node.module.split(".")[0], None)
    return list(seen)


def distributions(modules: Iterable[str], pip_specs: Iterable[str], own: str) -> list[str]:
    """Sorted requirement strings: mapped third-party imports plus `!pip install` specs."""
    requirements: dict[str, str] = {}
    for module in modules:
        if module in sys.stdlib_module_names or module in NOT_INSTALLABLE or module == own:
            continue
        dist = IMPORT_TO_DIST.get(module, module)
        requirements.setdefault(_key(dist), dist)
    for spec in pip_specs:
        requirements[_key(spec)] = spec  # an explicit spec (with a version) wins
    return sorted(requirements.values(), key=str.lower)


def _key(requirement: str) -> str:
    name = re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()
