"""Which distributions a notebook needs: import names -> PyPI names, stdlib skipped."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Resolved:
    """What an import needs: import name -> distribution -> installed version."""

    module: str
    distribution: str
    version: str | None = None  # None: not installed in the environment read
    found: bool = False  # the environment says which distribution provides it


IMPLIED: dict[str, str] = {
    "to_parquet": "pyarrow", "read_parquet": "pyarrow", "to_feather": "pyarrow",
    "read_feather": "pyarrow", "read_orc": "pyarrow", "to_orc": "pyarrow",
    "to_excel": "openpyxl", "read_excel": "openpyxl", "to_markdown": "tabulate",
}
"""Method -> the module pandas imports for it: a dependency no import statement names."""


def implied_imports(trees: Iterable[ast.AST]) -> list[str]:
    """Modules the code needs through calls (`df.to_parquet(...)`: pyarrow), in order."""
    found: dict[str, None] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    node.func.attr in IMPLIED:
                found.setdefault(IMPLIED[node.func.attr])
    return list(found)


def third_party(modules: Iterable[str], own: str) -> list[str]:
    return [m for m in modules
            if m not in sys.stdlib_module_names and m not in NOT_INSTALLABLE and m != own]


def resolve(modules: Iterable[str], own: str, env=None) -> list[Resolved]:
    """Each third-party import's distribution: from `env` (an environment.Environment,
    via importlib.metadata.packages_distributions) when it has it, else the table."""
    found = []
    for module in third_party(modules, own):
        candidates = env.packages.get(module, []) if env is not None else []
        if not candidates:
            found.append(Resolved(module, IMPORT_TO_DIST.get(module, module)))
            continue
        known = IMPORT_TO_DIST.get(module)
        dist = next((c for c in candidates if known and _key(c) == _key(known)),
                    min(candidates, key=str.lower))
        info = env.dists.get(_key(dist))
        found.append(Resolved(module, info["name"] if info else dist,
                              info["version"] if info else None, True))
    return found


def import_sites(cells) -> dict[str, tuple[int, int, int, str | None]]:
    """Top-level module -> (cell, line, column, cell id) of its first import."""
    sites: dict[str, tuple[int, int, int, str | None]] = {}
    for cell in cells:
        for node in ast.walk(cell.tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                sites.setdefault(name.split(".")[0], (cell.cell.number, node.lineno,
                                                      node.col_offset + 1, cell.cell.cell_id))
    return sites


def distributions(modules: Iterable[str], pip_specs: Iterable[str], own: str,
                  resolved: Iterable[Resolved] | None = None) -> list[str]:
    """Sorted requirement strings: third-party imports (with a compatible range when
    the version is known) plus `!pip install` specs."""
    from nb2prod.plan.environment import compatible_range

    if resolved is None:
        resolved = resolve(modules, own)
    requirements: dict[str, str] = {}
    for r in resolved:
        spec = r.distribution + (compatible_range(r.version) if r.version else "")
        requirements.setdefault(_key(r.distribution), spec)
    for spec in pip_specs:
        requirements[_key(spec)] = spec  # an explicit spec (with a version) wins
    return sorted(requirements.values(), key=str.lower)


def _key(requirement: str) -> str:
    name = re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    """`scikit-learn>=1.9,<2` -> `scikit-learn`."""
    return re.split(r"[<>=!~\[; (]", requirement.strip(), maxsplit=1)[0]
