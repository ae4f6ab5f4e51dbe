"""The stack as a graph of resources: what each step declares, and who reads whom.

Each step module declares its resources with `resources(ctx)`, and each resource what it reads
(`needs`): a node id `<step>.<key>`, or a whole step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from types import ModuleType

from gatewayproxy import steps
from gatewayproxy.context import Context
from gatewayproxy.errors import GatewayProxyError
from gatewayproxy.resources.base import AFTER, EXISTS, Resource, after, exists

__all__ = ["AFTER", "EXISTS", "Graph", "after", "build", "exists", "node_id", "retire_after"]

def node_id(resource: Resource) -> str:
    return f"{resource.step}.{resource.key}"


@dataclass
class Graph:
    """The resources in the order the steps declare them, and each one's dependencies."""

    nodes: list[Resource]
    needs: dict[str, set[str]]   # node id -> ids of the nodes it reads
    readers: dict[str, set[str]]  # node id -> ids of the nodes that read it
    # node id -> the needs it takes as soon as they exist, before they are ready
    early: dict[str, set[str]]
    # node id -> the needs `up` orders it after without reading them (`after`)
    ordered_only: dict[str, set[str]] = field(default_factory=dict)

    def up_waits(self, nid: str) -> set[str]:
        """What `up` waits for before converging a node: each need ready, or, for an early
        need, existing (`<id>:exists`)."""
        return {f"{dep}{EXISTS}" if dep in self.early[nid] else dep for dep in self.needs[nid]}

    def down_waits(self, nid: str) -> set[str]:
        """What `down` waits to be gone before deleting a node: the nodes that read it (a
        node that only starts after it, `after`, is no reader)."""
        return {r for r in self.readers[nid] if nid not in self.ordered_only.get(r, set())}

    def by_id(self) -> dict[str, Resource]:
        return {node_id(r): r for r in self.nodes}

    def order(self) -> list[Resource]:
        """Every node after the nodes it reads (declaration order among equals)."""
        placed: list[Resource] = []
        seen: set[str] = set()
        by_id = self.by_id()

        def visit(nid: str, path: tuple[str, ...]) -> None:
            if nid in seen:
                return
            if nid in path:
                raise GatewayProxyError(f"resource cycle: {' -> '.join([*path, nid])}")
            for dep in sorted(self.needs[nid]):
                visit(dep, (*path, nid))
            seen.add(nid)
            placed.append(by_id[nid])

        for resource in self.nodes:
            visit(node_id(resource), ())
        return placed

    def steps_of(self) -> dict[str, list[Resource]]:
        grouped: dict[str, list[Resource]] = {}
        for resource in self.nodes:
            grouped.setdefault(resource.step, []).append(resource)
        return grouped


def build(ctx: Context, modules: Sequence[ModuleType] | None = None) -> Graph:
    """The graph of `modules`' resources (every step by default; tests drive one alone)."""
    nodes: list[Resource] = []
    for module in steps.ORDER if modules is None else modules:
        nodes.extend(module.resources(ctx))
    ids = {node_id(r) for r in nodes}
    by_step: dict[str, set[str]] = {}
    for resource in nodes:
        by_step.setdefault(resource.step, set()).add(node_id(resource))

    def resolve(names: tuple[str, ...], own: str) -> set[str]:
        """A need names a node (`step.key`) or a whole step (every node of it)."""
        found: set[str] = set()
        for name in names:
            if name in ids:
                found.add(name)
            elif name in by_step:
                found |= by_step[name]
            else:
                raise GatewayProxyError(f"{own} needs {name}, which no step declares")
        return found - {own}

    def bare(need: str) -> str:
        return need.removesuffix(EXISTS).removesuffix(AFTER)

    needs = {node_id(r): resolve(tuple(bare(n) for n in r.needs), node_id(r)) for r in nodes}
    early = {node_id(r): resolve(tuple(n.removesuffix(EXISTS) for n in r.needs
                                       if n.endswith(EXISTS)), node_id(r)) for r in nodes}
    readers: dict[str, set[str]] = {nid: set() for nid in needs}
    for nid, deps in needs.items():
        for dep in deps:
            readers[dep].add(nid)
    def only_ordered(resource: Resource) -> set[str]:
        """Its `after` needs that it does not also read."""
        own = node_id(resource)
        ordered = resolve(tuple(bare(n) for n in resource.needs if n.endswith(AFTER)), own)
        return ordered - resolve(tuple(bare(n) for n in resource.needs
                                       if not n.endswith(AFTER)), own)

    ordered_only = {node_id(r): only_ordered(r) for r in nodes}
    return Graph(nodes, needs, readers, early, ordered_only)


def retire_after(graph: Graph, resource: Resource) -> set[str]:
    """What must converge in `up` before this (unwanted) node, or its leftovers, may go."""
    ids = graph.by_id()
    found: set[str] = set()
    for name in resource.retire_after:
        found |= {nid for nid, r in ids.items() if nid == name or r.step == name}
    return found - {node_id(resource)}

