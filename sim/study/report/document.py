"""The report as blocks (headings, text, tables, figures), written as Markdown and as one
self-contained HTML page."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Text:
    text: str


@dataclass
class Table:
    frame: pd.DataFrame
    caption: str = ""


@dataclass
class Figure:
    path: Path
    caption: str


type Block = Heading | Text | Table | Figure


def to_markdown(blocks: list[Block], root: Path) -> str:
    """The report as Markdown; figures linked relative to ``root``."""
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            lines += ["#" * block.level + " " + block.text, ""]
        elif isinstance(block, Text):
            lines += [block.text, ""]
        elif isinstance(block, Table):
            frame = block.frame.astype(str).map(lambda cell: cell.replace("|", "\\|"))
            if block.caption:
                lines += [f"*{block.caption}*", ""]
            lines.append("| " + " | ".join(str(column).replace("|", "\\|") for column in frame.columns) + " |")
            lines.append("|" + "---|" * len(frame.columns))
            lines += ["| " + " | ".join(row) + " |" for row in frame.itertuples(index=False)]
            lines.append("")
        else:
            lines += [f"![{block.caption}]({block.path.relative_to(root).as_posix()})", "", f"*{block.caption}*", ""]
    return "\n".join(lines)


HTML_STYLE = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:3px 7px;
text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}img{max-width:100%}
figcaption,caption{font-style:italic;color:#555;text-align:left;margin:.3em 0}code{background:#f5f5f5}"""


def to_html(blocks: list[Block], title: str) -> str:
    """The report as one self-contained HTML page: figures embedded as base64 PNG."""
    import base64
    import html

    head = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{HTML_STYLE}</style></head><body>")
    parts = [head]
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(f"<h{block.level}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Text):
            parts.append(f"<p>{html.escape(block.text)}</p>")
        elif isinstance(block, Table):
            table = block.frame.to_html(index=False, escape=True, border=0)
            if block.caption:
                table = table.replace(">", f"><caption>{html.escape(block.caption)}</caption>", 1)
            parts.append(table)
        else:
            data = base64.b64encode(block.path.read_bytes()).decode("ascii")
            parts.append(f"<figure><img alt='{html.escape(block.caption)}' src='data:image/png;base64,{data}'>"
                         f"<figcaption>{html.escape(block.caption)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)
