"""Sweeps: a sweep file -> many seeded runs on local processes or a Dask cluster, resumable.

``plan`` expands the file into arms x seeds, ``attempt`` runs one, ``executors`` say where,
``resume`` keeps the folder that makes a rerun do only what is missing, ``sweep`` drives it all.
"""

from sim.study.sweep.plan import Arm, Plan, PlannedRun, plan_sweep, sweep_file
from sim.study.sweep.resume import SweepFolder, open_folder
from sim.study.sweep.sweep import Tally, run_sweep

__all__ = ["Arm", "Plan", "PlannedRun", "SweepFolder", "Tally", "open_folder", "plan_sweep", "run_sweep",
           "sweep_file"]
