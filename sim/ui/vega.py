"""A Vega-Lite view for the browser UI that is drawn once and then fed new data each step.

``solara.FigureAltair`` rebuilds the Altair chart and re-embeds the whole view on every change
(about 30 ms of Python per chart, and a debounce that freezes charts updated faster than 10 times a
second). Here each chart is an Altair template turned into a Vega-Lite dict once; a step sends only
the named datasets, which the browser swaps into the live view (``view.data(name, values)``).
Both travel as JSON text: reacton walks every list and dict in an element's arguments looking for
child elements, which for thousands of data rows costs more than the step itself.
The JavaScript comes from solara's local asset cache, in the versions ``ui_assets.VEGA`` installs.
"""

from __future__ import annotations

import json
from typing import Any

import altair as alt
import ipyvuetify as v
import numpy as np
import traitlets

from sim.ui.assets import VEGA

TEMPLATE = r"""
<template>
  <div class="tierlab-vega"><div ref="plot"></div></div>
</template>
<script>
module.exports = {
  created() {
    this.embedSoon = _.debounce(() => this.embed(), 30);
    this.updateSoon = _.throttle(() => this.update(), 100, {leading: true, trailing: true});
  },
  mounted() {
    this.embedSoon();
  },
  destroyed() {
    this.gone = true;
    this.embedSoon.cancel();
    this.updateSoon.cancel();
    if (this.view) {
      this.view.finalize();
    }
  },
  watch: {
    spec_json() {
      this.embedSoon();
    },
    datasets_json() {
      this.updateSoon();
    },
  },
  methods: {
    cdn() {
      return this.cdn_url || window.solara.cdn;
    },
    loadVega() {
      if (!window.tierlabVega) {
        const cdn = this.cdn();
        require.config({
          map: {
            '*': {
VEGA_PATHS
            },
          },
        });
        window.tierlabVega = new Promise((resolve, reject) => {
          require(['vega', 'vega-lite', 'vega-embed'], (vega, vl, vegaEmbed) => resolve(vegaEmbed), reject);
        });
      }
      return window.tierlabVega;
    },
    async embed() {
      const vegaEmbed = await this.loadVega();
      if (this.gone || !this.$refs.plot) {
        return;
      }
      const shown = this.datasets_json;
      const spec = JSON.parse(this.spec_json);
      spec.datasets = {...(spec.datasets || {}), ...JSON.parse(shown)};
      const result = await vegaEmbed(this.$refs.plot, spec, {renderer: 'svg', actions: false, logLevel: 1});
      if (this.gone) {
        result.view.finalize();
        return;
      }
      if (this.view) {
        this.view.finalize();
      }
      this.view = result.view;
      if (shown !== this.datasets_json) {
        this.update();
      }
    },
    async update() {
      if (!this.view || this.gone) {
        return;
      }
      const datasets = JSON.parse(this.datasets_json);
      for (const name of Object.keys(datasets)) {
        this.view.data(name, datasets[name]);
      }
      await this.view.runAsync();
    },
  },
};
</script>
""".replace("VEGA_PATHS\n", "".join(
    f"              '{package}': `${{cdn}}/{package}@{version}/build/{package}.min.js`,\n"
    for package, version in VEGA.items()))


class VegaView(v.VuetifyTemplate):
    """A Vega-Lite chart: ``spec_json`` holds its structure (sent once), ``datasets_json`` its data
    (a JSON object of named row lists, sent each step)."""

    template = traitlets.Unicode(TEMPLATE).tag(sync=True)
    spec_json = traitlets.Unicode("{}").tag(sync=True)
    datasets_json = traitlets.Unicode("{}").tag(sync=True)
    cdn_url = traitlets.Unicode(None, allow_none=True).tag(sync=True)


def vega_spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """An Altair chart as a Vega-Lite dict for the browser's vega-lite@5 (no v6 ``$schema`` stamp)."""
    spec = chart.to_dict()
    spec.pop("$schema", None)
    return spec


def to_json(value: Any) -> str:
    """Compact JSON for the browser; NaN or infinity is an error (``records`` turns them into null)."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def records(**columns: Any) -> list[dict[str, Any]]:
    """Rows for the browser from equal-length columns; NaN and infinities become null (valid JSON)."""
    names = list(columns)
    values = []
    for name in names:
        column = np.asarray(columns[name])
        if column.dtype.kind == "f" and not np.isfinite(column).all():
            column = np.where(np.isfinite(column), column, None)
        values.append(column.tolist())
    return [dict(zip(names, row)) for row in zip(*values)]


def thin(n: int, most: int) -> np.ndarray:
    """Indices of at most ``most`` evenly spaced points out of ``n``, always keeping the last."""
    if n <= most:
        return np.arange(n)
    stride = -(-n // most)
    return np.arange(n - 1, -1, -stride)[::-1]
