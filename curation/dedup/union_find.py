"""Connected components of a small edge list in one process (union-find with path compression).

Used on the driver by the Spark dedup stage when the edge set is small, and by the in-process
dedup of ``curation/dedup/local.py``.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import TypeVar

Node = TypeVar("Node", bound=Hashable)


def union_find(edges: Iterable[tuple[Node, Node]]) -> dict[Node, Node]:
    """node -> smallest node of its component, for every node on an edge."""
    parent: dict[Node, Node] = {}

    def find(x: Node) -> Node:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    for u, v in edges:
        parent.setdefault(u, u)
        parent.setdefault(v, v)
        ru, rv = find(u), find(v)
        if ru != rv:  # the smaller id becomes the root, so the root is the component's minimum
            if rv < ru:
                ru, rv = rv, ru
            parent[rv] = ru
    return {x: find(x) for x in parent}
