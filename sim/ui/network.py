"""The traders' social graph as Mesa's network space: a bounded, connected sample of retail traders
(with their ties) and the whales, nodes coloured by margin health."""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import altair as alt
import networkx as nx
import numpy as np
from mesa.discrete_space import Network

from sim.ui.vega import records, vega_spec
from sim.ui.window import (
    CHART_HEIGHT,
    CHART_WIDTH,
    NEAR,
    NETWORK_SAMPLE,
    RECENT,
    STATE_COLOURS,
    STATES,
)

if TYPE_CHECKING:
    from sim.market import MarketModel
    from sim.ui.watch import RunWatch


@dataclass(frozen=True)
class NetworkSample:
    """The drawn part of the social graph: Mesa ``Network`` plus arrays aligned with its nodes."""

    space: Network
    keys: list[Any]
    x: np.ndarray
    y: np.ndarray
    accounts: list[np.ndarray]
    whale: np.ndarray
    edges: list[dict[str, float]]
    population: int


def sample_nodes(graph: nx.Graph, size: int, rng: np.random.Generator) -> list[int]:
    """Up to ``size`` nodes grown breadth-first from random starts: a connected slice of the graph."""
    nodes = list(graph.nodes)
    if len(nodes) <= size:
        return nodes
    chosen: dict[int, None] = {}
    while len(chosen) < size:
        start = int(nodes[rng.integers(len(nodes))])
        if start in chosen:
            continue
        chosen[start] = None
        for _, node in nx.bfs_edges(graph, start):
            if len(chosen) >= size:
                break
            chosen.setdefault(node, None)
    return list(chosen)


def trader_network(model: MarketModel, size: int = NETWORK_SAMPLE) -> NetworkSample:
    """A Mesa ``Network`` of a bounded sample of retail traders (with their ties) and the whales.

    Whales are not in the social graph; they are drawn apart, in a row above it. The sample and
    layout use their own random stream, so drawing never changes the model's.
    """
    rng = np.random.default_rng([model.seed, 7])
    social = model.network.graph
    slots = sample_nodes(social, size, rng)
    graph = social.subgraph(slots).copy()
    layout = nx.spring_layout(graph, seed=int(rng.integers(2**31)), iterations=40) if len(graph) else {}
    xs = np.array([p[0] for p in layout.values()]) if layout else np.array([0.0])
    ys = np.array([p[1] for p in layout.values()]) if layout else np.array([0.0])
    top = ys.max() + 0.3 * max(np.ptp(ys), 0.5)
    count = len(model.whales)
    for i in range(count):
        key = f"whale {i + 1}"
        graph.add_node(key)
        layout[key] = (xs.min() + (i + 1) * np.ptp(xs) / (count + 1), top)
    space = Network(graph, capacity=1, random=random.Random(int(rng.integers(2**31))), layout=layout)
    keys, x, y, accounts, whale = [], [], [], [], []
    for cell in space.all_cells:
        keys.append(cell.coordinate)
        x.append(float(cell.position[0]))
        y.append(float(cell.position[1]))
        is_whale = isinstance(cell.coordinate, str)
        whale.append(is_whale)
        if is_whale:
            accounts.append(np.asarray(model.whales[int(cell.coordinate.split()[1]) - 1].accounts))
        else:
            accounts.append(np.asarray([model.retail.account[cell.coordinate]]))
    edges = [{"x": layout[a][0], "y": layout[a][1], "x2": layout[b][0], "y2": layout[b][1]}
             for a, b in graph.edges]
    return NetworkSample(space, keys, np.array(x), np.array(y), accounts, np.array(whale), edges,
                         len(model.retail))



def network_data(model: MarketModel, watch: RunWatch, sample: NetworkSample) -> tuple[dict[str, list], dict[str, int]]:
    """Each drawn node's state: no position, healthy, near liquidation (within NEAR of the mark),
    or liquidated within the last RECENT steps; a whale takes its worst account's state."""
    ex = model.exchange
    flat_accounts = np.concatenate(sample.accounts)
    owner = np.repeat(np.arange(len(sample.accounts)), [len(a) for a in sample.accounts])
    lots = ex.lots[flat_accounts]
    price = ex.liquidation_price(flat_accounts)
    with np.errstate(invalid="ignore"):
        near = (lots != 0) & (np.abs(price / ex.mark - 1.0) <= NEAR)
    liquidated = watch.last_liquidated[flat_accounts] >= model.record.measures["step"] - RECENT
    code = np.where(liquidated, 3, np.where(near, 2, np.where(lots != 0, 1, 0)))
    state = np.zeros(len(sample.accounts), dtype=np.int64)
    np.maximum.at(state, owner, code)
    names = np.array(STATES, dtype=object)[state]
    nodes = records(x=sample.x, y=sample.y, state=names, whale=sample.whale, size=np.where(sample.whale, 420, 45),
                    node=np.array([str(k) for k in sample.keys], dtype=object))
    counts = {name: int((state == i).sum()) for i, name in enumerate(STATES)}
    return {"nodes": nodes}, counts


@cache
def network_chart() -> dict[str, Any]:
    axis = alt.Axis(title=None, labels=False, ticks=False, grid=False, domain=False)
    edges = alt.Chart(alt.NamedData("edges")).mark_rule(color="#b0b0b0", opacity=0.6, strokeWidth=0.7).encode(
        x=alt.X("x:Q", axis=axis, scale=alt.Scale(zero=False, nice=False)), y=alt.Y("y:Q", axis=axis,
                                                                                   scale=alt.Scale(zero=False, nice=False)),
        x2="x2:Q", y2="y2:Q")
    nodes = alt.Chart(alt.NamedData("nodes")).mark_point(filled=True, opacity=0.95, stroke="#333333",
                                                          strokeWidth=0.4).encode(
        x="x:Q", y="y:Q",
        color=alt.Color("state:N", scale=STATE_COLOURS, title=None, legend=alt.Legend(orient="right")),
        size=alt.Size("size:Q", scale=None, legend=None),
        shape=alt.Shape("whale:N", scale=alt.Scale(domain=[False, True], range=["circle", "diamond"]), legend=None),
        tooltip=["node:N", "state:N"])
    return vega_spec(alt.layer(edges, nodes).properties(width=CHART_WIDTH - 120, height=CHART_HEIGHT + 10)
                     .configure_view(stroke=None))


def network_spec(sample: NetworkSample) -> dict[str, Any]:
    """The network chart with this sample's edges built in: they do not change while the model runs."""
    return {**network_chart(), "datasets": {"edges": sample.edges}}
