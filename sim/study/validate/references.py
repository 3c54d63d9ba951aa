"""What the real market shows, as data: each figure the validation reports, the experiment it is read
from, the reference value or range with its source, and the rule that says "within".

The references come from the literature and market data named beside them; they are never set
from the model's output. A reference without a range is shown for context and not judged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

RULE = ("Verdict: within when the model's mean over seeds lies in the reference range (bounds included, "
        "except where the reference says 'above' or 'below'), outside when it does not; n/a: no value (e.g. "
        "no liquidation in the runs); -: a figure shown for context, with nothing to check it against. "
        "Beside it, where the 95 % interval lies: all inside the range, across a bound (the seeds run do not "
        "settle the verdict), or all outside.")

CRASH_WINDOW_MINUTES = 40   # Amberdata counted 70 % of 10 October 2025's liquidations inside 40 minutes
CRASH_WINDOW_SLACK = 5      # minutes after them still counted: the last forced closes trail the fall


@dataclass(frozen=True)
class Reference:
    """A figure of the real market: in words, as a range where there is one, and where it comes from."""

    text: str
    source: str
    low: float | None = None
    high: float | None = None
    strict: bool = False  # the bounds themselves lie outside ("above 0.05")

    @property
    def checked(self) -> bool:
        return self.low is not None or self.high is not None

    def verdict(self, value: float) -> str:
        """'within', 'outside', 'n/a' for a missing value, '-' when there is nothing to check."""
        if not self.checked:
            return "-"
        if not math.isfinite(value):
            return "n/a"
        low = -math.inf if self.low is None else self.low
        high = math.inf if self.high is None else self.high
        return "within" if self._inside(value, low, high) else "outside"

    def _inside(self, value: float, low: float, high: float) -> bool:
        return low < value < high if self.strict else low <= value <= high

    def interval_verdict(self, low: float, high: float) -> str:
        """Where an interval lies: 'all inside' the range, 'across a bound', 'all outside'; 'n/a'
        without an interval, '-' when there is nothing to check."""
        if not self.checked:
            return "-"
        if not (math.isfinite(low) and math.isfinite(high)):
            return "n/a"
        bottom = -math.inf if self.low is None else self.low
        top = math.inf if self.high is None else self.high
        if self._inside(low, bottom, top) and self._inside(high, bottom, top):
            return "all inside"
        below_or_at = high < bottom or (self.strict and high <= bottom)
        above_or_at = low > top or (self.strict and low >= top)
        return "all outside" if below_or_at or above_or_at else "across a bound"


@dataclass(frozen=True)
class Row:
    """One row of the validation table: a statistic of an experiment's runs (minus the same
    statistic of ``versus`` on the same seed, when set), the fundamental's beside it where the
    statistic is one of prices, and its reference."""

    section: str
    experiment: str
    figure: str
    statistic: str
    reference: Reference
    unit: str = "{:.3g}"
    fundamental: str | None = None
    versus: str | None = None


TAKAISHI_2018 = "Takaishi 2018, arXiv 1707.07618 (Bitcoin, 1-minute returns)"
CONT_TANG = "Cont 2001, Quant. Finance 1(2); Tang et al. 2024, arXiv 2402.11930"
CONT = "Cont 2001, Quant. Finance 1(2)"
CHENG = "Cheng, Deng, Wang & Yu 2021, arXiv 2102.04591 (BitMEX perpetual)"
THURNER = "Thurner, Farmer & Geanakoplos 2012, Quant. Finance 12(5), arXiv 0908.1555"
BTC_DAY = "BTC fell about 14.5 % intraday on 10 Oct 2025, 122.6k to 104.8k USD"

HILL = Reference("about 3; 2.5 to 4", "Takaishi 2021, arXiv 2009.06874; Begušić et al. 2018, arXiv 1803.08405",
                 2.5, 4.0)
KURTOSIS = Reference("large (tens), uncertain; 10 to 100", TAKAISHI_2018, 10.0, 100.0)
AGGREGATION = Reference("falls as returns are aggregated", TAKAISHI_2018)
KURTOSIS_FALL = Reference("above 0: kurtosis(1 min) > kurtosis(60 min)", TAKAISHI_2018, low=0.0, strict=True)
CLUSTERING = Reference("above 0", CONT_TANG, low=0.0, strict=True)
LONG_MEMORY = Reference("above 0.05", CONT_TANG, low=0.05, strict=True)
ACF_SLOPE = Reference("-0.5 to -0.2 (power-law decay)", CONT_TANG, -0.5, -0.2)
NO_PREDICTABILITY = Reference("near 0; -0.1 to 0.05 (slightly negative from bid-ask bounce)", CONT, -0.1, 0.05)
VOLATILITY = Reference("40 % to 55 % a year in calm regimes", "Glassnode 2024-2025", 0.40, 0.55)
LIQUIDATION_SHARE = Reference(
    "0.2 % to 6 % a day",
    "0.2 %: Glassnode x Fasanara, Nov 2025 (about 113 M USD a day against 68 B USD of BTC futures open "
    f"interest); 5.4 %: 3.51 % longs + 1.89 % shorts a day, {CHENG}", 0.002, 0.06)
OPEN_LEVERAGE = Reference(
    "22x to 39x", "BitMEX, 'Leverage Statistics, April 2019' (monthly contract-weighted effective leverage "
    "on XBTUSD, May 2018 - Apr 2019)", 22.0, 39.0)
LIQUIDATED_LEVERAGE = Reference("about 60x; 40x to 80x", CHENG, 40.0, 80.0)
MORE_LEVERED = Reference("above 1: liquidated positions are more levered than open ones (60x against 22-39x)",
                         f"{CHENG}; BitMEX 2019", low=1.0, strict=True)
LEVERED_LEVEL = Reference("see the paired difference", THURNER)
FATTER_KURTOSIS = Reference("above 0: fat tails only with leverage", THURNER, low=0.0, strict=True)
FATTER_HILL = Reference("below 0: fatter tails (a lower exponent) with leverage", THURNER, high=0.0, strict=True)
LONG_SHARE = Reference("84 % to 91 %", "87 % on 10 Oct 2025 (CoinGlass); 84 % (Amberdata); 91 % on 2 Sep 2020",
                       0.84, 0.91)
WINDOW_SHARE = Reference("about 70 %; 50 % to 90 %", "Amberdata, 10 Oct 2025: 70 % of its tally inside 40 minutes",
                         0.50, 0.90)
DRAWDOWN = Reference("the real day for context: about 14.5 %", BTC_DAY)
AMPLIFICATION = Reference("no real counterpart: the real day's exogenous part is not observed", BTC_DAY)

PERCENT = "{:.1%}"
PERCENT_FINE = "{:.2%}"
LEVERAGE = "{:.1f}x"
RETURNS = "mark_"
FUNDAMENTAL = "fundamental_"

SECTIONS = {
    "calm": "Calm day: stylised facts, liquidations and leverage",
    "leverage": "The leverage effect: retail up to 100x against 1x on the same seeds",
    "stress": "An October-2025-shaped stress day",
}


def returns_row(section: str, experiment: str, figure: str, statistic: str, reference: Reference,
                unit: str = "{:.3g}", versus: str | None = None) -> Row:
    """A row of a statistic of returns: the mark's, with the fundamental's beside it."""
    return Row(section, experiment, figure, RETURNS + statistic, reference, unit, FUNDAMENTAL + statistic, versus)


ROWS: tuple[Row, ...] = (
    returns_row("calm", "calm_day", "Hill tail exponent of |1-min returns| (top 2.5 %)", "hill", HILL),
    returns_row("calm", "calm_day", "excess kurtosis of 1-min returns", "kurtosis_1", KURTOSIS),
    returns_row("calm", "calm_day", "excess kurtosis of 5-min returns", "kurtosis_5", AGGREGATION),
    returns_row("calm", "calm_day", "excess kurtosis of 15-min returns", "kurtosis_15", AGGREGATION),
    returns_row("calm", "calm_day", "excess kurtosis of 60-min returns", "kurtosis_60", AGGREGATION),
    returns_row("calm", "calm_day", "excess kurtosis, 1-min minus 60-min", "kurtosis_fall", KURTOSIS_FALL),
    returns_row("calm", "calm_day", "autocorrelation of |returns|, lag 1", "abs_acf_1", CLUSTERING),
    returns_row("calm", "calm_day", "autocorrelation of |returns|, lag 10", "abs_acf_10", CLUSTERING),
    returns_row("calm", "calm_day", "autocorrelation of |returns|, lag 60", "abs_acf_60", LONG_MEMORY),
    returns_row("calm", "calm_day", "log-log slope of the |returns| autocorrelation, lags 1-60", "abs_acf_slope",
                ACF_SLOPE),
    returns_row("calm", "calm_day", "autocorrelation of returns, lag 1", "acf_1", NO_PREDICTABILITY),
    returns_row("calm", "calm_day", "realised volatility, annualised", "volatility", VOLATILITY, PERCENT),
    Row("calm", "calm_day", "liquidated notional / mean open interest, a day", "liquidation_share",
        LIQUIDATION_SHARE, PERCENT_FINE),
    Row("calm", "calm_day", "leverage of open retail positions (contract-weighted)", "open_retail_leverage",
        OPEN_LEVERAGE, LEVERAGE),
    Row("calm", "calm_day", "leverage of liquidated retail positions (notional-weighted)",
        "liquidated_retail_leverage", LIQUIDATED_LEVERAGE, LEVERAGE),
    Row("calm", "calm_day", "liquidated / open retail leverage", "leverage_ratio", MORE_LEVERED, "{:.2f}"),
    returns_row("leverage", "calm_day_100x", "excess kurtosis of 1-min returns, retail up to 100x", "kurtosis_1",
                LEVERED_LEVEL),
    returns_row("leverage", "calm_day_1x", "excess kurtosis of 1-min returns, retail at 1x", "kurtosis_1",
                LEVERED_LEVEL),
    returns_row("leverage", "calm_day_100x", "excess kurtosis, 100x minus 1x (paired by seed)", "kurtosis_1",
                FATTER_KURTOSIS, versus="calm_day_1x"),
    returns_row("leverage", "calm_day_100x", "Hill tail exponent (top 2.5 %), retail up to 100x", "hill",
                LEVERED_LEVEL),
    returns_row("leverage", "calm_day_1x", "Hill tail exponent (top 2.5 %), retail at 1x", "hill", LEVERED_LEVEL),
    returns_row("leverage", "calm_day_100x", "Hill tail exponent, 100x minus 1x (paired by seed)", "hill", FATTER_HILL,
                versus="calm_day_1x"),
    Row("stress", "october_2025", "longs' share of liquidated notional", "long_share", LONG_SHARE, PERCENT),
    Row("stress", "october_2025",
        f"share of the day's liquidated notional in the crash window ({CRASH_WINDOW_MINUTES} + "
        f"{CRASH_WINDOW_SLACK} minutes from the first shock)", "window_share", WINDOW_SHARE, PERCENT),
    Row("stress", "october_2025", "maximum drawdown (mark; fundamental beside)", "max_drawdown", DRAWDOWN, PERCENT,
        "fundamental_max_drawdown"),
    Row("stress", "october_2025", "drawdown amplification (mark's over the fundamental's)",
        "drawdown_amplification", AMPLIFICATION, "{:.3f}"),
)
