"""The traders' social graph over retail traders, grown as traders arrive: a small world (mostly local
ties, a few long ones) or a scale-free graph (preferential attachment: a few influencers followed by
many).

A padded neighbour table lets the model read every herding trader's neighbours in one numpy
operation. The networkx graph (for the UI and for analysis) is the same graph; a small world's is
built only when first asked for, since networkx takes some ten seconds for a million traders: the
table comes from ``small_world``, networkx's own algorithm on the same random stream.
"""

from __future__ import annotations

import random

import networkx as nx
import numpy as np

from sim.jit import compiled


def small_world(n: int, k: int, p: float, seed: int) -> list[list[int]]:
    """Each node's neighbours, in order, of ``networkx.watts_strogatz_graph(n, k, p, seed)``.

    The same steps on the same ``random.Random(seed)``: a ring where each node is tied to its k // 2
    nearest on either side, then each tie (u, u + j), j = 1 .. k // 2 in turn and u in order, rewired
    with probability p to a random node that is neither u nor already tied to it. Needs 2 <= k < n.
    """
    rng = random.Random(seed)
    nodes = range(n)
    order = np.arange(n)
    neighbours = np.empty((n, 2 * (k // 2)), dtype=np.int64)
    for j in range(1, k // 2 + 1):
        # node x is tied to x - j and to x + j; networkx adds the pair (u, u + j) for u = 0, 1, ...,
        # so x meets x - j first unless x - j wraps round past the end
        before, after = (order - j) % n, (order + j) % n
        first = np.where(order >= j, before, after)
        neighbours[:, 2 * j - 2], neighbours[:, 2 * j - 1] = first, np.where(order >= j, after, before)
    adjacency = neighbours.tolist()
    draw, choose = rng.random, rng.choice
    for j in range(1, k // 2 + 1):
        for u in nodes:
            if draw() < p:
                ties = adjacency[u]
                w = choose(nodes)
                while w == u or w in ties:
                    w = choose(nodes)
                    if len(ties) >= n - 1:
                        break
                else:
                    v = (u + j) % n
                    ties.remove(v)
                    adjacency[v].remove(u)
                    ties.append(w)
                    adjacency[w].append(u)
    return adjacency


class SocialGraph:
    """Who follows whom among retail traders; node ``i`` is the trader in population slot ``i``."""

    def __init__(self, count: int, degree: int, rewire: float, rng: np.random.Generator,
                 kind: str = "small_world"):
        self.degree = degree
        self.rng = rng
        self.kind = kind
        k = min(degree, max(count - 1, 0))
        self._graph: nx.Graph | None = None
        self._arrivals: list[tuple[int, list[int]]] = []      # each arrival's new ties, in order
        if kind == "scale_free" and count > max(degree // 2, 1):
            self._graph = nx.barabasi_albert_graph(count, max(degree // 2, 1), seed=int(rng.integers(2**32)))
            adjacency = [list(friends) for _, friends in self._graph.adjacency()]
            self._recipe = None
        elif kind == "small_world" and k >= 2:
            seed = int(rng.integers(2**32))
            adjacency = small_world(count, k, rewire, seed)
            self._recipe = (count, k, rewire, seed)
        else:
            adjacency = [[] for _ in range(count)]
            self._recipe = (count, 0, 0.0, 0)
        self._width = np.array([len(friends) for friends in adjacency], dtype=np.int64)
        self._table = np.full((count, max(int(self._width.max(initial=0)), 1)), -1, dtype=np.int64)
        rows = np.repeat(np.arange(count), self._width)
        columns = np.arange(len(rows)) - np.repeat(np.cumsum(self._width) - self._width, self._width)
        self._table[rows, columns] = [friend for friends in adjacency for friend in friends]
        self._n = count

    @property
    def graph(self) -> nx.Graph:
        """The graph as networkx holds it (built on first use for a small world or no ties: networkx's
        own generator on the same seed, then the arrivals' ties in the order they were made)."""
        if self._graph is None:
            count, k, rewire, seed = self._recipe
            graph = nx.watts_strogatz_graph(count, k, rewire, seed=seed) if k else nx.empty_graph(count)
            for node, links in self._arrivals:
                graph.add_node(node)
                graph.add_edges_from((node, other) for other in links)
            self._graph = graph
        return self._graph

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
            column = int(self._width[node])
            if column >= self._table.shape[1]:
                self._reserve(self._n, column + 1)
            self._table[node, column] = other
            self._width[node] = column + 1

    def add(self, count: int) -> np.ndarray:
        """Add ``count`` newly arrived traders, each following ``degree // 2`` earlier ones: chosen at
        random in a small world, in proportion to how many already follow them in a scale-free graph."""
        start = self._n
        nodes = np.arange(start, start + count)
        self._reserve(start + count, self._table.shape[1])
        self._n += count
        for node in nodes.tolist():
            links = []
            if node > 0:
                size = min(max(self.degree // 2, 1), node)
                if self.kind == "scale_free":
                    weights = self._width[:node] + 1.0
                    links = self.rng.choice(node, size=size, replace=False, p=weights / weights.sum()).tolist()
                else:
                    links = self.rng.choice(node, size=size, replace=False).tolist()
            for other in links:
                self._link(node, other)
            self._arrivals.append((node, links))
            if self._graph is not None:
                self._graph.add_node(node)
                self._graph.add_edges_from((node, other) for other in links)
        return nodes

    def neighbours(self, node: int) -> np.ndarray:
        """The node's neighbours."""
        return self._table[node, : self._width[node]]

    def sentiment(self, nodes: np.ndarray, value: np.ndarray) -> np.ndarray:
        """Sign of the sum of ``value`` (whole numbers, indexed by node) over each node's neighbours."""
        return neighbours_sign(np.asarray(nodes, dtype=np.int64), self._table, self._width,
                               np.asarray(value, dtype=np.int64))


@compiled("int64[:](int64[:], int64[:, :], int64[:], int64[:])")
def neighbours_sign(nodes: np.ndarray, table: np.ndarray, width: np.ndarray, value: np.ndarray) -> np.ndarray:
    """``SocialGraph.sentiment`` in one compiled pass: each node's neighbours' values summed (whole
    numbers: exact in any order), then signed."""
    signs = np.empty(len(nodes), np.int64)
    for i in range(len(nodes)):
        node = nodes[i]
        total = 0
        for j in range(width[node]):
            total += value[table[node, j]]
        signs[i] = (total > 0) - (total < 0)
    return signs
