"""How measures are named and printed for people: the run summary's table, report labels, numbers."""

from __future__ import annotations

import numpy as np

SUMMARY_LINES = (
    ("liquidations", "liquidation_count", "{:,.0f}"),
    ("liquidated notional (USD)", "liquidation_notional", "{:,.0f}"),
    ("cascades", "cascade_count", "{:,.0f}"),
    ("largest cascade (USD)", "largest_cascade_notional", "{:,.0f}"),
    ("mean amplification", "mean_amplification", "{:.2f}"),
    ("max drawdown of mark", "max_drawdown", "{:.2%}"),
    ("max drawdown of index", "index_max_drawdown", "{:.2%}"),
    ("max drawdown of fundamental", "fundamental_max_drawdown", "{:.2%}"),
    ("drawdown amplification", "drawdown_amplification", "{:.3f}"),
    ("largest |basis|", "max_abs_basis", "{:.2%}"),
    ("peak HHI (accounts)", "peak_hhi_accounts", "{:.3f}"),
    ("peak HHI (entities)", "peak_hhi_entities", "{:.3f}"),
    ("mean whale share", "mean_whale_share", "{:.1%}"),
    ("bad debt (USD)", "bad_debt", "{:,.0f}"),
    ("insurance fund low (USD)", "insurance_fund_low", "{:,.0f}"),
    ("ADL events", "adl_count", "{:,.0f}"),
)


def format_summary(summary: dict[str, float]) -> str:
    """The terminal table: a short, aligned list of the headline measures."""
    width = max(len(label) for label, _, _ in SUMMARY_LINES)
    lines = []
    for label, key, fmt in SUMMARY_LINES:
        value = summary.get(key, float("nan"))
        lines.append(f"  {label:<{width}}  {fmt.format(value)}")
    return "\n".join(lines)

MORE_LABELS = {"mean_hhi_entities": "mean HHI (entities)", "mean_hhi_accounts": "mean HHI (accounts)",
               "mean_top10_share": "mean top-10 share", "peak_whale_share": "peak whale share"}


def measure_label(key: str) -> str:
    """A measure's name for people: the run summary's label where it has one, else the key."""
    found = next((label for label, name, _ in SUMMARY_LINES if name == key), None)
    return found or MORE_LABELS.get(key, key.replace("_", " "))


def format_value(key: str, value: float, millions: bool | None = None, fmt: str | None = None) -> str:
    """A measure's value as the run summary prints it (or in ``fmt``); amounts in USD in millions when
    large (or when ``millions`` says so, to keep one unit across a mean and its interval)."""
    if value is None or not np.isfinite(value):
        return "n/a" if value is None or np.isnan(value) else ("inf" if value > 0 else "-inf")
    fmt = fmt or next((f for _, name, f in SUMMARY_LINES if name == key), "{:.4g}")
    if fmt == "{:,.0f}" and (abs(value) >= 1e5 if millions is None else millions):
        text = f"{value / 1e6:,.2f}M"
    else:
        text = fmt.format(value)
    return text.removeprefix("-") if text.startswith("-") and not any(c in "123456789" for c in text) else text


def format_interval(key: str, mean: float, low: float, high: float, fmt: str | None = None) -> str:
    """``mean [low, high]`` in one unit; the mean alone when there is no interval (fewer than two values)."""
    if not np.isfinite(low) or not np.isfinite(high):
        return format_value(key, mean, fmt=fmt)
    millions = max(abs(mean), abs(low), abs(high)) >= 1e5
    return (f"{format_value(key, mean, millions, fmt)} [{format_value(key, low, millions, fmt)}, "
            f"{format_value(key, high, millions, fmt)}]")
