"""Studies built on the model: one run into a folder, sweeps of many runs, and their reports."""
