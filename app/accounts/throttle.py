"""The log-in throttling rule: progressive delays, never a lock that only time lifts.

Pure: a counter's state and the time in, the time of the next allowed attempt out. The
counters themselves live in the database (``app.accounts.throttling``), so every worker and
every node sees the same ones.

The rule, for one counter (an email address, a client address, a known device, a second
factor): failures are counted in a window that opens at the first failure. The first
``free`` failures in the window cost nothing; after that each further attempt must wait
``base · 2^k`` after the previous failure (1 s, 2 s, 4 s … for k = 0, 1, 2 …), at most
``cap``. When the window has run out, counting starts again. A successful log-in clears an
account's counter (not an address's: one valid account must not buy its holder more guesses
at others).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

#: Never double past this many times (2^40 seconds is far past any cap anyway).
_MAX_DOUBLINGS = 40


@dataclass(frozen=True)
class Policy:
    """How one kind of counter slows its attempts down."""

    #: Failures in a window that cost no wait.
    free: int
    #: The longest wait between two attempts.
    cap: timedelta
    #: How long failures are remembered, from the first one.
    window: timedelta
    #: The first wait; each further failure doubles it.
    base: timedelta = timedelta(seconds=1)

    def delay(self, failures: int) -> timedelta:
        """The wait after ``failures`` failures in the window."""
        if failures < self.free:
            return timedelta(0)
        doublings = min(failures - self.free, _MAX_DOUBLINGS)
        return min(self.base * (2**doublings), self.cap)


@dataclass(frozen=True)
class State:
    """A counter as stored: failures in the current window and when they happened."""

    failures: int = 0
    window_started_at: datetime | None = None
    last_failure_at: datetime | None = None


def counted(policy: Policy, state: State, now: datetime) -> int:
    """The failures that still count at ``now`` (none once the window has run out)."""
    if state.window_started_at is None or now - state.window_started_at >= policy.window:
        return 0
    return state.failures


def retry_at(policy: Policy, state: State, now: datetime) -> datetime | None:
    """When the next attempt is allowed, or None when it is allowed now."""
    failures = counted(policy, state, now)
    if failures < policy.free or state.last_failure_at is None:
        return None
    allowed = state.last_failure_at + policy.delay(failures)
    return allowed if allowed > now else None


def after_failure(policy: Policy, state: State, now: datetime) -> State:
    """The counter once one more failure at ``now`` is counted."""
    failures = counted(policy, state, now)
    started = state.window_started_at if failures else now
    return State(failures + 1, started, now)


def most_attempts(policy: Policy, period: timedelta) -> int:
    """The most attempts one counter lets through in ``period``, for an attacker who tries
    again the moment each wait is over and never succeeds (the figure ASVS V2.2.1 asks for:
    at most 100 failed attempts an hour on one account). Windows that run out within the
    period start again with their free failures, as they do in use."""
    start = datetime(2000, 1, 1)
    now, state, attempts = start, State(), 0
    while now < start + period:
        wait = retry_at(policy, state, now)
        if wait is not None:
            now = wait
            continue
        state = after_failure(policy, state, now)
        attempts += 1
    return attempts


def describe_wait(seconds: float) -> str:
    """A wait in words for the log-in page: "1 second", "40 seconds", "3 minutes"."""
    whole = max(1, int(-(-seconds // 1)))
    if whole < 60:
        return "1 second" if whole == 1 else f"{whole} seconds"
    minutes = -(-whole // 60)
    return "1 minute" if minutes == 1 else f"{minutes} minutes"
