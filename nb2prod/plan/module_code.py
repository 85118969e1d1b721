"""What the module level of the package holds, and what module-level code gets wrong:
the dependencies (NB623), the public names it exports, nbdev's export module,
IPython-only names, global writes and reserved names (NB613, NB609, NB619)."""

from __future__ import annotations

import ast

from nb2prod import naming
from nb2prod.analysis.analyze import IPYTHON_NAMES, CellAnalysis
from nb2prod.analysis.magics import DEPENDENCY
from nb2prod.plan import dependencies as deps
from nb2prod.plan.cut import CutCode
from nb2prod.plan.records import Block, Unit
from nb2prod.problems import Problem, make_problem


def dependencies(analysis, units: list[Unit], own: str, env):
    """(requirements, resolved imports, lock pins, problems): unresolved imports are NB623."""
    cells = [c for u in units for c in u.cells if c.tree is not None]
    modules = deps.top_level_imports(c.tree for c in cells)
    specs = [p for c in analysis.code_cells if c.code for m in c.code.magics
             if m.action == DEPENDENCY for p in m.packages]
    implied = [m for m in deps.implied_imports(c.tree for c in cells) if m not in modules]
    resolved = deps.resolve(modules, own, env)
    # what a call needs without an import (`to_parquet`: pyarrow), when the environment
    # has it: a fresh install would fail on the call otherwise
    resolved += [r for r in deps.resolve(implied, own, env) if r.version]
    modules += [r.module for r in resolved if r.module in implied]
    if env is None:
        return deps.distributions(modules, specs, own, resolved), (), (), []
    sites = deps.import_sites(cells)
    problems = []
    for r in resolved:
        if r.version is None:
            cell, line, column, cell_id = sites[r.module]
            problems.append(make_problem(
                "NB623", f"`{r.module}` is not installed in the environment read (Python "
                f"{env.python_version}): declared as `{r.distribution}` without a version",
                cell, line, column, cell_id))
    from nb2prod.plan.environment import closure

    roots = [r.distribution for r in resolved if r.version] + [deps.requirement_name(s)
                                                               for s in specs]
    return (deps.distributions(modules, specs, own, resolved), tuple(resolved),
            tuple(closure(env, roots)), problems)


def step_code_problems(code: CutCode, cells: list[CellAnalysis], every) -> list[Problem]:
    """IPython-only names and global writes in converted code; reserved names."""
    problems = []
    for cell in cells:
        if cell.flow is None:
            continue
        where = (cell.cell.number,)
        for use in cell.flow.reads:
            if use.name in IPYTHON_NAMES and (cell.cell.number, use.line) not in code.dropped:
                problems.append(make_problem(
                    "NB613", f"`{use.name}` exists only inside IPython", *where, use.line,
                    use.column, cell.cell.cell_id))
        for use in cell.flow.global_writes:
            problems.append(make_problem(
                "NB609", f"a function assigns global `{use.name}`: in the package it is a "
                "module global, not a value of this step", *where, use.line, use.column,
                cell.cell.cell_id))
    same_module = {n for n in ("typing", "dataclasses") if f"import {n}" in code.imports}
    if "from __future__ import annotations" in code.imports:
        same_module.add("annotations")  # the pipeline's own first line
    for name in sorted(code.module_names & naming.RESERVED - same_module):
        cell = next((c for c in every if c.flow and name in c.flow.defines), None)
        problems.append(make_problem(
            "NB619", f"`{name}` is defined by the notebook and by the generated pipeline",
            cell.cell.number if cell else None, cell_id=cell.cell.cell_id if cell else None))
    return problems


def exports(helpers: tuple[Block, ...]) -> tuple[str, ...]:
    names = []
    for block in helpers:
        for node in ast.parse(block.code).body if block.code else ():
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                    and not node.name.startswith("_"):
                names.append(node.name)
    return tuple(names)


def export_module(analysis) -> str | None:
    """nbdev's `#| default_exp pkg.textutils` names a module users import from."""
    names = [c.tags.default_exp for c in analysis.cells if c.tags.default_exp]
    if not names:
        return None
    module = naming.identifier(names[0].rsplit(".", 1)[-1])
    return None if module in ("pipeline", "__main__", "__init__") else module
