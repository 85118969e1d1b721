"""Which pipeline value is the model, and which value it was fitted on (`--target serve`).

Static, from the step cells' syntax trees: a fitted value is `NAME.fit(X, ...)`
as a statement, or `NAME = <expr>.fit(X, ...)`, anywhere in a step but inside a
function or class body. A cell tagged `model:NAME` (or `model` on the cell that
fits it) chooses; else `[tool.nb2prod] model = "NAME"`; else the last fitted
value. The choice, and what run_steps must return for it (the model as fitted,
and the X it was fitted on, to record the input schema), go into the plan.
"""

from __future__ import annotations

import ast
import dataclasses
from dataclasses import dataclass

from nb2prod import naming
from nb2prod.plan.inference import InferencePath, find_path
from nb2prod.plan.inference_batch import window_problems
from nb2prod.plan.records import ModelChoice
from nb2prod.problems import WARNING, Problem, make_problem

FIT = "fit"


@dataclass(frozen=True)
class Fit:
    name: str  # the fitted value
    x: str | None  # the name passed as X, if a plain name
    function: str  # step function that fits it
    cell: int
    line: int


@dataclass(frozen=True)
class Choice:
    """What planning needs: the choice (or None) and the notes for `--target serve`."""

    model: ModelChoice | None
    notes: tuple[Problem, ...]
    results: tuple[str, ...] = ()  # extra values run_steps returns
    snapshots: tuple[tuple[str, str, str], ...] = ()  # (step function, name, key)
    inference: InferencePath | None = None  # the raw-input path (inference.py)


def find_fits(raw_steps, functions: list[str]) -> list[Fit]:
    """Every fitted value, in notebook order; `raw_steps` as link.py holds them."""
    fits = []
    for (_, cells), function in zip(raw_steps, functions):
        for cell, _ in cells:
            for node in _statements(cell.tree.body):
                fit = _fit(node)
                if fit:
                    fits.append(Fit(fit[0], fit[1], function, cell.cell.number, node.lineno))
    return fits


def _statements(body):
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        yield node
        for field in ("body", "orelse", "finalbody"):
            yield from _statements(getattr(node, field, []))
        for handler in getattr(node, "handlers", []):
            yield from _statements(handler.body)


def _fit(node: ast.stmt) -> tuple[str, str | None] | None:
    """`m.fit(X, y)` -> ("m", "X"); `m = Est().fit(X, y)` -> ("m", "X")."""
    if isinstance(node, ast.Expr):
        call = node.value
        if _is_fit(call) and isinstance(call.func.value, ast.Name):
            return call.func.value.id, _x_name(call)
    if isinstance(node, ast.Assign) and len(node.targets) == 1 \
            and isinstance(node.targets[0], ast.Name) and _is_fit(node.value):
        return node.targets[0].id, _x_name(node.value)
    return None


def _is_fit(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
        and node.func.attr == FIT


def _x_name(call: ast.Call) -> str | None:
    x = call.args[0] if call.args else next(
        (k.value for k in call.keywords if k.arg in ("X", "x")), None)
    return x.id if isinstance(x, ast.Name) else None


def choose(raw_steps, functions: list[str], provider: dict[str, str],
           history: list[tuple[int, dict[str, str]]], taken: set[str],
           configured: str | None = None, serve_input: str | None = None) -> Choice:
    """The served model, and the keys run_steps returns it and its X under."""
    fits = find_fits(raw_steps, functions)
    picked, notes = _pick(raw_steps, functions, fits, configured)
    if picked is None:
        return Choice(None, tuple(notes))
    fit, origin = picked
    after = dict(history[functions.index(fit.function)][1])
    results, snapshots = [], []
    keys = {}
    for name in filter(None, (fit.name, fit.x)):
        source = after.get(name)
        if source is None:  # not a pipeline value (a module-level name): nothing to return
            keys[name] = None
        elif source == provider.get(name):
            keys[name] = name
            results.append(name)
        else:  # a later step rebinds it: keep it as it was after the fitting step
            keys[name] = naming.unique(f"{name}_fitted", taken)
            snapshots.append((fit.function, name, keys[name]))
    if keys.get(fit.name) is None:
        return Choice(None, (*notes, make_problem(
            "NB621", f"`{fit.name}` is not a value of a step: nothing to serve", fit.cell,
            fit.line)))
    x = fit.x if fit.x and keys.get(fit.x) else None
    model = ModelChoice(fit.name, keys[fit.name], x, keys.get(x) if x else None, fit.function,
                        fit.cell, fit.line, origin, tuple(dict.fromkeys(f.name for f in fits)))
    path = find_path(raw_steps, fit.name, fit.cell, fit.line,
                     {n for n, p in provider.items() if p != "params"},
                     {n for n, p in provider.items() if p == "params"}, serve_input)
    cell_ids = {c.cell.number: c.cell.cell_id for _, cells in raw_steps for c, _ in cells}
    notes = [*notes, *window_problems(path, cell_ids), *_unused_input(raw_steps, path,
                                                                      serve_input)]
    if path is not None:  # what the feature state and its proof read from the run
        wanted = (*path.frozen, *path.train_rows, *path.run_values, *path.heldout_rows)
        results += [n for n in dict.fromkeys(filter(None, wanted))
                    if n in provider and provider[n] != "params" and n not in results]
    return Choice(model, tuple(notes), tuple(results), tuple(snapshots), path)


def _pick(raw_steps, functions, fits: list[Fit], configured: str | None):
    """(fit, origin) or None, and the notes explaining the choice."""
    for (_, cells), function in zip(raw_steps, functions):
        for cell, _ in cells:
            wanted = cell.tags.model
            if wanted is None:
                continue
            here = [f for f in fits if f.cell == cell.cell.number]
            if not wanted and here:
                return (here[-1], "tag"), []
            named = _named(wanted, fits, raw_steps, functions) if wanted else None
            if named:
                return (named, "tag"), []
            what = f"`model:{wanted}`: no step defines `{wanted}`" if wanted else \
                "cell tagged `model` fits nothing (`NAME.fit(...)`)"
            return None, [make_problem("NB621", f"{what}; nothing to serve",
                                       cell.cell.number, cell_id=cell.cell.cell_id)]
    if configured:
        named = _named(configured, fits, raw_steps, functions)
        if named:
            return (named, "config"), []
        return None, [make_problem("NB621", f"[tool.nb2prod] model = {configured!r}: no step "
                                   f"defines `{configured}`; nothing to serve")]
    if not fits:
        last = raw_steps[-1][1][0][0].cell if raw_steps and raw_steps[-1][1] else None
        return None, [make_problem("NB621", "no step fits a model (`NAME.fit(...)` or "
                                   "`NAME = ....fit(...)`); nothing to serve",
                                   last.number if last else None,
                                   cell_id=last.cell_id if last else None)]
    names = list(dict.fromkeys(f.name for f in fits))
    if len(names) == 1:
        return (fits[-1], "fit"), []
    dummies = _dummies(raw_steps)
    transformers = _transformers(raw_steps)
    real = [f for f in fits if f.name not in dummies | transformers] or [
        f for f in fits if f.name not in dummies] or fits
    evaluated = [n for n in _evaluated(raw_steps) if n in {f.name for f in real}]
    if evaluated:
        chosen = [f for f in real if f.name == evaluated[-1]][-1]
        why = "its predictions are the last the notebook evaluates"
    else:
        chosen, why = real[-1], "the last fitted"
    skipped = f"; baselines left out: {', '.join(sorted(dummies & set(names)))}" if dummies & set(
        names) else ""
    note = make_problem(
        "NB622", f"{len(names)} fitted values ({', '.join(names)}): serving `{chosen.name}`, "
        f"{why}{skipped}; tag the model's cell `model:NAME` to choose", chosen.cell,
        chosen.line)
    ambiguous = not evaluated and len({f.name for f in real}) > 1  # nothing tells them apart
    return (chosen, "fit"), [dataclasses.replace(note, severity=WARNING) if ambiguous else note]


METRIC_SUFFIXES = ("_score", "_error", "_loss", "_report", "_matrix")


def _dummies(raw_steps) -> set[str]:
    """Names bound to a `Dummy*` estimator (a baseline, never served)."""
    found = set()
    for node in _all_statements(raw_steps):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            calls = [c for c in ast.walk(node.value) if isinstance(c, ast.Call)]
            if any(getattr(c.func, "id", getattr(c.func, "attr", "")).startswith("Dummy")
                   for c in calls):
                found.add(node.targets[0].id)
    return found


TRANSFORMER_SUFFIXES = ("Scaler", "Encoder", "Vectorizer", "Imputer", "Transformer", "PCA",
                        "Selector", "Binarizer", "Normalizer", "Discretizer", "SVD")


def _transformers(raw_steps) -> set[str]:
    """Names of fitted preprocessing: built by a `...Scaler()`-like class, or whose
    `transform`/`fit_transform` the notebook calls. They feed the model; they are not it."""
    found = set()
    for node in _all_statements(raw_steps):
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and \
                    sub.func.attr in ("transform", "fit_transform") and \
                    isinstance(sub.func.value, ast.Name):
                found.add(sub.func.value.id)
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and any(
                getattr(c.func, "id", getattr(c.func, "attr", "")).endswith(TRANSFORMER_SUFFIXES)
                for c in ast.walk(node.value) if isinstance(c, ast.Call)):
            found.add(node.targets[0].id)
    return found


def _evaluated(raw_steps) -> list[str]:
    """Fitted names whose predict/predict_proba results reach a metric call
    (`accuracy_score(y, m.predict(X))`, or through a name), in notebook order."""
    predicted: dict[str, str] = {}  # name bound to predictions -> model
    order = []
    for node in _all_statements(raw_steps):
        for call in (c for c in ast.walk(node) if isinstance(c, ast.Call)):
            func = call.func
            name = getattr(func, "id", getattr(func, "attr", ""))
            if not name.endswith(METRIC_SUFFIXES):
                continue
            for sub in ast.walk(call):
                model = _predicting(sub)
                if model:
                    order.append(model)
                elif isinstance(sub, ast.Name) and sub.id in predicted:
                    order.append(predicted[sub.id])
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            model = next(filter(None, map(_predicting, ast.walk(node.value))), None)
            if model:
                predicted[node.targets[0].id] = model
    return order


def _predicting(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
            node.func.attr in ("predict", "predict_proba", "decision_function") and \
            isinstance(node.func.value, ast.Name):
        return node.func.value.id
    return None


def _all_statements(raw_steps):
    for _, cells in raw_steps:
        for cell, _ in cells:
            yield from _statements(cell.tree.body)


def _named(name: str, fits: list[Fit], raw_steps, functions) -> Fit | None:
    """The last fit of `name`; else the last step cell that binds it (X unknown)."""
    matching = [f for f in fits if f.name == name]
    if matching:
        return matching[-1]
    found = None
    for (_, cells), function in zip(raw_steps, functions):
        for cell, _ in cells:
            if cell.flow and name in cell.flow.defines:
                found = Fit(name, None, function, cell.cell.number, 1)
    return found


def _unused_input(raw_steps, path, configured: str | None) -> list[Problem]:
    """NB629 when a chosen input frame is not where the path starts."""
    if path is None or path.origin != "loaded":
        return []
    tagged = [c for _, cells in raw_steps for c, _ in cells if c.tags.serve_input is not None]
    if tagged:
        return [make_problem("NB629", f"cell tagged `serve-input`: not on the way to the "
                             f"model's input; requests are rows of `{path.frame}`",
                             tagged[0].cell.number, cell_id=tagged[0].cell.cell_id)]
    if configured:
        return [make_problem("NB629", f"[tool.nb2prod] serve_input = {configured!r}: not on "
                             f"the way to the model's input; requests are rows of "
                             f"`{path.frame}`")]
    return []
