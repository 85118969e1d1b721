"""The package layout keeps its promises (DESIGN.md): stages import down, never back.

Imports are read with `ast` (function-level ones included), so a late import
cannot hide a cycle or an upward dependency.
"""

from __future__ import annotations

import ast

from tests.conftest import ROOT

PACKAGE = ROOT / "nb2prod"
CORE = ("analysis", "plan", "render", "targets", "verify", "build")


def module_name(path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """nb2prod module -> the nb2prod modules it imports (anywhere in its body)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found |= {f"{node.module}.{a.name}" for a in node.names} | {node.module}
        graph[name] = {m for m in found if m in modules and m != name and m != "nb2prod"}
    return graph


def test_no_import_cycles():
    graph, state, cycles = imports(), {}, []

    def visit(node, stack):
        state[node] = "open"
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, [*stack, target])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_core_never_imports_the_command_line():
    upward = {(m, t) for m, targets in imports().items() for t in targets
              if m.split(".")[1:2] and m.split(".")[1] in CORE and t.startswith("nb2prod.cli")}
    assert upward == set()


def test_nbconvert_exporter_uses_the_core_only():
    assert not {t for t in imports()["nb2prod.nbconvert_exporter"] if t.startswith("nb2prod.cli")}


def test_plan_records_are_a_leaf():
    assert not {t for t in imports()["nb2prod.plan.records"] if t.startswith("nb2prod.plan")}


def test_only_the_target_modules_name_a_target():
    """Render and the CLI loop over targets/registry.py; no `if KUBEFLOW in targets`."""
    named = [p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py")
             if "targets" not in p.parts and "KUBEFLOW" in p.read_text(encoding="utf-8")]
    assert named == []


def package_of(module: str) -> str:
    """`nb2prod.plan.steps` -> `plan`; top-level modules are their own package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def test_no_package_cycles():
    """Between the folders (stages), function-level imports included: `plan` importing
    `lint` inside a function while `lint` imports `plan` is a cycle too."""
    graph: dict[str, set[str]] = {}
    for module, targets in imports().items():
        graph.setdefault(package_of(module), set()).update(
            package_of(t) for t in targets if package_of(t) != package_of(module))
    closure = {p: set(ts) for p, ts in graph.items()}
    changed = True
    while changed:
        changed = False
        for reached in closure.values():
            more = set().union(*(closure.get(t, set()) for t in reached)) - reached
            if more:
                reached |= more
                changed = True
    cycles = sorted((p, t) for p in closure for t in closure[p] if t != p and p in closure[t]
                    and p in ("analysis", "plan", "render", "targets", "verify", "lint", "tag"))
    assert cycles == []


def test_analysis_and_plan_import_nothing_from_lint():
    reaching = {(m, t) for m, targets in imports().items() for t in targets
                if package_of(m) in ("analysis", "plan") and package_of(t) == "lint"}
    assert reaching == set()


def test_no_module_over_400_lines():
    long = {p.relative_to(ROOT).as_posix(): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert long == {}
