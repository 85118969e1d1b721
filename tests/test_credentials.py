"""NB624: credential-like parameter defaults, refused the same way by build, plan and lint.

The widened checks (URLs with a password or a key, Authorization values, webhook
URLs, private keys, JSON web tokens, random-looking strings under any name) must
stay quiet on the string literals real notebooks use: every literal of the shared
corpus, the real-world notebooks and tests/data is checked.
"""

from __future__ import annotations

import ast
import json
import random
import string
import warnings
from pathlib import Path

import pytest

from nb2prod.analysis.credentials import credential_kind, first_token, random_looking
from nb2prod.cli import main
from nb2prod.lint.config import LintConfig
from nb2prod.lint.engine import LintPlan, lint_file
from nb2prod.lint.registry import resolve
from tests.conftest import make_notebook

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

CREDENTIALS = [
    ("db_url", "postgres://user:pass@host/db", "URL with a password"),
    ("target", "postgresql+psycopg2://admin:s3cr3t@db.internal:5432/prod", "URL with a password"),
    ("broker", "amqp://guest:password@rabbit:5672/", "URL with a password"),
    ("endpoint", "https://api.example.com/v1/rows?format=csv&api_key=9f8e7d6c5b4a3210",
     "URL with a key"),
    ("headers", {"Authorization": "Bearer abc123def456ghi"}, "Authorization value"),
    ("auth", "Basic dXNlcjpwYXNzd29yZA==", "Authorization value"),
    ("notify", "https://hooks.slack.com/services/T024BE7LD/B01ABCDEF/aB3dE5fG7hI9jK1lM3nO5pQ7",
     "webhook URL"),
    ("notify", "https://discord.com/api/webhooks/1234567890/abcDEF123-ghiJKL456_mnoPQR789",
     "webhook URL"),
    ("notify", "https://contoso.webhook.office.com/webhookb2/1a2b@3c4d/IncomingWebhook/5e6f/7a8b",
     "webhook URL"),
    ("key_file", ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
     "-----END OPENSSH PRIVATE KEY-----"), "private key"),
    ("session", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
     "JSON web token"),
    ("seed_text", "q8Zr4TnB2vX9LmP0sK7wYd3F", "random-looking string"),
    ("config", ["small", {"salt": "k3j4h5g6f7d8s9a0q1w2e3r4t5y6"}], "random-looking string"),
    ("api_key", "sk-live-4f9a8b7c6d5e4f3a2b1cQ9", "long random value under a credential name"),
    ("aws", "AKIAZ3MEXQ7R5TWY2HNB", "AWS access key id"),
]

ORDINARY = [
    ("path", "data/train_2023-01-01.csv"), ("url", "https://example.com/data.csv"),
    ("db", "postgres://localhost:5432/db"), ("db", "postgres://user:{password}@host/db"),
    ("db", "postgres://user:<password>@host/db"), ("db", "mysql://root:${DB_PASSWORD}@db/x"),
    ("auth", "Bearer <token>"), ("auth", "Bearer YOUR_TOKEN_HERE"), ("title", "Basic statistics"),
    ("model", "bert-base-uncased"), ("checksum", "d41d8cd98f00b204e9800998ecf8427e"),
    ("run_id", "123e4567-e89b-12d3-a456-426614174000"), ("name", "NaiveForecaster-mean-v1"),
    ("notify", "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"),
    ("token", "hello"), ("password", "<your password>"), ("columns", ["a", "b"]),
    ("series", "GOLDPMGBD228NLBM"), ("label", "ResNet50V2ImageNetWeights"),
]


@pytest.mark.parametrize(("name", "value", "label"), CREDENTIALS)
def test_credential_shapes_are_found(name, value, label):
    assert credential_kind(name, value) == label


@pytest.mark.parametrize(("name", "value"), ORDINARY)
def test_ordinary_values_are_quiet(name, value):
    assert credential_kind(name, value) is None


def test_random_strings_of_every_alphabet_are_found():
    """Measured: 93% of 20-character, 99% of 64-character random base62 strings."""
    rng = random.Random(7)
    alphabets = (string.ascii_letters + string.digits, string.ascii_letters + string.digits + "+/")
    tokens = ["".join(rng.choice(a) for _ in range(n)) for a in alphabets
              for n in (20, 32, 40, 64) for _ in range(50)]
    assert sum(random_looking(t) for t in tokens) >= 0.9 * len(tokens)


def _literals() -> dict[str, set[str]]:
    """Every string literal of every notebook's code cells (and of tests/data's Python),
    with the names it is assigned to (`""` when it is not assigned)."""
    found: dict[str, set[str]] = {}
    paths = [p for root in (SHARED / "corpus", SHARED / "realworld", REPO / "tests" / "data")
             for p in sorted(root.rglob("*.ipynb")) + sorted(root.rglob("*.py"))
             if "NB624" not in p.parts and p.name != "make_cases.py"]  # planted on purpose
    for path in paths:
        for source in _sources(path):
            try:
                with warnings.catch_warnings():  # old notebooks' invalid escapes
                    warnings.simplefilter("ignore")
                    tree = ast.parse(source)
            except (SyntaxError, ValueError):
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    found.setdefault(node.value, set()).add("")
                elif (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                      and isinstance(node.value.value, str)):
                    found.setdefault(node.value.value, set()).update(
                        t.id for t in node.targets if isinstance(t, ast.Name))
    return found


def _sources(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".py":
        return [text]
    try:
        cells = json.loads(text).get("cells") or []
    except (ValueError, AttributeError):
        return []
    sources = []
    for cell in cells if isinstance(cells, list) else []:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else str(source)
            sources.append("\n".join(line for line in source.split("\n")
                                     if not line.lstrip().startswith(("%", "!"))))
    return sources


def test_no_literal_of_real_notebooks_trips_but_fixed_shape_tokens():
    literals = _literals()
    assert len(literals) > 2000  # the corpora are there
    tripped = {value: label for value, names in literals.items()
               for name in names | {"value"}
               if (label := credential_kind(name or "value", value))}
    # The only hits are the fixed-shape tokens tests/data plants on purpose (NB306 cases).
    assert all(first_token(value) for value in tripped), {
        v[:60]: label for v, label in tripped.items() if not first_token(v)}


CELLS = [("db_url = 'postgres://etl:hunter2@db.internal/sales'\nn = 3", ["parameters"]),
         ("rows = n * 2\nprint(rows)", ["step:load"])]
MARKED = [(("db_url = 'postgres://etl:hunter2@db.internal/sales'  # nb2prod: not-a-secret\n"
           "n = 3"), ["parameters"]), ("rows = n * 2\nprint(rows)", ["step:load"])]
MESSAGE = ("parameter `db_url` has a default that looks like a credential (URL with a "
           "password): it would be written into the package")


def test_build_refuses_and_writes_nothing_plan_and_lint_say_the_same(tmp_path, capsys):
    notebook = make_notebook(tmp_path / "nb.ipynb", CELLS)
    out = tmp_path / "out"
    assert main(["build", str(notebook), "-o", str(out), "-q"]) == 1
    assert not out.exists()
    build_text = capsys.readouterr()
    assert MESSAGE in build_text.out + build_text.err
    main(["plan", str(notebook), "--format", "json"])
    assert MESSAGE in capsys.readouterr().out
    plan = LintPlan(LintConfig(), resolve(None, ()), tmp_path)
    assert [(f.code, f.cell, f.line, f.message) for f in lint_file(notebook, plan)
            if f.code == "NB624"] == [("NB624", 1, 1, MESSAGE)]


def test_a_marked_false_positive_builds_and_lints_clean(tmp_path):
    notebook = make_notebook(tmp_path / "nb.ipynb", MARKED)
    assert main(["build", str(notebook), "-o", str(tmp_path / "out"), "-q"]) == 0
    assert "hunter2" in (tmp_path / "out" / "src" / "nb" / "pipeline.py").read_text()
    plan = LintPlan(LintConfig(), resolve(None, ()), tmp_path)
    assert not [f for f in lint_file(notebook, plan) if f.code in ("NB624", "NB306")]


def test_noqa_marks_a_false_positive_for_build_too(tmp_path):
    cells = [("salt = 'q8Zr4TnB2vX9LmP0sK7wYd3F'  # noqa: NB624\nn = 3", ["parameters"]),
             ("rows = n * 2", ["step:load"])]
    notebook = make_notebook(tmp_path / "nb.ipynb", cells)
    assert main(["build", str(notebook), "-o", str(tmp_path / "out"), "-q"]) == 0
