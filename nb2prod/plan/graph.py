"""The step DAG of a plan, drawn: `nb2prod plan NB --graph` / `--format mermaid|dot`.

`plan_graph(plan)` reduces the plan to nodes and labelled edges once; each
output format is then a small renderer over that graph, looked up in
`RENDERERS`. Every edge carries the names that flow along it. Labels come
from user input (step names, variable names, the notebook file name), so
each renderer escapes them for its own syntax and uses generated node ids.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from nb2prod.places import cells_phrase
from nb2prod.plan.records import Plan

PARAMS, METRICS = "params", "metrics"


@dataclass(frozen=True)
class Node:
    id: str  # safe in every format: letters, digits, underscore
    label: str
    detail: str = ""  # second line: cells, names
    kind: str = "step"  # step, params, metrics


@dataclass(frozen=True)
class Edge:
    source: str  # node ids
    target: str
    names: tuple[str, ...] = ()  # the values that flow; () for an explicit `after:`


@dataclass(frozen=True)
class Graph:
    title: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


def plan_graph(plan: Plan) -> Graph:
    """Steps, plus a parameters source and a metrics sink when the plan has them."""
    ids = {step.function: f"step_{i}" for i, step in enumerate(plan.steps, 1)}
    params = {p.name for p in plan.params}
    nodes = [Node(ids[s.function], s.function,
                  cells_phrase(plan.parts, s.cells, notebook=""))
             for s in plan.steps]
    edges: list[Edge] = []
    for flow in plan.file_flows:  # a file one step writes and a later one reads
        edges.append(Edge(ids[flow.writer_function], ids[flow.reader_function],
                          (f"file {flow.path}",)))
    for step in plan.steps:
        edges.extend(Edge(ids[source], ids[step.function], tuple(names))
                     for source, names in step.edges if source in ids)
        flowed = {source for source, _ in step.edges}
        edges.extend(Edge(ids[source], ids[step.function])
                     for source in step.after if source in ids and source not in flowed)
        from_params = tuple(n for n in step.inputs if n in params)
        if from_params:
            edges.append(Edge(PARAMS, ids[step.function], from_params))
    if plan.params:
        nodes.insert(0, Node(PARAMS, "parameters", ", ".join(p.name for p in plan.params),
                             PARAMS))
    for step in plan.steps:
        reported = tuple(n for n in step.outputs if n in plan.metrics)
        if reported:
            edges.append(Edge(ids[step.function], METRICS, reported))
    if plan.metrics:
        nodes.append(Node(METRICS, "metrics", ", ".join(plan.metrics), METRICS))
    return Graph(f"{plan.notebook_name} -> {plan.dist_name}", tuple(nodes), tuple(edges))


# -- mermaid ------------------------------------------------------------------------

MERMAID_ENTITIES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;",
                    "|": "#124;", "`": "#96;", "\n": " ", "\r": " "}
"""Mermaid's own entity codes: inside a quoted label these cannot break the syntax."""
MERMAID_SHAPES = {"step": ('["', '"]'), PARAMS: ('[/"', '"/]'), METRICS: ('[("', '")]')}


def mermaid_text(text: str) -> str:
    return "".join(MERMAID_ENTITIES.get(char, char) for char in text)


def to_mermaid(graph: Graph) -> str:
    """A `flowchart TD` GitHub renders inside a ```mermaid block."""
    # The title is YAML front matter: a JSON string is a valid YAML double-quoted one.
    lines = ["---", f"title: {json.dumps(graph.title)}", "---", "flowchart TD"]
    for node in graph.nodes:
        open_, close = MERMAID_SHAPES[node.kind]
        label = mermaid_text(node.label)
        if node.detail:
            label += "<br/>" + mermaid_text(node.detail)
        lines.append(f"    {node.id}{open_}{label}{close}")
    for edge in graph.edges:
        if edge.names:
            label = mermaid_text(", ".join(edge.names))
            lines.append(f'    {edge.source} -->|"{label}"| {edge.target}')
        else:
            lines.append(f"    {edge.source} -.->|after| {edge.target}")
    return "\n".join(lines) + "\n"


# -- graphviz -------------------------------------------------------------------------

DOT_SHAPES = {"step": "box", PARAMS: "parallelogram", METRICS: "cylinder"}


def dot_quote(text: str) -> str:
    """A DOT double-quoted string: only backslash, quote and line breaks need escaping."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\r", "").replace("\n", "\\n") + '"'


def to_dot(graph: Graph) -> str:
    lines = [f"digraph {dot_quote(graph.title)} {{", "  rankdir=TB;",
             '  node [fontname="Helvetica"];', '  edge [fontname="Helvetica", fontsize=10];']
    for node in graph.nodes:
        label = node.label + (f"\n{node.detail}" if node.detail else "")
        lines.append(f"  {dot_quote(node.id)} [label={dot_quote(label)}, "
                     f"shape={DOT_SHAPES[node.kind]}];")
    for edge in graph.edges:
        attrs = (f"label={dot_quote(', '.join(edge.names))}" if edge.names
                 else 'label="after", style=dashed')
        lines.append(f"  {dot_quote(edge.source)} -> {dot_quote(edge.target)} [{attrs}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


# -- terminal tree and json ----------------------------------------------------------


def to_tree(graph: Graph):
    """A rich Tree: each node, then the edges leaving it with the names they carry."""
    from rich.markup import escape
    from rich.tree import Tree

    labels = {n.id: n.label for n in graph.nodes}
    tree = Tree(escape(graph.title))
    for node in graph.nodes:
        detail = f" [dim]({escape(node.detail)})[/dim]" if node.detail else ""
        branch = tree.add(f"[bold]{escape(node.label)}[/bold]{detail}")
        for edge in (e for e in graph.edges if e.source == node.id):
            carried = escape(", ".join(edge.names)) if edge.names else "[dim]after[/dim]"
            branch.add(f"-> {escape(labels[edge.target])}: {carried}")
    return tree


def tree_text(graph: Graph, width: int = 100) -> str:
    """The tree as plain text (no colour), e.g. for tests and pipes."""
    from rich.console import Console

    console = Console(width=width, color_system=None, record=True, file=_Null())
    console.print(to_tree(graph))
    return console.export_text()


class _Null:
    def write(self, _text: str) -> int:
        return 0

    def flush(self) -> None:
        pass


def to_json(graph: Graph) -> str:
    data = {"title": graph.title,
            "nodes": [vars(n) for n in graph.nodes],
            "edges": [{"from": e.source, "to": e.target, "names": list(e.names)}
                      for e in graph.edges]}
    return json.dumps(data, indent=2) + "\n"


RENDERERS = {"mermaid": to_mermaid, "dot": to_dot, "json": to_json, "text": tree_text}
"""Graph output formats of `plan --graph --format F`."""


def render_graph(plan: Plan, format: str) -> str:
    return RENDERERS[format](plan_graph(plan))
