"""How numbers are shown in every output (text, workbook, figures, Results panel): one rule each.

- Rounding: half away from zero on the number as written in decimal (0.725 → 0.73, 0.125 → 0.13), the
  rule spreadsheet programs apply to a "0.00" cell; Python's ``f"{0.725:.2f}"`` gives 0.72 because the
  binary double is 0.72499…, so no output formats numbers with ``:.2f`` directly.
- Intervals of proportions and AUCs are shown clipped to [0, 1]; the report's JSON keeps the raw
  limits (an Obuchowski-Rockette t interval with few readers can reach past 0 or 1).
- A random-reader interval from fewer than :data:`MIN_RANDOM_READERS` readers gets a warning.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

DECIMALS = 2  # decimal places of proportions and AUCs in tables, text and figures
MIN_RANDOM_READERS = (
    4  # below this the Hillis df is tiny and the random-reader interval meaningless
)

ROUNDING_RULE = (
    "Numbers are rounded half away from zero on their decimal value (0.725 → 0.73) in every output; "
    "intervals of proportions and AUCs are shown clipped to [0, 1] (the JSON keeps the raw limits)."
)


def round_half_up(value: float, decimals: int = DECIMALS) -> float:
    """``value`` rounded half away from zero at ``decimals`` places, as its shortest decimal form."""
    quantum = Decimal(1).scaleb(-decimals)
    return float(Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP))


def fmt(value: float | None, decimals: int = DECIMALS, missing: str = "") -> str:
    """``value`` with ``decimals`` places under the one rounding rule ("" or ``missing`` for None)."""
    if value is None or value != value:
        return missing
    rounded = round_half_up(value, decimals)
    return f"{rounded + 0.0:.{decimals}f}"  # + 0.0: never "-0.00"


def fmt_pct(value: float | None, decimals: int = 1, missing: str = "–") -> str:
    """A proportion as a percentage, e.g. 0.7255 → "72.6%"."""
    if value is None or value != value:
        return missing
    # Scale in decimal, not binary: 0.0725 * 100 is 7.249999… as a double.
    percent = Decimal(repr(float(value))).scaleb(2)
    quantum = Decimal(1).scaleb(-decimals)
    return f"{percent.quantize(quantum, rounding=ROUND_HALF_UP) + 0:.{decimals}f}%"


def clip_unit(value: float | None) -> float | None:
    """An interval limit of a proportion or AUC, clipped to [0, 1] for display."""
    if value is None or value != value:
        return value
    return min(1.0, max(0.0, float(value)))


def is_clipped(low: float | None, high: float | None) -> bool:
    return (low is not None and low < 0) or (high is not None and high > 1)


def fmt_interval(low: float | None, high: float | None, decimals: int = DECIMALS) -> str:
    """``[low–high]`` clipped to [0, 1] and rounded ("" when there is no interval)."""
    if low is None or high is None:
        return ""
    return f"[{fmt(clip_unit(low), decimals)}–{fmt(clip_unit(high), decimals)}]"


def few_readers_warning(n_readers: int, df: float | None = None) -> str | None:
    """A one-line warning when a random-reader interval rests on too few readers (else None)."""
    if n_readers >= MIN_RANDOM_READERS:
        return None
    dof = f", {fmt(df, 1)} degrees of freedom" if df is not None and df == df else ""
    return (
        f"Only {n_readers} reader(s){dof}: too few for a random-reader interval (it is very wide "
        f"and unstable; at least {MIN_RANDOM_READERS} readers are needed). Read the fixed-reader "
        "interval, which speaks only about these readers."
    )
