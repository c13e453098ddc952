"""How numbers are written on the page, in one place so tables and sentences agree."""

from __future__ import annotations

import math


def percent(fraction: float | None, digits: int = 1) -> str:
    """0.8421 -> '84.2%'; a missing value -> '—'."""
    if fraction is None or (isinstance(fraction, float) and math.isnan(fraction)):
        return "—"
    return f"{100 * fraction:.{digits}f}%"


def points(fraction: float, digits: int = 1) -> float:
    """A fraction as percentage points, rounded as the page shows it."""
    return round(100 * fraction, digits)


def number(value: float | None, digits: int = 1) -> str:
    """A plain number with thousands separators; a missing value -> '—'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:,.{digits}f}"


def p_value(p: float | None) -> str:
    """A p-value for a table: '< 0.001', else three decimals ('0.042', '1.000')."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def integer(value: int | None) -> str:
    return "—" if value is None else f"{int(value):,}"


def duration(seconds: float | None) -> str:
    """Seconds for a reader: '42.3 s', '12 min 3 s', '2 h 5 min'."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s"


def file_size(n_bytes: int | None) -> str:
    """'44.7 MB', '312 kB'; a missing file -> '—'."""
    if n_bytes is None:
        return "—"
    if n_bytes >= 1e6:
        return f"{n_bytes / 1e6:.1f} MB"
    return f"{n_bytes / 1e3:.0f} kB"


def hertz(value: float) -> str:
    """A frequency as a person writes it: "80 Hz", "1.2 kHz"."""
    value = float(value)
    if value < 1000:
        return f"{value:.0f} Hz"
    return f"{value / 1000:.1f} kHz"
