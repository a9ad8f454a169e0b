"""The range of dates the product accepts anywhere a date is entered or imported.

Pure: no Flask, no ORM. A date outside it is a typing slip (0202 for 2020), never a real
start, end or expiry date.
"""

from __future__ import annotations

from datetime import date

EARLIEST = date(1900, 1, 1)
LATEST = date(2100, 12, 31)
RANGE_TEXT = f"between {EARLIEST.year} and {LATEST.year}"


def in_range(value: date | None) -> bool:
    """Whether ``value`` (None counts as no date) lies within the accepted range."""
    return value is None or EARLIEST <= value <= LATEST
