"""How fast the browser UI steps: the baseline config with every view rendered after each step.

No browser: solara renders the app in this process and the Step button is clicked, so each step
costs what it costs the server (the model's step, every view's data, reacton's update of the
widgets). Measured at the start of a run and again after a day of history, to show that the views
draw from bounded windows and do not slow down as the run grows. The model alone is timed too.

Results are printed and a dated line is appended to benchmarks/results.md.

    python benchmarks/ui_bench.py [--steps 300] [--history 1440]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import os
import time
from pathlib import Path

os.environ.setdefault("TIERLAB_UI_CONFIG", str(Path(__file__).resolve().parents[1] / "configs" / "baseline.yaml"))

import ipyvuetify as v
import solara

from sim.ui import app as ui
from sim.ui.controls import config_path

RESULTS = Path(__file__).with_name("results.md")


def rates(action, count: int) -> tuple[float, float]:
    """Run ``action`` ``count`` times: per second of wall time, and per second of this process's CPU
    time (the figure that other load on the machine does not change)."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        action()
    return count / (time.perf_counter() - wall), count / (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="steps timed in each measurement")
    parser.add_argument("--history", type=int, default=1440, help="steps run unrendered before the second measurement")
    args = parser.parse_args()

    with contextlib.redirect_stdout(io.StringIO()):
        _, rc = solara.render(solara.AppLayout(children=[ui.page]), handle_error=False)
    step = rc.find(v.Btn, children=["Step"]).widget.click
    start = rates(step, args.steps)
    for _ in range(args.history):
        ui.model.step()
    later = rates(step, args.steps)
    alone = rates(ui.VisualMarket().step, args.steps)
    print(f"config {config_path()}: {ui.model.config.retail.count:,} retail traders, {len(ui.VIEWS)} views")
    print("steps/s (wall clock | per CPU second)")
    print(f"  UI, every view rendered each step, steps 1-{args.steps}: {start[0]:6.1f} | {start[1]:6.1f}")
    print(f"  UI, the same after {ui.model.steps - args.steps:,} steps of history:   {later[0]:6.1f} | {later[1]:6.1f}")
    print(f"  model alone, no view:                        {alone[0]:6.1f} | {alone[1]:6.1f}")
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    with RESULTS.open("a") as results:
        results.write(f"- {stamp} UI benchmark: baseline, every view rendered each step: {start[0]:.1f} steps/s "
                      f"(steps 1-{args.steps}), {later[0]:.1f} after {ui.model.steps - args.steps:,} steps of "
                      f"history; model alone {alone[0]:.1f} steps/s; load average {os.getloadavg()[0]:.2f}\n")
    print(f"appended to {RESULTS}")


if __name__ == "__main__":
    main()
