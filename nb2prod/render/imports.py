"""One import block from many import statements, sorted the way isort/ruff expect.

Notebook imports are scattered over cells and repeated; the generated module
gets them once, merged per module, in sections (future, standard library,
third party, this package, relative), straight imports before `from`
imports, members ordered constants-classes-functions. `# noqa` comments on
an input line are kept on the line its names end up on.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass

LINE_LENGTH = 88
_NOQA = re.compile(r"# noqa(: [A-Z]+[0-9]+(, [A-Z]+[0-9]+)*)?")


@dataclass(frozen=True)
class _Name:
    name: str
    alias: str | None
    noqa: str


def import_block(statements: list[str], own_package: str) -> str:
    """Merge `statements` (each one import statement) into a sorted block."""
    straight: dict[tuple[str, str | None], str] = {}
    froms: dict[tuple[int, str], dict[tuple[str, str | None], str]] = {}
    for text in statements:
        match = _NOQA.search(text)
        noqa = match.group(0) if match else ""
        node = ast.parse(text.strip()).body[0]
        if isinstance(node, ast.Import):
            for alias in node.names:
                key = (alias.name, alias.asname)
                straight[key] = straight.get(key) or noqa
        else:
            members = froms.setdefault((node.level, node.module or ""), {})
            for alias in node.names:
                key = (alias.name, alias.asname)
                members[key] = members.get(key) or noqa
    sections: dict[int, list[tuple]] = {}  # (kind, module, [star first, member,] text)
    for (module, asname), noqa in straight.items():
        line = f"import {module}" + (f" as {asname}" if asname else "")
        sections.setdefault(_section(module, 0, own_package), []).append(
            (0, module.lower(), _with_noqa(line, noqa)))
    for (level, module), members in froms.items():
        section = sections.setdefault(_section(module, level, own_package), [])
        key = "." * level + module.lower()
        star = members.pop(("*", None), None)
        if star is not None:  # `from m import *, pi` is a SyntaxError: a line of its own,
            section.append((1, key, 0, (), _with_noqa(f"from {'.' * level}{module} import *",
                                                      star)))  # first, as isort/ruff put it
        # ruff's isort (combine-as-imports off): `x as y` a statement of its own
        plain = {k: v for k, v in members.items() if k[1] is None}
        statements = [{k: v} for k, v in members.items() if k[1] is not None]
        statements += [plain] if plain else []
        for group in statements:
            first = min(group, key=_sort_key)
            section.append((1, key, 1, _sort_key(first), _from_line(level, module, group)))
    blocks = ["\n".join(entry[-1] for entry in sorted(lines))
              for _, lines in sorted(sections.items())]
    return "\n\n".join(blocks)


def _section(module: str, level: int, own_package: str) -> int:
    top = module.split(".")[0]
    if level:
        return 4
    if top == "__future__":
        return 0
    if top in sys.stdlib_module_names:
        return 1
    return 3 if top == own_package else 2


def _member_key(name: str) -> tuple[int, str, str]:
    if name.isupper() and len(name) > 1:
        rank = 0  # CONSTANT
    elif name[:1].isupper():
        rank = 1  # Class
    else:
        rank = 2
    return rank, _natural(name.lower()), name


def _natural(text: str) -> tuple:
    """`log2` before `log10`, as isort and ruff order names."""
    return tuple((0, int(part)) if part.isdigit() else (1, part)
                 for part in re.split(r"(\d+)", text) if part)


def _sort_key(member: tuple[str, str | None]) -> tuple:
    return _member_key(member[0]), member[1] or ""


def _from_line(level: int, module: str, members: dict) -> str:
    names = sorted(members, key=_sort_key)
    parts = [name + (f" as {alias}" if alias else "") for name, alias in names]
    noqa = next((n for n in members.values() if n), "")
    head = f"from {'.' * level}{module} import "
    line = head + ", ".join(parts)
    if len(line) + (len(noqa) + 2 if noqa else 0) <= LINE_LENGTH:
        return _with_noqa(line, noqa)
    body = "".join(f"    {part},\n" for part in parts)
    return _with_noqa(head + "(", noqa) + "\n" + body + ")"


def _with_noqa(line: str, noqa: str) -> str:
    return f"{line}  {noqa}" if noqa else line


def sort_names(names) -> list[str]:
    """isort-style order (CONSTANTS, Classes, others), as ruff wants `__all__`."""
    return sorted(names, key=_member_key)
