"""Progress: a bar on a terminal; in a log (nohup, a batch scheduler, ``> log 2>&1``) plain lines
every 5 % and at the end, with no carriage return or escape code."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sim.study.progress import Progress

ROOT = Path(__file__).resolve().parents[1]
TIERLAB = Path(sys.executable).with_name("tierlab")
PLAIN = re.compile(r"[ -~]*")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_a_line_every_five_percent_and_at_the_end(monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    with Progress(40, "day", "step") as shown:
        for _ in range(40):
            shown.advance()
    lines = log.getvalue().splitlines()
    assert len(lines) == 20
    assert lines[0].startswith("day: 2/40 steps (5 %), ") and "steps/min" in lines[0] and "left" in lines[0]
    assert lines[-1].startswith("day: 40/40 steps (100 %), ") and "left" not in lines[-1]


def test_a_stopped_job_logs_where_it_stopped_and_counts_failures(monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    with Progress(100, "sweep", "run", initial=10, failures=True) as shown:
        for failed in (True, False, False):
            shown.advance(failed=failed)
        shown.note("interrupted")
    assert log.getvalue().splitlines() == ["interrupted", log.getvalue().splitlines()[-1]]
    assert log.getvalue().splitlines()[-1].startswith("sweep: 13/100 runs (13 %), 1 failed, ")


def test_a_terminal_gets_a_bar_and_no_lines(monkeypatch):
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    with Progress(40, "day", "step") as shown:
        for _ in range(40):
            shown.advance()
    assert "\r" in screen.getvalue() and "40/40" in screen.getvalue()
    assert "steps/min," not in screen.getvalue()


def test_disabled_progress_writes_nothing(monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    with Progress(40, "day", "step", enabled=False) as shown:
        shown.advance()
    assert log.getvalue() == ""


@pytest.mark.parametrize("command", [["sweep", "experiments/smoke.yaml", "--workers", "1"],
                                     ["run", "configs/baseline.yaml", "--steps", "60", "--set", "retail.count=50"]],
                         ids=["sweep", "run"])
def test_a_command_logged_to_a_file_writes_plain_lines(command, tmp_path):
    log = tmp_path / "log"
    with log.open("w") as handle:
        done = subprocess.run([str(TIERLAB), *command, "--out", str(tmp_path / "out")], cwd=ROOT,
                              stdin=subprocess.DEVNULL, stdout=handle, stderr=handle, check=False)
    text = log.read_text()
    assert done.returncode == 0, text
    assert "\r" not in text and "\x1b" not in text
    assert all(PLAIN.fullmatch(line) for line in text.splitlines()), text
    unit = "runs" if command[0] == "sweep" else "steps"
    total = 4 if command[0] == "sweep" else 60
    assert re.search(rf"^\w+: {total}/{total} {unit} \(100 %\), ", text, re.MULTILINE), text
