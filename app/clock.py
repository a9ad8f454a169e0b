"""The product's clock: the instant, and the organisation's calendar day.

Every "now" and "today" the product works with comes from here:

* ``now()`` is the instant, timezone-aware in UTC: what timestamps store.
* ``today()`` is the day on the organisation's calendar: what due dates, overdue items,
  validity, "as of" dates and the current level are reckoned on. The organisation's time
  zone is ``PMO_TIMEZONE`` (an IANA name such as ``Europe/London`` or
  ``Australia/Sydney``); unset, it is the server's own zone. An office in Sydney served
  from a machine on UTC would otherwise see a learning due "today" turn overdue at 11:00.

Callers use ``clock.now()`` and ``clock.today()`` (the module, not the names), so a test
can hold the clock still in one place.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context


def now() -> datetime:
    """Now, timezone-aware in UTC."""
    return datetime.now(UTC)


def today() -> date:
    """Today on the organisation's calendar (PMO_TIMEZONE, else the server's zone)."""
    return day_of(now())


def day_of(instant: datetime) -> date:
    """The organisation's calendar day at ``instant`` (a naive instant is taken as UTC, as
    every stored timestamp is)."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(zone()).date()


def start_of(day: date) -> datetime:
    """The instant (aware, UTC) the organisation's ``day`` begins: ``day_of`` turns every
    instant from it until ``start_of`` the next day into ``day``. Queries "as at the end of
    a day" compare timestamps with ``start_of(day + 1)``."""
    where = zone()
    midnight = datetime.combine(day, time.min, tzinfo=where)
    # Naive midnight is the server's own (astimezone reads a naive time as local).
    return midnight.astimezone(UTC)


def zone() -> tzinfo | None:
    """The organisation's time zone; None means the server's own (``astimezone(None)``)."""
    name = current_app.config.get("PMO_TIMEZONE") if has_app_context() else None
    return _zone(name) if name else None


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def zone_setting_problem(config: Any) -> str | None:
    """What is wrong with PMO_TIMEZONE, for the start-up check; None when it is usable."""
    name = str(config.get("PMO_TIMEZONE") or "").strip()
    if not name:
        return None
    try:
        _zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        return (
            f"PMO_TIMEZONE={name!r} is not a time zone name: use an IANA name such as "
            "'Europe/London' or 'Australia/Sydney', or leave it unset for the server's zone."
        )
    return None
