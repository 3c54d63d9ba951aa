"""The traders' social graph over retail traders, grown as traders arrive: a small world (mostly local
ties, a few long ones) or a scale-free graph (preferential attachment: a few influencers followed by
many).

The networkx graph is the record (for the UI and for analysis); a padded neighbour table beside it
lets the model read every herding trader's neighbours in one numpy operation.
"""

from __future__ import annotations

import networkx as nx
import numpy as np


class SocialGraph:
    """Who follows whom among retail traders; node ``i`` is the trader in population slot ``i``."""

    def __init__(self, count: int, degree: int, rewire: float, rng: np.random.Generator,
                 kind: str = "small_world"):
        self.degree = degree
        self.rng = rng
        self.kind = kind
        k = min(degree, max(count - 1, 0))
        if kind == "scale_free" and count > max(degree // 2, 1):
            self.graph = nx.barabasi_albert_graph(count, max(degree // 2, 1), seed=int(rng.integers(2**32)))
        elif kind == "small_world" and k >= 2:
            self.graph = nx.watts_strogatz_graph(count, k, rewire, seed=int(rng.integers(2**32)))
        else:
            self.graph = nx.empty_graph(count)
        width = max((d for _, d in self.graph.degree()), default=0)
        self._table = np.full((count, max(width, 1)), -1, dtype=np.int64)
        self._width = np.zeros(count, dtype=np.int64)
        self._n = count
        for node, friends in self.graph.adjacency():
            row = list(friends)
            self._table[node, : len(row)] = row
            self._width[node] = len(row)

    def __len__(self) -> int:
        return self._n

    def _reserve(self, rows: int, columns: int) -> None:
        """Grow the table (by doubling) to hold ``rows`` nodes of up to ``columns`` neighbours."""
        old_rows, old_columns = self._table.shape
        if rows <= old_rows and columns <= old_columns:
            return
        new_rows = max(old_rows, rows) if rows <= old_rows else max(2 * old_rows, rows)
        new_columns = max(old_columns, columns) if columns <= old_columns else max(2 * old_columns, columns)
        table = np.full((new_rows, new_columns), -1, dtype=np.int64)
        table[:old_rows, :old_columns] = self._table
        width = np.zeros(new_rows, dtype=np.int64)
        width[:old_rows] = self._width
        self._table, self._width = table, width

    def _link(self, a: int, b: int) -> None:
        for node, other in ((a, b), (b, a)):
            self._reserve(self._n, int(self._width[node]) + 1)
            self._table[node, self._width[node]] = other
            self._width[node] += 1

    def add(self, count: int) -> np.ndarray:
        """Add ``count`` newly arrived traders, each following ``degree // 2`` earlier ones: chosen at
        random in a small world, in proportion to how many already follow them in a scale-free graph."""
        start = self._n
        nodes = np.arange(start, start + count)
        self._reserve(start + count, self._table.shape[1])
        self._n += count
        for node in nodes.tolist():
            self.graph.add_node(node)
            if node == 0:
                continue
            size = min(max(self.degree // 2, 1), node)
            if self.kind == "scale_free":
                weights = self._width[:node] + 1.0
                links = self.rng.choice(node, size=size, replace=False, p=weights / weights.sum())
            else:
                links = self.rng.choice(node, size=size, replace=False)
            for other in links.tolist():
                self.graph.add_edge(node, other)
                self._link(node, other)
        return nodes

    def neighbours(self, node: int) -> np.ndarray:
        """The node's neighbours."""
        return self._table[node, : self._width[node]]

    def sentiment(self, nodes: np.ndarray, value: np.ndarray) -> np.ndarray:
        """Sign of the sum of ``value`` over each node's neighbours (``value`` indexed by node)."""
        friends = self._table[nodes]
        summed = np.where(friends >= 0, value[np.maximum(friends, 0)], 0).sum(axis=1)
        return np.sign(summed).astype(np.int64)
