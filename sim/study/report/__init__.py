"""Sweep reports: statistics by arm, paired differences, sensitivity, figures, Markdown and HTML."""

from sim.study.report.report import SweepReport, write_report
from sim.study.report.results import SweepResults, read_results

__all__ = ["SweepReport", "SweepResults", "read_results", "write_report"]
